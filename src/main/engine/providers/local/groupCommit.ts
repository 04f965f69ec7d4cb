import { close, closeSync, constants, fdatasync as fdatasyncCb, fsync, open, renameSync, unlinkSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { logDurability } from '../../diagnostics/durabilityLog';
import { killPoint } from '../../diagnostics/killPoint';
import { fsPath } from '../../scan/rawNames';
import { versionAt, type CopyResult, type PendingCopy } from './copyVerified';

/**
 * Folders whose own entry is known durable (flushed in their parent, up to the root) by this thread: a
 * file renamed into one needs only that folder flushed. Per thread, and marked only once the flush is
 * done, so a batch never counts on a flush another batch has not finished.
 */
const durableDirs = new Set<string>();

/**
 * Group commit for a batch of verified temporaries (copyToTemp): published only when durable, at the
 * cost of a few journal commits per batch instead of several per file.
 *
 *   1. every temporary's data flushed, all in flight at once (the file system folds concurrent
 *      fdatasyncs into few journal commits: 64 in flight ran ~3.7× the files/s of one after another);
 *   2. then each renamed onto its final name — never before its own data is on disk;
 *   3. then each folder that received a file flushed once (its new entries), and the parents of folders
 *      not known durable yet (new folders' own entries), again all in flight;
 *   4. only then is the result returned, and the batch recorded in one transaction (pool.ts).
 *
 * A crash at any step leaves temporaries (swept by the next listing) or durable files under their
 * final names that the records may not know yet (adopted by the next listing: adoptInterrupted.ts);
 * never a partial or unflushed file under a final name that is recorded.
 */
export async function publishBatch(pending: readonly PendingCopy[]): Promise<CopyResult[]> {
  for (const p of pending) killPoint('batch-written', nameOf(p));
  const synced = await Promise.all(
    pending.map((p) =>
      flushData(p.fd).then((err) => {
        if (!err) logDurability('fdatasync', p.tmp);
        return err;
      }),
    ),
  );
  for (const p of pending) killPoint('batch-synced', nameOf(p));
  const results = pending.map((p, i): CopyResult => {
    closeSync(p.fd);
    const failed = synced[i];
    if (failed) {
      removeQuietly(p.tmp);
      return failure(p.id, failed);
    }
    try {
      if (p.expectVersion !== undefined && versionAt(p.target) !== p.expectVersion) {
        removeQuietly(p.tmp);
        return {
          id: p.id,
          ok: false,
          code: 'EREMOTECHANGED',
          message: `${p.target} changed since it was compared with the folder`,
        };
      }
      renameSync(fsPath(p.tmp), fsPath(p.target));
      logDurability('rename', p.tmp, p.target);
      killPoint('batch-renamed', nameOf(p));
      return {
        id: p.id,
        ok: true,
        size: p.size,
        sha256: p.sha256,
        mtimeMs: p.mtimeMs,
        ino: p.ino,
        ...(p.sent ? { sent: p.sent } : {}),
      };
    } catch (err) {
      removeQuietly(p.tmp);
      return failure(p.id, err);
    }
  });
  const renamed = pending.filter((_, i) => results[i]?.ok === true);
  const dirFailures = await flushFolders(renamed);
  for (const p of pending) killPoint('batch-flushed', nameOf(p));
  return results.map((r, i) => {
    const err = r.ok ? dirFailures.get(dirname((pending[i] as PendingCopy).target)) : undefined;
    // Visible but not known durable: not recorded, so the retry writes it again and flushes once more.
    return err ? failure(r.id, err) : r;
  });
}

/**
 * Flushes each folder that received a file once, plus the chain of parents up to the root for folders
 * not known durable yet. Returns the error of each target folder whose chain could not be flushed.
 */
async function flushFolders(renamed: readonly PendingCopy[]): Promise<Map<string, NodeJS.ErrnoException>> {
  const chains = new Map<string, string[]>();
  for (const p of renamed) {
    const dir = dirname(p.target);
    if (chains.has(dir)) continue;
    const chain = [dir];
    for (let d = dir; d !== p.root && isBelow(d, p.root) && !durableDirs.has(d); d = dirname(d)) chain.push(dirname(d));
    chains.set(dir, chain);
  }
  const all = [...new Set([...chains.values()].flat())];
  const errors = new Map<string, NodeJS.ErrnoException>();
  await Promise.all(
    all.map((d) =>
      flushDir(d).then((err) => {
        if (err) errors.set(d, err);
        else logDurability('fsync-dir', d);
      }),
    ),
  );
  const failed = new Map<string, NodeJS.ErrnoException>();
  for (const [dir, chain] of chains) {
    const err = chain.map((d) => errors.get(d)).find((e) => e !== undefined);
    if (err) failed.set(dir, err);
    else for (const d of chain.slice(0, -1)) durableDirs.add(d);
  }
  return failed;
}

function isBelow(dir: string, root: string): boolean {
  return dir.startsWith(root.endsWith(sep) ? root : root + sep);
}

function flushData(fd: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => fdatasyncCb(fd, (err) => resolve(err ?? undefined)));
}

/** A rename made durable one file at a time (a move, a server-side copy, a download): its folder flushed. */
export async function flushFolder(dir: string): Promise<void> {
  const err = await flushDir(dir);
  if (err) throw err;
  logDurability('fsync-dir', dir);
}

/**
 * Flushes a folder's entries. Windows cannot open a folder for flushing (NTFS journals its renames);
 * a file system that cannot flush a folder says so with EINVAL, and there is nothing more to ask of it.
 */
function flushDir(dir: string): Promise<NodeJS.ErrnoException | undefined> {
  if (process.platform === 'win32') return Promise.resolve(undefined);
  return new Promise((resolve) =>
    open(fsPath(dir), constants.O_RDONLY | (constants.O_DIRECTORY ?? 0), (err, fd) => {
      if (err) return resolve(err);
      fsync(fd, (syncErr) =>
        close(fd, () =>
          resolve(syncErr && syncErr.code !== 'EINVAL' && syncErr.code !== 'ENOTSUP' ? syncErr : undefined),
        ),
      );
    }),
  );
}

/** The file's path below the destination's root, as kill points name it. */
function nameOf(p: PendingCopy): string {
  return p.target
    .slice(p.root.length + 1)
    .split(sep)
    .join('/');
}

function failure(id: number, err: unknown): CopyResult {
  const e = err as NodeJS.ErrnoException;
  return { id, ok: false, code: e.code ?? 'EIO', message: e.message ?? String(err) };
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(fsPath(path));
  } catch {
    // best effort: the next run sweeps leftovers
  }
}
