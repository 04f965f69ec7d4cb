import { randomBytes } from 'node:crypto';
import { chownSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import type { ProviderDeps } from '../../src/main/engine/providers/types';
import type { FtpDestinationConfig } from '../../src/main/engine/providers/ftp/ftpProvider';
import type { UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { resolveSecret } from '../../src/main/engine/secrets/secrets';
import type { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import type { FtpServer } from '../servers/ftpKit';
import { MemoryResume } from './memoryResume';

/** What an FTP destination needs from the engine in a provider test (no workers: FTP hashes as it sends). */
export function ftpDeps(resume = new MemoryResume()): ProviderDeps {
  return { workers: undefined as unknown as FileWorkers, secret: (ref, what) => resolveSecret(ref, what), resume };
}

/** A destination on a test server: explicit TLS trusting the server's own certificate, unless `extra` says otherwise. */
export function ftpConfig(srv: FtpServer, extra: Partial<FtpDestinationConfig> = {}): FtpDestinationConfig {
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

/** A folder inside the FTP root that the login owns, as its uploads would be; its FTP path. */
export function ownedFolder(srv: FtpServer, name: string): string {
  const dir = join(srv.dataDir, name);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, srv.uid, srv.gid);
  return `/${name}`;
}

/** A local file with `bytes`, described as the engine would hand it to upload(). */
export function sourceOf(dir: string, bytes: Buffer): UploadSource {
  const abs = join(dir, `src-${randomBytes(4).toString('hex')}`);
  writeFileSync(abs, bytes);
  return {
    absPath: abs,
    size: bytes.length,
    mtimeMs: statSync(abs).mtimeMs,
    hashes: new MultiHash().update(bytes).digest(),
  };
}

/** The FerryError a promise rejects with (the test fails if it resolves or rejects with something else). */
export async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

/** Ferry's temporaries anywhere below a folder on disk. */
export function tempsBelow(root: string): string[] {
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
