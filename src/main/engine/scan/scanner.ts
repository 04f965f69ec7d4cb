import { join } from 'node:path';
import type { FolderConfig } from '../../../shared/config';
import { type HashKind, isRead } from '../../../shared/hashes';
import type { LocalFile, ScanIssue } from '../../../shared/models';
import type { EventBus } from '../events';
import type { IndexStore } from '../store/indexStore';
import type { FileWorkers, HashJob } from '../workers/fileWorkers';
import type { HashResult } from './hashFile';
import { hasKinds } from './multiHash';
import { topmost, type WalkedFile, type WalkResult } from './walk';

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

export type ScannerDeps = { index: IndexStore; workers: FileWorkers; events: EventBus };

/** Per folder. */
export type ScanOptions = {
  /**
   * Sniff each file's content type (some rule over the folder routes by it): files hashed now are
   * sniffed in the same read, and indexed files never sniffed are hashed once more to be.
   */
  sniff?: boolean;
  /**
   * Read once: every destination of the folder's rules hashes while it sends (and no rule compresses
   * or syncs two ways), so a new file is not read here: it is indexed unread (unreadMark) and hashed by its upload.
   * A new path that may be a renamed indexed file (same size, mtime and file id) is still hashed, to
   * confirm the rename by content.
   */
  readOnSend?: boolean;
};

/** How reconcile treats what it must read (see ScanOptions). */
export type ReconcileOptions = {
  sniff: boolean;
  readOnSend?: boolean;
  /**
   * The baseline holds only part of the folder (a scoped scan): rename candidates are also looked up
   * in the index by file id, and a baseline entry still unread is looked up again (its upload may have
   * hashed it since).
   */
  scoped?: boolean;
};

const CHANGING_RETRIES = 3;
const FLUSH_EVERY = 2000;

type Reconciled = {
  hashed: number;
  hashedBytes: number;
  /** Files opened to be read (hashed), retries included. */
  read: number;
};

/**
 * Takes walked entries into `files`: an entry whose size, mtime and file id match `baseline` (and
 * that has every hash kind needed, and a content type when `sniff`) is kept as it was; the others are
 * hashed in the workers, every needed kind (and the sniff) in one read, and written to the index. A
 * file that changes while it is read is tried again, then reported as still being written.
 */
export async function reconcile(
  folder: FolderConfig,
  kinds: readonly HashKind[],
  deps: ScannerDeps,
  walked: readonly WalkedFile[],
  baseline: ReadonlyMap<string, LocalFile>,
  out: { files: Map<string, LocalFile>; unreadable: Set<string>; issues: ScanIssue[] },
  opts: ReconcileOptions,
): Promise<Reconciled> {
  const { sniff, readOnSend = false, scoped = false } = opts;
  const toHash: HashJob[] = [];
  const relOf = new Map<string, string>();
  const upgraded: LocalFile[] = [];
  // Whether a new path may be an indexed (read) file renamed: a rename keeps size, mtime and file id.
  // Looked up by file id in the index; a folder with no index rows yet (a first sync) has none.
  const renameCandidate = (w: WalkedFile): boolean =>
    (scoped || baseline.size > 0) &&
    deps.index
      .withIno(folder.id, w.ino)
      .some((c) => c.path !== w.path && c.size === w.size && c.mtimeNs === w.mtimeNs && isRead(c.hashes));
  for (const w of walked) {
    let prev = baseline.get(w.path);
    if (prev && scoped && !isRead(prev.hashes)) prev = deps.index.get(folder.id, w.path) ?? prev;
    const prevRead = prev !== undefined && isRead(prev.hashes);
    if (
      prev &&
      prev.size === w.size &&
      prev.mtimeNs === w.mtimeNs &&
      prev.ino === w.ino &&
      (prev.ctimeNs === undefined || prev.ctimeNs === w.ctimeNs) &&
      (prevRead ? hasKinds(prev.hashes, kinds) : readOnSend) &&
      (!sniff || prev.mime !== undefined)
    ) {
      if (prev.ctimeNs === undefined) {
        // Indexed before change times were kept: trusted once on size, mtime and file id, as then.
        const known = { ...prev, ctimeNs: w.ctimeNs };
        out.files.set(w.path, known);
        upgraded.push(known);
      } else out.files.set(w.path, prev);
      continue;
    }
    const abs = join(folder.path, w.path);
    relOf.set(abs, w.path);
    // Read once: content never hashed (a new path, or one whose index row is unread) is hashed while it
    // is sent, unless it may be a rename (then its hash confirms it). The file is still opened here (a
    // file that cannot be read is named now, not at its upload), and sniffing reads only its head.
    if (readOnSend && !prevRead && !renameCandidate(w)) {
      toHash.push({ path: abs, size: w.size, kinds: [...kinds], ...(sniff ? { sniff: true } : {}), headOnly: true });
      continue;
    }
    toHash.push({ path: abs, size: w.size, kinds: [...kinds], ...(sniff ? { sniff: true } : {}) });
  }
  if (upgraded.length > 0) deps.index.putMany(upgraded);

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
      seen: walked.length,
      hashed,
      toHash: toHash.length,
      hashedBytes,
    });
  };
  const issue = (path: string, code: ScanIssue['code'], message: string, blocking: boolean) => {
    if (blocking) out.unreadable.add(path);
    out.issues.push({ folder: folder.id, path, code, message, blocking });
  };

  let pending = toHash;
  let read = 0;
  for (let attempt = 0; pending.length > 0; attempt++) {
    read += pending.length;
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
          ctimeNs: r.ctimeNs,
          hashes: r.hashes,
        };
        // Not sniffed this time: a type sniffed before still holds while the content is the same.
        const prev = baseline.get(rel);
        const mime = r.mime ?? (isRead(r.hashes) && prev?.hashes.sha256 === r.hashes.sha256 ? prev.mime : undefined);
        if (mime !== undefined) file.mime = mime;
        out.files.set(rel, file);
        batch.push(file);
        if (isRead(r.hashes)) {
          hashed++;
          hashedBytes += r.size;
        }
        if (batch.length >= FLUSH_EVERY) flush();
        progress();
      } else if (r.code === 'ECHANGED' && attempt < CHANGING_RETRIES) changing.push(job);
      else if (r.code === 'ENOENT') issue(rel, 'vanished', 'removed during the scan', false);
      else if (r.code === 'ECHANGED')
        issue(rel, 'changing', 'still being written: it will be shipped once it settles', true);
      else issue(rel, 'unreadable', `cannot read: ${r.message}`, true);
    });
    pending = changing;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
  flush();
  progress(true);
  return { hashed, hashedBytes, read };
}

