import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FtpDestination } from '../../src/main/engine/providers/ftp/ftpProvider';
import { ftpServerSuite } from '../conformance/ftpServerSuite';
import { ftpConfig, ftpDeps, ownedFolder, sourceOf } from '../helpers/ftpDest';
import { startVsftpd } from '../servers/vsftpd';

// vsftpd 3.0.3 (Debian), plain and explicit TLS: see test/servers/vsftpd.ts. No MLSD: versions are sizes.
const suite = ftpServerSuite('vsftpd', (tls) => startVsftpd({ tls }), { sizeOnlyVersions: true });

describe('ftp on vsftpd: a LIST-only server', () => {
  it('says its versions are the size only (no MLSD, no MFMT) and its uploads are checked by SIZE', async () => {
    const srv = suite.server();
    const dest = new FtpDestination(ftpConfig(srv, { path: ownedFolder(srv, 'facts') }), ftpDeps());
    try {
      await dest.check();
      expect(dest.methods).toEqual({ verification: 'SIZE', versions: 'size' });
      expect(dest.notes).toEqual([expect.stringMatching(/no MLSD.*size/)]);
      expect(dest.features.versionPerWrite).toBeUndefined();
      const e = await dest.upload('a.bin', sourceOf(suite.work(), randomBytes(1000)), {
        signal: new AbortController().signal,
      });
      expect(e.version).toBe('1000');
      expect(dest.verified).toEqual({ hash: 0, size: 1 });
      const listed = [];
      for await (const x of dest.list('')) listed.push(x);
      expect(listed.map((x) => x.version)).toEqual(['1000']);
      expect((await dest.stat('a.bin'))?.version).toBe('1000');
    } finally {
      await dest.close();
    }
  });
});
