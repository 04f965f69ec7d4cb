import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Hashes } from '../../../../shared/hashes';
import { MultiHash } from '../../scan/multiHash';
import { fsPath } from '../../scan/rawNames';
// eslint-disable-next-line no-restricted-imports -- a worker thread books its slices from the shared cap itself; moves with the pacer (issue 20)
import { Bandwidth, paceGrain } from '../../transfer/bandwidth';
import { isIndexedFile, unchangedSince } from '../readOnce';
import { tempFileNameAt } from '../tempNames';
import type { ReadOnce } from '../types';
import { mkdirBelowSync } from './dirsBelow';

export type CopyRequest = {
  id: number;
  src: string;
  target: string;
  /** The destination's root: folders are made below it, never it (see dirsBelow.ts). */
  root: string;
  /** The start of this instance's temporary names (TempNames.head). */
  tempHead: string;
  size: number;
  sha256: string;
  mtimeMs: number;
  /** Index into the shared cancel flags: non-zero there means stop. */
  cancelSlot: number;
  /** The bandwidth cap every transfer shares (Bandwidth.shared): the worker books each slice from it. */
  sharedCap?: SharedArrayBuffer;
  /**
   * Two-way sync: the target's version (`localVersion`) the plan saw, or null for "nothing there". When
   * given, the copy is published only if the target is still that version ('EREMOTECHANGED' otherwise).
   */
  expectVersion?: string | null;
  /** Read once (types.ts): `sha256` is an unreadMark; every kind here is hashed over the bytes copied. */
  readOnce?: ReadOnce;
};

export type CopyResult =
  | { id: number; ok: true; size: number; sha256: string; mtimeMs: number; ino: number; sent?: Hashes }
  | { id: number; ok: false; code: string; message: string };

/** A copy written and hashed, waiting for its fsync and rename (done together for a batch: groupCommit.ts). */
export type PendingCopy = {
  id: number;
  fd: number;
  tmp: string;
  target: string;
  root: string;
  size: number;
  sha256: string;
  mtimeMs: number;
  ino: number;
  expectVersion?: string | null;
  sent?: Hashes;
};

const madeDirs = new Set<string>();

function openTemp(root: string, target: string, tempHead: string): { fd: number; tmp: string } {
  const dir = dirname(target);
  const tmp = join(dir, tempFileNameAt(tempHead));
  if (!madeDirs.has(dir)) {
    mkdirBelowSync(root, dir);
    madeDirs.add(dir);
  }
  try {
    return { fd: openSync(fsPath(tmp), 'wx', 0o644), tmp };
  } catch (err) {
    // Someone removed the folder since we made it: make it again, once.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirBelowSync(root, dir);
    return { fd: openSync(fsPath(tmp), 'wx', 0o644), tmp };
  }
}

/** Writes a chunk whole; under a cap, slice by slice, each booked from the shared cap first. */
function writeChunk(fd: number, chunk: Buffer, cap: Bandwidth | undefined, cancelled: () => boolean): void {
  const grain = cap && cap.rate > 0 ? paceGrain(cap.rate) : chunk.length;
  let off = 0;
  while (off < chunk.length) {
    const end = Math.min(chunk.length, off + grain);
    cap?.takeSync(end - off, cancelled);
    if (cancelled()) return;
    while (off < end) off += writeSync(fd, chunk, off, end - off);
  }
}

function failure(id: number, err: unknown): CopyResult {
  const e = err as NodeJS.ErrnoException;
  return { id, ok: false, code: e.code ?? 'EIO', message: e.message ?? String(err) };
}

/**
 * Copies one file to a temporary name beside its target with synchronous I/O (this runs in a worker
 * thread), hashing exactly the bytes written. The source must still be what the index says — same
 * size before and after, same SHA-256 — or nothing is published ('ECHANGED').
 */
export function copyToTemp(
  req: CopyRequest,
  buf: Buffer,
  cancelled: () => boolean,
  progress: (bytes: number) => void,
): PendingCopy | CopyResult {
  let src: number | undefined;
  let out: { fd: number; tmp: string } | undefined;
  try {
    src = openSync(fsPath(req.src), constants.O_RDONLY);
    const before = fstatSync(src, { bigint: true });
    if (req.readOnce ? !isIndexedFile(before, req.size, req.readOnce) : Number(before.size) !== req.size)
      return { id: req.id, ok: false, code: 'ECHANGED', message: `${req.src} changed since it was scanned` };
    out = openTemp(req.root, req.target, req.tempHead);
    const hash = new MultiHash(req.readOnce?.kinds);
    let done = 0;
    let lastReport = 0;
    let lastReportAt = 0;
    const cap = req.sharedCap ? Bandwidth.attach(req.sharedCap) : undefined;
    for (;;) {
      if (cancelled()) {
        closeSync(out.fd);
        unlinkSync(fsPath(out.tmp));
        out = undefined;
        return { id: req.id, ok: false, code: 'ECANCELED', message: 'cancelled' };
      }
      const n = readSync(src, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      writeChunk(out.fd, chunk, cap, cancelled);
      if (cancelled()) continue;
      done += n;
      // Every 8 MiB, and at least a few times a second when a cap makes the copy slow.
      if (done - lastReport >= 8 * 1024 * 1024 || (done > lastReport && performance.now() - lastReportAt > 250)) {
        lastReport = done;
        lastReportAt = performance.now();
        progress(done);
      }
    }
    const after = fstatSync(src, { bigint: true });
    const hashes = hash.digest();
    const sha256 = hashes.sha256;
    if (
      done !== req.size ||
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      (req.readOnce ? !unchangedSince(before, after) : sha256 !== req.sha256)
    ) {
      closeSync(out.fd);
      unlinkSync(fsPath(out.tmp));
      out = undefined;
      return { id: req.id, ok: false, code: 'ECHANGED', message: `${req.src} changed while it was being shipped` };
    }
    const mtime = req.mtimeMs / 1000;
    futimesSync(out.fd, mtime, mtime);
    const st = fstatSync(out.fd);
    const pending = {
      id: req.id,
      fd: out.fd,
      tmp: out.tmp,
      target: req.target,
      root: req.root,
      size: done,
      sha256,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      ...(req.expectVersion !== undefined ? { expectVersion: req.expectVersion } : {}),
      ...(req.readOnce ? { sent: hashes } : {}),
    };
    out = undefined;
    return pending;
  } catch (err) {
    if (out) {
      try {
        closeSync(out.fd);
        unlinkSync(fsPath(out.tmp));
      } catch {
        // best effort: the next run sweeps leftovers
      }
    }
    return failure(req.id, err);
  } finally {
    if (src !== undefined) closeSync(src);
  }
}

/**
 * A local destination file's version token. Size and mtime alone are not enough: the mtime is the
 * source's (preserved), so two instances' different contents of one size written within the same
 * millisecond would look alike, and a two-way pass would take a change for no change. Every upload
 * publishes a new inode (temp file + rename), which tells them apart.
 */
export function localVersion(size: number, mtimeMs: number, ino: number): string {
  return `${size}:${Math.round(mtimeMs)}:${ino}`;
}

/**
 * A destination file's version as the local provider reports it (null: no file there). Compared just
 * before the rename: a plain file system has no compare-and-swap rename, so this narrows the window
 * in which another writer's change could be replaced to the rename itself.
 */
export function versionAt(path: string): string | null {
  try {
    const st = statSync(fsPath(path));
    return st.isFile() ? localVersion(st.size, st.mtimeMs, st.ino) : 'not-a-file';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