function finish(folder: FolderConfig, deps: ScannerDeps, started: number, scan: FolderScan): FolderScan {
  for (const i of scan.issues) deps.events.emit('scan:issue', i);
  deps.events.emit('scan:done', {
    folder: folder.id,
    files: scan.files.size,
    hashed: scan.hashed,
    complete: scan.complete,
    durationMs: Date.now() - started,
  });
  return scan;
}

function complete(walked: WalkResult, issues: readonly ScanIssue[]): boolean {
  return walked.complete && !issues.some((i) => i.code === 'missing-folder');
}

/**
 * Brings the index up to date for one whole folder: stats every entry, hashes only what changed
 * since the index (size, mtime or file id).
 */
export async function scanFolder(
  folder: FolderConfig,
  kinds: readonly HashKind[],
  deps: ScannerDeps,
  opts: ScanOptions = {},
): Promise<FolderScan> {
  const started = Date.now();
  deps.events.emit('scan:started', { folder: folder.id });
  const walked = await deps.workers.walk(folder.id, folder.path, folder.ignore);
  const known = deps.index.loadFolder(folder.id);
  const out = { files: new Map<string, LocalFile>(), unreadable: new Set<string>(), issues: [...walked.issues] };
  for (const i of walked.issues) if (i.code === 'unreadable') out.unreadable.add(i.path);
  const { hashed, hashedBytes } = await reconcile(folder, kinds, deps, walked.files, known, out, {
    sniff: opts.sniff ?? false,
    readOnSend: opts.readOnSend ?? false,
  });
  if (walked.complete) {
    const gone = [...known.keys()].filter((p) => !out.files.has(p) && !out.unreadable.has(p));
    if (gone.length > 0) deps.index.removeMany(folder.id, gone);
  }
  return finish(folder, deps, started, {
    folder: folder.id,
    ...out,
    complete: complete(walked, out.issues),
    hashed,
    hashedBytes,
  });
}

/**
 * A scoped rescan after watcher hints: only the given paths (and what lies below those that are
 * folders) are looked at; the rest of `current` stands. Costs what changed, not the folder's size.
 */
export async function scanChanges(
  folder: FolderConfig,
  kinds: readonly HashKind[],
  deps: ScannerDeps,
  paths: readonly string[],
  current: FolderScan,
  opts: ScanOptions = {},
): Promise<FolderScan> {
  const started = Date.now();
  // A watcher reports a name that is not UTF-8 with U+FFFD in it, a path that reaches nothing: look at
  // the folder above it instead (listed as bytes by the walk), or at the whole folder.
  const hinted = paths.map((p) =>
    p.includes('\uFFFD') ? p.slice(0, Math.max(0, p.lastIndexOf('/', p.indexOf('\uFFFD')))) : p,
  );
  if (hinted.includes('')) return scanFolder(folder, kinds, deps, opts);
  const roots = topmost(hinted);
  const walked = await deps.workers.walk(folder.id, folder.path, folder.ignore, roots);
  // The folder itself went away: a full scan says so properly.
  if (walked.issues.some((i) => i.code === 'missing-folder' || i.code === 'not-a-folder'))
    return scanFolder(folder, kinds, deps, opts);
  const rootSet = new Set(roots);
  const inScope = (p: string): boolean => {
    for (let i = p.length; i > 0; i = p.lastIndexOf('/', i - 1)) if (rootSet.has(p.slice(0, i))) return true;
    return false;
  };
  const out = { files: new Map(current.files), unreadable: new Set(current.unreadable), issues: [...walked.issues] };
  // What was under the scope is re-decided by this walk.
  const before = new Map<string, LocalFile>();
  for (const [p, f] of current.files)
    if (inScope(p)) {
      before.set(p, f);
      out.files.delete(p);
    }
  for (const p of current.unreadable) if (inScope(p)) out.unreadable.delete(p);
  for (const i of walked.issues) if (i.code === 'unreadable') out.unreadable.add(i.path);
  const { hashed, hashedBytes } = await reconcile(folder, kinds, deps, walked.files, before, out, {
    sniff: opts.sniff ?? false,
    readOnSend: opts.readOnSend ?? false,
    scoped: true,
  });
  if (walked.complete) {
    const gone = [...before.keys()].filter((p) => !out.files.has(p) && !out.unreadable.has(p));
    if (gone.length > 0) deps.index.removeMany(folder.id, gone);
  }
  const scan = {
    folder: folder.id,
    ...out,
    complete: current.complete && complete(walked, out.issues),
    hashed,
    hashedBytes,
  };
  return finish(folder, deps, started, scan);
}
