import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FtpDestination } from '../../src/main/engine/providers/ftp/ftpProvider';
import { ftpServerSuite } from '../conformance/ftpServerSuite';
import { ftpConfig, ftpDeps, ownedFolder, sourceOf } from '../helpers/ftpDest';
import { startProftpd } from '../servers/proftpd';

// ProFTPD 1.3.8 (Debian), plain and explicit TLS: see test/servers/proftpd.ts.
const suite = ftpServerSuite('ProFTPD', (tls) => startProftpd({ tls }));

describe('ftp on ProFTPD: MLSD, MFMT and HASH', () => {
  it('checks uploads with the server’s SHA-256 (HASH), sets the time with MFMT, and versions by size and time', async () => {
    const srv = suite.server();
    const dest = new FtpDestination(ftpConfig(srv, { path: ownedFolder(srv, 'facts') }), ftpDeps());
    try {
      await dest.check();
      const src = sourceOf(suite.work(), randomBytes(1000));
      const e = await dest.upload('a/b.bin', src, { signal: new AbortController().signal });
      expect(dest.methods).toEqual({ verification: 'HASH sha256', versions: 'size and time' });
      expect(dest.notes).toEqual([]);
      expect(dest.verified).toEqual({ hash: 1, size: 0 });
      expect(e.hashes?.sha256).toBe(src.hashes.sha256);
      expect(e.mtimeMs).toBe(Math.floor(src.mtimeMs / 1000) * 1000);
      expect(Math.floor(statSync(join(srv.dataDir, 'facts/a/b.bin')).mtimeMs / 1000)).toBe(
        Math.floor(src.mtimeMs / 1000),
      );
      expect(e.version).toBe(`1000:${e.mtimeMs}`);
      const listed = [];
      for await (const x of dest.list('a')) listed.push(x);
      expect(listed.map((x) => x.version)).toEqual([e.version]);
    } finally {
      await dest.close();
    }
  });
});
