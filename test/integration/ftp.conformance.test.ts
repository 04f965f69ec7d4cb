import { randomBytes } from 'node:crypto';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import type { ProviderDeps } from '../../src/main/engine/providers/types';
import { FtpDestination, type FtpDestinationConfig } from '../../src/main/engine/providers/ftp/ftpProvider';
import type { UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { resolveSecret } from '../../src/main/engine/secrets/secrets';
import type { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { providerConformance } from '../conformance/providerSuite';
import { FTP_GID, FTP_UID, startPureFtpd, type PureFtpServer as FtpServer } from '../servers/pureFtpd';
import { MemoryResume } from '../helpers/memoryResume';

function deps(resume = new MemoryResume()): ProviderDeps {
  return { workers: undefined as unknown as FileWorkers, secret: (ref, what) => resolveSecret(ref, what), resume };
}

function ftpConfig(srv: FtpServer, extra: Partial<FtpDestinationConfig> = {}): FtpDestinationConfig {
  return {
    id: 'ftp-test',
    type: 'ftp',
    host: srv.host,
    port: srv.port,
    user: srv.user,
    password: `file:${srv.passwordFile}`,
    path: '/',
    tls: 'explicit',
    ca_file: srv.certFile,
    ...extra,
  } as FtpDestinationConfig;
}

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

/** A folder inside the FTP root that the FTP user (nobody) owns, as its uploads would be. */
function ownedFolder(srv: FtpServer, name: string): string {
  const dir = join(srv.dataDir, name);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, FTP_UID, FTP_GID);
  return `/${name}`;
}

let ftp: FtpServer;
let work: string;
beforeAll(async () => {
  ftp = await startPureFtpd();
  work = mkdtempSync(join(tmpdir(), 'ferry-ftp-conf-'));
});
afterAll(async () => {
  await ftp?.stop();
  rmSync(work, { recursive: true, force: true });
});

// Explicit FTPS (AUTH TLS), the default; the test server's self-signed certificate is given as ca_file.
providerConformance('ftp (pure-ftpd, explicit TLS)', async () => ({
  dest: new FtpDestination(ftpConfig(ftp, { path: ownedFolder(ftp, 'tls') }), deps()),
}));

// Plain FTP, where a person chose it (tls: none).
providerConformance('ftp (pure-ftpd, no TLS)', async () => ({
  dest: new FtpDestination(ftpConfig(ftp, { path: ownedFolder(ftp, 'plain'), tls: 'none' }), deps()),
}));

describe('ftp provider specifics', () => {
  it('leaves no temporary file after the conformance suites (cancelled and refused uploads included)', () => {
    expect(tempsBelow(ftp.dataDir)).toEqual([]);
    expect(readdirSync(join(ftp.dataDir, 'tls')).length).toBeGreaterThan(5);
  });

  it('says how it verifies (pure-ftpd offers no hash command: SIZE), sets the time with MFMT, lists it back the same', async () => {
    const dest = new FtpDestination(ftpConfig(ftp, { path: ownedFolder(ftp, 'facts') }), deps());
    try {
      await dest.check();
      const src = sourceOf(work, randomBytes(1000));
      const e = await dest.upload('a/b.bin', src, { signal: new AbortController().signal });
      expect(dest.methods).toEqual({ verification: 'SIZE', versions: 'size and time' });
      expect(dest.verified).toEqual({ hash: 0, size: 1 });
      expect(e.hashes).toBeUndefined();
      expect(e.mtimeMs).toBe(Math.floor(src.mtimeMs / 1000) * 1000);
      expect(Math.floor(statSync(join(ftp.dataDir, 'facts/a/b.bin')).mtimeMs / 1000)).toBe(
        Math.floor(src.mtimeMs / 1000),
      );
      const listed = [];
      for await (const x of dest.list('a')) listed.push(x);
      expect(listed.map((x) => x.version)).toEqual([e.version]);
    } finally {
      await dest.close();
    }
  });

  it('check names the failing step: wrong password, missing folder, read-only folder, nothing listening', async () => {
    writeFileSync(join(work, 'wrong'), 'not-the-password');
    mkdirSync(join(ftp.dataDir, 'read-only'), { recursive: true }); // owned by root: the FTP user cannot write
    const cases: [FtpDestinationConfig, string][] = [
      [ftpConfig(ftp, { password: `file:${join(work, 'wrong')}` }), 'auth-failed'],
      [ftpConfig(ftp, { path: '/no-such-folder' }), 'container-missing'],
      [ftpConfig(ftp, { path: '/read-only' }), 'read-only'],
      [ftpConfig(ftp, { port: 1 }), 'unreachable'],
    ];
    for (const [cfg, code] of cases) {
      const dest = new FtpDestination(cfg, deps());
      const err = await failure(dest.check());
      await dest.close();
      expect(err.code, err.message).toBe(code);
      expect(err.hint, code).toBeTruthy();
    }
  });

  it('refuses a server certificate it cannot trust, and says how to trust it', async () => {
    const dest = new FtpDestination(ftpConfig(ftp, { ca_file: undefined }), deps());
    const err = await failure(dest.check());
    await dest.close();
    expect(err.code).toBe('tls-untrusted');
    expect(err.hint).toMatch(/ca_file/);
  });

  it('classifies a write refused for permissions as read-only', async () => {
    const dest = new FtpDestination(ftpConfig(ftp, { path: '/read-only' }), deps());
    const err = await failure(
      dest.upload('x.txt', sourceOf(work, Buffer.from('x')), { signal: new AbortController().signal }),
    );
    await dest.close();
    expect(err.kind).toBe('auth');
    expect(err.code).toBe('read-only');
  });

  it('classifies a full quota (552) as quota, and leaves nothing behind', async () => {
    ftp.setQuotaMb(1);
    const dest = new FtpDestination(ftpConfig(ftp, { path: ownedFolder(ftp, 'quota') }), deps());
    try {
      const err = await failure(
        dest.upload('q.bin', sourceOf(work, randomBytes(3 * 1024 * 1024)), { signal: new AbortController().signal }),
      );
      expect(err.kind, err.message).toBe('quota');
      expect(err.hint).toMatch(/space|quota/);
      expect(statSync(join(ftp.dataDir, 'quota/q.bin'), { throwIfNoEntry: false })).toBeUndefined();
    } finally {
      ftp.setQuotaMb(undefined);
      await dest.close();
    }
  });

  it('keeps a large upload stopped by a pause, and resumes it from what the server holds', async () => {
    const resume = new MemoryResume();
    const tuning = { resumeMinBytes: 1024 * 1024 };
    const data = randomBytes(8 * 1024 * 1024 + 7);
    const src = sourceOf(work, data);
    const path = ownedFolder(ftp, 'paused');
    const dest = new FtpDestination(ftpConfig(ftp, { path }), deps(resume), tuning);
    try {
      const pause = new AbortController();
      const err = await failure(
        dest.upload('big.bin', src, {
          signal: pause.signal,
          onProgress: (b) => {
            // The pool's abort when the folder is paused.
            if (b >= 3 * 1024 * 1024 && !pause.signal.aborted)
              pause.abort(new FerryError('cancelled', 'paused', 'the folder was paused'));
          },
        }),
      );
      expect(err.kind).toBe('cancelled');
      await new Promise((r) => setTimeout(r, 300));
      const temps = tempsBelow(join(ftp.dataDir, 'paused'));
      expect(temps.length).toBe(1);
      const partial = statSync(temps[0] as string).size;
      expect(partial).toBeGreaterThan(1024 * 1024);
      const progress: number[] = [];
      await dest.upload('big.bin', src, { signal: new AbortController().signal, onProgress: (b) => progress.push(b) });
      expect(progress[0]).toBe(partial);
      expect(readFileSync(join(ftp.dataDir, 'paused/big.bin')).equals(data)).toBe(true);
      expect(tempsBelow(join(ftp.dataDir, 'paused'))).toEqual([]);
    } finally {
      await dest.close();
    }
  });

  it('resumes an interrupted large upload with REST from the temporary file’s size', async () => {
    const resume = new MemoryResume();
    const tuning = { resumeMinBytes: 1024 * 1024 };
    const data = randomBytes(8 * 1024 * 1024 + 5);
    const src = sourceOf(work, data);
    const path = ownedFolder(ftp, 'resume');
    const first = new FtpDestination(ftpConfig(ftp, { path }), deps(resume), tuning);
    let cut = false;
    const err = await failure(
      first.upload('big.bin', src, {
        signal: new AbortController().signal,
        onProgress: (b) => {
          if (!cut && b >= 3 * 1024 * 1024) {
            cut = true;
            // The network goes away under the transfer.
            void first.close();
          }
        },
      }),
    );
    expect(['retryable', 'cancelled']).toContain(err.kind);
    await new Promise((r) => setTimeout(r, 300));
    const temps = tempsBelow(join(ftp.dataDir, 'resume'));
    expect(temps.length).toBe(1);
    const partial = statSync(temps[0] as string).size;
    expect(partial).toBeGreaterThan(1024 * 1024);
    const again = new FtpDestination(ftpConfig(ftp, { path }), deps(resume), tuning);
    try {
      const listed = [];
      for await (const x of again.list('')) listed.push(x);
      expect(listed).toEqual([]); // the resumable temporary is not offered for sweeping
      const progress: number[] = [];
      await again.upload('big.bin', src, { signal: new AbortController().signal, onProgress: (b) => progress.push(b) });
      expect(progress[0]).toBe(partial);
      expect(readFileSync(join(ftp.dataDir, 'resume/big.bin')).equals(data)).toBe(true);
      expect(tempsBelow(join(ftp.dataDir, 'resume'))).toEqual([]);
      expect(resume.rows.size).toBe(0);
    } finally {
      await again.close();
    }
  });
});
