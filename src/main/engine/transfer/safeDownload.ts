import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rmdir, unlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FerryError } from '../../../shared/errors';
import { HASH_KINDS, type HashKind, type Hashes } from '../../../shared/hashes';
import type { Destination, Readable, RemoteEntry, TransferOpts } from '../providers/types';
import type { TempNames } from '../providers/tempNames';
import { MultiHash } from '../scan/multiHash';

export type Downloaded = {
  /** Where the file landed, relative to the folder: the asked path, or a conflicted copy's name. */
  path: string;
  conflicted: boolean;
  size: number;
  mtimeMs: number;
  hashes: Hashes;
  entry: RemoteEntry;
};

export type DownloadRequest = {
  dest: Destination & Readable;
  remotePath: string;
  /** The local folder's root and the folder-relative path the file goes to. */
  root: string;
  path: string;
  /**
   * What the local file must still be for the download to take its place: its SHA-256, or null when
   * no file may be there. Anything else (it was edited meanwhile) keeps it, and the download lands
   * under `conflictPath(path)` instead: nothing local is ever overwritten unseen.
   */
  replaces: string | null;
  conflictPath: (path: string) => string;
  /** What the destination said of the file (its listing): the bytes that arrive must agree. */
  expect?: { size?: number; hashes?: Partial<Hashes> };
  opts: TransferOpts;
  /** This instance's temporary names: the download lands beside its target under one. */
  temp: TempNames;
};

/** Why a remote name cannot be written in the folder, or undefined: it must stay inside, as plain segments. */
export function unsafeLocalPath(path: string): string | undefined {
  if (path === '' || isAbsolute(path) || path.startsWith('/') || /^[A-Za-z]:/.test(path))
    return 'an absolute path would leave the folder';
  if (path.includes('\0')) return 'the name holds a NUL character';
  const segments = path.split(/[\\/]/);
  if (segments.some((s) => s === '..')) return '".." would climb out of the folder';
  if (segments.some((s) => s === '' || s === '.')) return 'the path has an empty or "." segment';
  return undefined;
}

async function hashFile(abs: string, kinds: readonly HashKind[]): Promise<Hashes> {
  const h = new MultiHash(kinds);
  for await (const chunk of createReadStream(abs, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest();
}

async function exists(abs: string): Promise<boolean> {
  return lstat(abs).then(
    () => true,
    () => false,
  );
}

/** The deepest existing ancestor's real path must still be inside the folder: no symlink leads out. */
async function insideRoot(root: string, abs: string): Promise<boolean> {
  const realRoot = await realpath(root);
  let probe = dirname(abs);
  for (;;) {
    try {
      const real = await realpath(probe);
      return real === realRoot || real.startsWith(realRoot + sep);
    } catch {
      const up = dirname(probe);
      if (up === probe) return false;
      probe = up;
    }
  }
}

/** Removes `dir` if it holds folders only (at any depth), and says whether it did. */
async function removeFoldersOnly(dir: string): Promise<boolean> {
  for (const e of await readdir(dir, { withFileTypes: true }))
    if (!e.isDirectory() || !(await removeFoldersOnly(join(dir, e.name)))) return false;
  await rmdir(dir);
  return true;
}

/**
 * A folder holding no file where the file goes (its files were moved to the trash: the other side
 * replaced the folder by a file; empty folders are not synced) gives way; a folder with any file in
 * it is never touched.
 */
async function clearEmptyFolder(target: string, path: string, ctx: Record<string, string>): Promise<void> {
  const st = await lstat(target).catch(() => undefined);
  if (!st?.isDirectory()) return;
  try {
    if (!(await removeFoldersOnly(target))) throw new Error('not empty');
  } catch {
    throw new FerryError(
      'conflict',
      'folder-in-the-way',
      `${path} is a folder here, where the destination has a file`,
      {
        context: ctx,
        hint: 'the next pass keeps both: the file goes beside the folder under a conflicted-copy name',
      },
    );
  }
}

/**
 * Brings one remote file home (two-way sync): downloaded to a temporary name beside its target,
 * verified against what the destination said of it, flushed to disk, given the remote's mtime, and
 * only then renamed into place — if the local file is still what the plan saw. A remote name that
 * would leave the folder is refused with a per-file error.
 */
export async function downloadInto(req: DownloadRequest): Promise<Downloaded> {
  const ctx = { destination: req.dest.id, remotePath: req.remotePath, path: req.path };
  const problem = unsafeLocalPath(req.path);
  if (problem)
    throw new FerryError('invalid-name', 'unsafe-remote-name', `"${req.path}" is not downloaded: ${problem}`, {
      context: ctx,
      hint: 'rename it at the destination',
    });
  const root = resolve(req.root);
  const target = resolve(root, ...req.path.split('/'));
  if (relative(root, target).startsWith('..') || !(await insideRoot(root, target)))
    throw new FerryError('invalid-name', 'unsafe-remote-name', `"${req.path}" would land outside the folder`, {
      context: ctx,
      hint: 'a link inside the folder points elsewhere, or the name climbs out: rename it at the destination',
    });
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), req.temp.fileName('dl-'));
  try {
    const entry = await req.dest.download(req.remotePath, tmp, req.opts);
    const kinds = HASH_KINDS.filter((k) => req.expect?.hashes?.[k] !== undefined || entry.hashes?.[k] !== undefined);
    const hashes = await hashFile(tmp, kinds);
    const st = await lstat(tmp);
    for (const said of [req.expect?.hashes, entry.hashes])
      for (const k of kinds)
        if (said?.[k] !== undefined && said[k] !== hashes[k])
          throw new FerryError(
            'retryable',
            'verify-failed',
            `${req.remotePath}: the bytes received do not match the destination's ${k}`,
            { context: ctx },
          );
    if (req.expect?.size !== undefined && req.expect.size !== st.size)
      throw new FerryError(
        'source-changed',
        'remote-changed',
        `${req.remotePath} changed at the destination while it was downloaded`,
        { context: ctx },
      );
    const fh = await open(tmp, 'r+');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    const mtimeMs = entry.mtimeMs ?? st.mtimeMs;
    await utimes(tmp, new Date(), new Date(mtimeMs));
    await clearEmptyFolder(target, req.path, ctx);
    // The premise: the local file is still what the plan saw; otherwise keep both.
    let placed = req.path;
    const current = (await exists(target)) ? (await hashFile(target, [])).sha256 : null;
    if (current !== req.replaces) {
      placed = req.conflictPath(req.path);
      if (await exists(resolve(root, ...placed.split('/'))))
        throw new FerryError('conflict', 'conflict-name-taken', `${placed} already exists`, { context: ctx });
    }
    const final = resolve(root, ...placed.split('/'));
    await rename(tmp, final);
    const dir = await open(dirname(final), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return { path: placed, conflicted: placed !== req.path, size: st.size, mtimeMs, hashes, entry };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
