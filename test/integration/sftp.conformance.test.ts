import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationConfig } from '../../src/shared/config';
import { FerryError } from '../../src/shared/errors';
import type { ProviderDeps } from '../../src/main/engine/providers/types';
import { fetchHostKey } from '../../src/main/engine/providers/sftp/hostKey';
import { SftpDestination, type SftpDestinationConfig } from '../../src/main/engine/providers/sftp/sftpProvider';
import type { ResumeStore, UploadSource } from '../../src/main/engine/providers/types';
import { MemoryResume } from '../helpers/memoryResume';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { resolveSecret } from '../../src/main/engine/secrets/secrets';
import type { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { providerConformance } from '../conformance/providerSuite';
import { startRcloneSftp, startSshd, type SftpServer } from '../servers/sshd';

function deps(resume: ResumeStore = new MemoryResume()): ProviderDeps {
  return { workers: undefined as unknown as FileWorkers, secret: (ref, what) => resolveSecret(ref, what), resume };
}

function sshdConfig(srv: SftpServer, extra: Partial<SftpDestinationConfig> = {}): SftpDestinationConfig {
  return {
    id: 'sftp-test',
    type: 'sftp',
    host: srv.host,
    port: srv.port,
    user: srv.user,
    path: '.',
    host_key: srv.hostKey,
    ...(srv.clientKeyFile ? { private_key: `file:${srv.clientKeyFile}` } : { password: `file:${srv.passwordFile}` }),
    ...extra,
  } as SftpDestinationConfig;
}

/** Ferry's temporaries anywhere below a folder on disk. */
function tempsBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const abs = join(dir, n);
      if (lstatSync(abs).isDirectory()) walk(abs);
      else if (n.startsWith('.ferrytmp-')) out.push(abs);
    }
  };
  walk(root);
  return out;
}

function sourceOf(dir: string, bytes: Buffer): UploadSource {
  const abs = join(dir, `src-${randomBytes(4).toString('hex')}`);
  writeFileSync(abs, bytes);
  return {
    absPath: abs,
    size: bytes.length,
    mtimeMs: statSync(abs).mtimeMs,
    hashes: new MultiHash().update(bytes).digest(),
  };
}

async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

let sshd: SftpServer;
let rclone: SftpServer;
let work: string;

