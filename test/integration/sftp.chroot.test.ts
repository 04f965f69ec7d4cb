import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import type { ProviderDeps } from '../../src/main/engine/providers/types';
import { SftpDestination, type SftpDestinationConfig } from '../../src/main/engine/providers/sftp/sftpProvider';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { resolveSecret } from '../../src/main/engine/secrets/secrets';
import type { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { providerConformance } from '../conformance/providerSuite';
import { MemoryResume } from '../helpers/memoryResume';
import { startChrootSshd } from '../servers/sshdChroot';

function deps(): ProviderDeps {
  return {
    workers: undefined as unknown as FileWorkers,
    secret: (ref, what) => resolveSecret(ref, what),
    resume: new MemoryResume(),
  };
}

let sshd: Awaited<ReturnType<typeof startChrootSshd>>;
let work: string;
beforeAll(async () => {
  sshd = await startChrootSshd();
  work = mkdtempSync(join(tmpdir(), 'ferry-sftp-chroot-'));
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

function config(extra: Partial<SftpDestinationConfig> = {}): SftpDestinationConfig {
  return {
    id: 'sftp-chroot',
    type: 'sftp',
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    path: '/data',
    host_key: sshd.hostKey,
    private_key: `file:${sshd.clientKeyFile}`,
    ...extra,
  } as SftpDestinationConfig;
}

// OpenSSH internal-sftp confining an unprivileged account to a chroot, ed25519 key login.
providerConformance('sftp (OpenSSH internal-sftp in a chroot, ed25519 key)', async () => ({
  dest: new SftpDestination(config(), deps()),
}));

describe('sftp in a chroot', () => {
  it('writes inside the chroot as the confined user, and leaves no temporary file behind', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (lstatSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    const files = walk(sshd.dataDir);
    expect(files.length).toBeGreaterThan(5);
    expect(files.filter((f) => f.includes('.ferrytmp-'))).toEqual([]);
    for (const f of files) expect(statSync(f).uid, f).toBe(65534);
  });

  it('sees the chroot as its whole world: the session starts in /data, and the host’s own path to it does not exist there', async () => {
    const here = new SftpDestination(config({ path: '.' }), deps());
    const abs = new SftpDestination(config({ path: sshd.dataDir }), deps());
    try {
      const src = join(work, 'x.bin');
      const data = randomBytes(1000);
      writeFileSync(src, data);
      const source = {
        absPath: src,
        size: data.length,
        mtimeMs: statSync(src).mtimeMs,
        hashes: new MultiHash().update(data).digest(),
      };
      await here.upload('start/x.bin', source, { signal: new AbortController().signal });
      expect(statSync(join(sshd.dataDir, 'start/x.bin')).size).toBe(1000);
      const err = await abs.check().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('container-missing');
    } finally {
      await here.close();
      await abs.close();
    }
  });
});
