import { join } from 'node:path';
import type { FolderConfig } from '../../../shared/config';
import type { HashKind } from '../../../shared/hashes';
import type { LocalFile, ScanIssue } from '../../../shared/models';
import type { EventBus } from '../events';
import type { IndexStore } from '../store/indexStore';
import type { HashResult } from './hashFile';
import type { HashJob, FileWorkers } from '../workers/fileWorkers';
import { hasKinds } from './multiHash';

export type FolderScan = {
  folder: string;
  /** Every file present and hashed, keyed by relative path. */
  files: Map<string, LocalFile>;
  /** Present, but could not be read: never treated as deleted. */
  unreadable: Set<string>;
  issues: ScanIssue[];
  complete: boolean;
  hashed: number;
  hashedBytes: number;
};

export type ScannerDeps = { index: IndexStore; workers: FileWorkers; events: EventBus; now?: () => number };

const CHANGING_RETRIES = 3;
const FLUSH_EVERY = 2000;

/**
 * Brings the index up to date for one folder: stats every entry, hashes only what changed since the
 * index (size, mtime or file id), in the worker pool, computing every hash kind the folder's
 * destinations need in the same read.
 */
export async function scanFolder(
  folder: FolderConfig,
  kinds: readonly HashKind[],
  deps: ScannerDeps,
): Promise<FolderScan> {
  const started = Date.now();
  deps.events.emit('scan:started', { folder: folder.id });
  const walked = await deps.workers.walk(folder.id, folder.path, folder.ignore);
  const known = deps.index.loadFolder(folder.id);
  const files = new Map<string, LocalFile>();
  const unreadable = new Set<string>();
  const issues = [...walked.issues];
  for (const i of walked.issues) if (i.code === 'unreadable') unreadable.add(i.path);

  const toHash: HashJob[] = [];
  const relOf = new Map<string, string>();
  for (const w of walked.files) {
    const prev = known.get(w.path);
    if (
      prev &&
      prev.size === w.size &&
      prev.mtimeNs === w.mtimeNs &&
      prev.ino === w.ino &&
      hasKinds(prev.hashes, kinds)
    ) {
      files.set(w.path, prev);
      continue;
    }
    const abs = join(folder.path, w.path);
    relOf.set(abs, w.path);
    toHash.push({ path: abs, size: w.size, kinds: [...kinds] });
  }

  let hashed = 0;
  let hashedBytes = 0;
  let batch: LocalFile[] = [];
  const flush = () => {
    if (batch.length > 0) deps.index.putMany(batch);
    batch = [];
  };
  let lastProgress = 0;
  const progress = (force = false) => {
    const now = Date.now();
    if (!force && now - lastProgress < 250) return;
    lastProgress = now;
    deps.events.emit('scan:progress', {
      folder: folder.id,
      seen: walked.files.length,
      hashed,
      toHash: toHash.length,
      hashedBytes,
    });
  };

  let pending = toHash;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const changing: HashJob[] = [];
    await deps.workers.hashAll(pending, (job: HashJob, r: HashResult) => {
      const rel = relOf.get(job.path) as string;
      if (r.ok) {
        const file: LocalFile = {
          folder: folder.id,
          path: rel,
          size: r.size,
          mtimeNs: r.mtimeNs,
          ino: r.ino,
          hashes: r.hashes,
        };
        files.set(rel, file);
        batch.push(file);
        hashed++;
        hashedBytes += r.size;
        if (batch.length >= FLUSH_EVERY) flush();
        progress();
      } else if (r.code === 'ECHANGED' && attempt < CHANGING_RETRIES) {
        changing.push(job);
      } else if (r.code === 'ENOENT') {
        issues.push({
          folder: folder.id,
          path: rel,
          code: 'vanished',
          message: 'removed during the scan',
          blocking: false,
        });
      } else if (r.code === 'ECHANGED') {
        unreadable.add(rel);
        issues.push({
          folder: folder.id,
          path: rel,
          code: 'changing',
          message: 'still being written: it will be shipped once it settles',
          blocking: true,
        });
      } else {
        unreadable.add(rel);
        issues.push({
          folder: folder.id,
          path: rel,
          code: 'unreadable',
          message: `cannot read: ${r.message}`,
          blocking: true,
        });
      }
    });
    pending = changing;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
  flush();
  progress(true);

  if (walked.complete) {
    const gone = [...known.keys()].filter((p) => !files.has(p) && !unreadable.has(p));
    if (gone.length > 0) deps.index.removeMany(folder.id, gone);
  }
  for (const i of issues) deps.events.emit('scan:issue', i);
  const result: FolderScan = {
    folder: folder.id,
    files,
    unreadable,
    issues,
    complete: walked.complete && !issues.some((i) => i.code === 'missing-folder'),
    hashed,
    hashedBytes,
  };
  deps.events.emit('scan:done', {
    folder: folder.id,
    files: files.size,
    hashed,
    complete: result.complete,
    durationMs: Date.now() - started,
  });
  return result;
}