beforeAll(async () => {
  [sshd, rclone] = await Promise.all([startSshd(), startRcloneSftp()]);
  work = mkdtempSync(join(tmpdir(), 'ferry-sftp-conf-'));
});
afterAll(async () => {
  await Promise.all([sshd?.stop(), rclone?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

// OpenSSH: key login, no hash command (ForceCommand internal-sftp): verified by size + samples.
providerConformance('sftp (OpenSSH sshd, key login)', async () => {
  const dest = new SftpDestination(sshdConfig(sshd), deps());
  return { dest };
});

// rclone serve sftp: password login, md5sum over exec: verified by the server's MD5.
providerConformance('sftp (rclone serve sftp, password login)', async () => {
  const dest = new SftpDestination(sshdConfig(rclone), deps());
  return { dest };
});

describe('sftp provider specifics', () => {
  it('leaves no temporary file on either server after the conformance suites (cancelled and refused uploads included)', () => {
    // The suites above ran first in this file: their uploads, refusals and cancellations are done.
    expect(tempsBelow(sshd.dataDir)).toEqual([]);
    expect(tempsBelow(rclone.dataDir)).toEqual([]);
    expect(readdirSync(sshd.dataDir).length).toBeGreaterThan(5);
  });

  it('says which verification it used: samples on OpenSSH (no hash command), the server MD5 on rclone', async () => {
    const a = new SftpDestination(sshdConfig(sshd), deps());
    const b = new SftpDestination(sshdConfig(rclone), deps());
    try {
      await a.check();
      await b.check();
      const data = randomBytes(300_000);
      const ea = await a.upload('verify/a.bin', sourceOf(work, data), { signal: new AbortController().signal });
      const eb = await b.upload('verify/b.bin', sourceOf(work, data), { signal: new AbortController().signal });
      expect(a.methods).toEqual({ verification: 'size+sample', publish: 'posix-rename' });
      expect(a.verified).toEqual({ sha256: 0, md5: 0, sample: 1 });
      expect(ea.hashes).toBeUndefined();
      expect(b.methods).toEqual({ verification: 'md5sum', publish: 'posix-rename' });
      expect(b.verified.md5).toBe(1);
      expect(eb.hashes?.md5).toBe(new MultiHash(['md5']).update(data).digest().md5);
      expect(readFileSync(join(rclone.dataDir, 'verify/b.bin')).equals(data)).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses an unknown host key, giving its fingerprint and the line to add', async () => {
    const dest = new SftpDestination(sshdConfig(sshd, { host_key: undefined }), deps());
    const err = await failure(dest.check());
    await dest.close();
    expect(err.code).toBe('host-key-unknown');
    expect(err.message).toContain(sshd.hostKey);
    expect(err.hint).toContain(`host_key: ${sshd.hostKey}`);
    expect(await fetchHostKey(sshd.host, sshd.port)).toBe(sshd.hostKey);
  });

  it('refuses a host key that differs from the pinned one, naming both (possible man-in-the-middle)', async () => {
    const dest = new SftpDestination(sshdConfig(sshd, { host_key: rclone.hostKey }), deps());
    const err = await failure(dest.check());
    await dest.close();
    expect(err.kind).toBe('auth');
    expect(err.code).toBe('host-key-mismatch');
    expect(err.message).toContain(sshd.hostKey);
    expect(err.message).toContain(rclone.hostKey);
    expect(err.message).toMatch(/man-in-the-middle/);
  });

  it('check names the failing step: wrong password, missing folder, read-only folder, nothing listening', async () => {
    writeFileSync(join(work, 'wrong'), 'not-the-password');
    const cases: [DestinationConfig, string][] = [
      [sshdConfig(rclone, { password: `file:${join(work, 'wrong')}` }), 'auth-failed'],
      [sshdConfig(sshd, { path: join(sshd.dataDir, 'no-such-folder') }), 'container-missing'],
      [sshdConfig({ ...sshd, user: 'nobody' }), 'read-only'],
      [sshdConfig(sshd, { port: 1 }), 'unreachable'],
    ];
    for (const [cfg, code] of cases) {
      const dest = new SftpDestination(cfg as SftpDestinationConfig, deps());
      const err = await failure(dest.check());
      await dest.close();
      expect(err.code, err.message).toBe(code);
      expect(err.hint, code).toBeTruthy();
    }
  });

  it('classifies a write refused for permissions as read-only, with a hint', async () => {
    const dest = new SftpDestination(sshdConfig({ ...sshd, user: 'nobody' }), deps());
    const err = await failure(
      dest.upload('ro/x.txt', sourceOf(work, Buffer.from('x')), { signal: new AbortController().signal }),
    );
    await dest.close();
    expect(err.kind).toBe('auth');
    expect(err.code).toBe('read-only');
    expect(err.hint).toMatch(/write permission/);
  });

  it('classifies a full disk as quota (OpenSSH only says "Failure": its statvfs tells), leaving nothing behind', async () => {
    // A 1 MB tmpfs as the destination folder: mounting needs root (tests run as root, as CI does).
    const full = join(sshd.dataDir, 'full-disk');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    const dest = new SftpDestination(sshdConfig(sshd, { path: full }), deps());
    try {
      const err = await failure(
        dest.upload('big.bin', sourceOf(work, randomBytes(3 * 1024 * 1024)), { signal: new AbortController().signal }),
      );
      expect(err.kind, err.message).toBe('quota');
      expect(err.hint).toMatch(/out of space/);
      expect(readdirSync(full)).toEqual([]);
    } finally {
      await dest.close();
      execFileSync('umount', [full]);
    }
  });

  it('replaces an existing file atomically (posix-rename) and keeps the source mtime', async () => {
    const dest = new SftpDestination(sshdConfig(sshd), deps());
    try {
      const src = sourceOf(work, Buffer.from('first'));
      await dest.upload('atomic/f.txt', src, { signal: new AbortController().signal });
      const second = sourceOf(work, Buffer.from('second version'));
      const e = await dest.upload('atomic/f.txt', second, { signal: new AbortController().signal });
      expect(readFileSync(join(sshd.dataDir, 'atomic/f.txt'), 'utf8')).toBe('second version');
      expect(e.mtimeMs).toBe(Math.floor(second.mtimeMs / 1000) * 1000);
      expect(Math.floor(statSync(join(sshd.dataDir, 'atomic/f.txt')).mtimeMs / 1000)).toBe(
        Math.floor(second.mtimeMs / 1000),
      );
      // The listing's version is the one the upload returned: a second run sees the file in sync.
      const listed = [];
      for await (const x of dest.list('atomic')) listed.push(x);
      expect(listed.map((x) => x.version)).toEqual([e.version]);
    } finally {
      await dest.close();
    }
  });

  it('flags leftover temporary files as partial, and a removed folder is pruned after delete', async () => {
    const dest = new SftpDestination(sshdConfig(sshd), deps());
    try {
      await dest.upload('left/over/keep.txt', sourceOf(work, Buffer.from('k')), {
        signal: new AbortController().signal,
      });
      writeFileSync(join(sshd.dataDir, 'left/over/.ferrytmp-0123456789ab-keep.txt'), 'half');
      const seen = [];
      for await (const x of dest.list('left')) seen.push(x);
      expect(seen.find((x) => x.path === 'left/over/.ferrytmp-0123456789ab-keep.txt')?.partial).toBe(true);
      expect(seen.find((x) => x.path === 'left/over/keep.txt')?.partial).toBeUndefined();
      await dest.delete('left/over/.ferrytmp-0123456789ab-keep.txt');
      await dest.delete('left/over/keep.txt');
      expect(() => statSync(join(sshd.dataDir, 'left'))).toThrow();
    } finally {
      await dest.close();
    }
  });

  it('resumes an interrupted large upload from the acknowledged offset, re-hashing the prefix locally', async () => {
    const resume = new MemoryResume();
    const tuning = { resumeMinBytes: 1024 * 1024, resumeSaveEvery: 1024 * 1024, windowBytes: 512 * 1024 };
    const data = randomBytes(8 * 1024 * 1024 + 77);
    const src = sourceOf(work, data);
    const first = new SftpDestination(sshdConfig(sshd), deps(resume), tuning);
    const controller = new AbortController();
    // A dropped connection half way: the session dies under the upload, like a network failure.
    let cut = false;
    const err = await failure(
      first.upload('resume/big.bin', src, {
        signal: controller.signal,
        onProgress: (b) => {
          if (!cut && b >= 4 * 1024 * 1024) {
            cut = true;
            void first.close();
          }
        },
      }),
    );
    expect(err.kind).toBe('retryable');
    const temps = tempsBelow(join(sshd.dataDir, 'resume'));
    expect(temps.length).toBe(1);
    const partialSize = statSync(temps[0] as string).size;
    expect(partialSize).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    // The listing keeps a resumable temporary (the engine would remove a partial one).
    const again = new SftpDestination(sshdConfig(sshd), deps(resume), tuning);
    try {
      const listed = [];
      for await (const x of again.list('resume')) listed.push(x);
      expect(listed).toEqual([]);
      const progress: number[] = [];
      await again.upload('resume/big.bin', src, {
        signal: new AbortController().signal,
        onProgress: (b) => progress.push(b),
      });
      // It started where the server had acknowledged, not at zero.
      expect(progress[0]).toBeGreaterThanOrEqual(4 * 1024 * 1024);
      expect(readFileSync(join(sshd.dataDir, 'resume/big.bin')).equals(data)).toBe(true);
      expect(tempsBelow(join(sshd.dataDir, 'resume'))).toEqual([]);
      expect(resume.rows.size).toBe(0);
    } finally {
      await again.close();
    }
  });

  it('does not resume from a temporary whose prefix no longer matches: the upload is refused as source-changed', async () => {
    const resume = new MemoryResume();
    const tuning = { resumeMinBytes: 1024 * 1024, resumeSaveEvery: 1024 * 1024 };
    const data = randomBytes(3 * 1024 * 1024);
    const src = sourceOf(work, data);
    const dest = new SftpDestination(sshdConfig(sshd), deps(resume), tuning);
    await dest.upload('changed/seed.txt', sourceOf(work, Buffer.from('s')), { signal: new AbortController().signal });
    const tempRel = 'changed/.ferrytmp-aaaaaaaaaaaa-c.bin';
    writeFileSync(join(sshd.dataDir, tempRel), data.subarray(0, 2 * 1024 * 1024));
    resume.save('sftp-test', 'changed/c.bin', src.hashes.sha256, {
      temp: tempRel,
      offset: 2 * 1024 * 1024,
      savedAt: Date.now(),
    });
    const altered = Buffer.from(data);
    altered[10] = (altered[10] as number) ^ 0xff;
    writeFileSync(src.absPath, altered);
    const err = await failure(dest.upload('changed/c.bin', src, { signal: new AbortController().signal }));
    await dest.close();
    expect(err.kind).toBe('source-changed');
    expect(statSync(join(sshd.dataDir, 'changed/c.bin'), { throwIfNoEntry: false })).toBeUndefined();
    expect(tempsBelow(join(sshd.dataDir, 'changed'))).toEqual([]);
    expect(resume.rows.size).toBe(0);
  });
});
