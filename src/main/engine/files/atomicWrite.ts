import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type AtomicWriteOptions = {
  /** The file's mode (default 0600: config, secrets and state are the person's alone). */
  mode?: number;
  /** Create the folder first, with this mode, when it is missing. */
  dirMode?: number;
};

/**
 * Writes `file` so that a crash leaves the old content or the new one, never a mix nor an empty file:
 * a hidden temporary beside it, written and flushed, renamed over it, then the folder flushed.
 */
export function writeFileAtomically(file: string, text: string, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(file);
  if (opts.dirMode !== undefined) mkdirSync(dir, { recursive: true, mode: opts.dirMode });
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncFolder(dir);
}

/** Makes a rename in `dir` durable. Windows cannot open a folder for fsync; its renames need none. */
function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // A file system that cannot flush a folder (some network mounts) has made the rename as durable as it can.
  } finally {
    closeSync(fd);
  }
}
