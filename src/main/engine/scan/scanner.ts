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

/**
 * Whether an indexed file still stands for what the walk saw: same size, mtime, file id (and change
 * time), with every hash and sniff needed; a file indexed unread stands only while files are read on send.
 */
function unchanged(
  prev: LocalFile,
  w: WalkedFile,
  kinds: readonly HashKind[],
  opts: ReconcileOptions,
  prevRead: boolean,
): boolean {
  return (
    prev.size === w.size &&
    prev.mtimeNs === w.mtimeNs &&
    prev.ino === w.ino &&
    (prev.ctimeNs === undefined || prev.ctimeNs === w.ctimeNs) &&
    (prevRead ? hasKinds(prev.hashes, kinds) : (opts.readOnSend ?? false)) &&
    (!opts.sniff || prev.mime !== undefined)
  );
}

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
  const hashing = new Reconciler(folder, kinds, deps, out, opts, baseline.size > 0, (paths) =>
    paths.map((p) => baseline.get(p)),
  );
  await hashing.take(walked);
  return hashing.finish();
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

/** Hash jobs a streamed scan keeps in flight before it holds the walk back. */
export const SCAN_HASHING_AHEAD = 2048;

/**
 * Brings the index up to date for one whole folder: stats every entry, hashes only what changed
 * since the index (size, mtime or file id). The walk streams: each chunk of walked files is compared
 * with the index rows of its paths and the changed files go to hashing while the walk goes on; the
 * walk waits while too many are in hand, so the walked files held at once are bounded, not the folder.
 */
export async function scanFolder(
  folder: FolderConfig,
  kinds: readonly HashKind[],
  deps: ScannerDeps,
  opts: ScanOptions = {},
): Promise<FolderScan> {
  const started = Date.now();
  deps.events.emit('scan:started', { folder: folder.id });
  const out = { files: new Map<string, LocalFile>(), unreadable: new Set<string>(), issues: [] as ScanIssue[] };
  const reconcileOpts = { sniff: opts.sniff ?? false, readOnSend: opts.readOnSend ?? false };
  const anyRow = deps.index.paths(folder.id);
  const indexed = anyRow.next().done !== true;
  anyRow.return?.();
  const hasher = new Reconciler(folder, kinds, deps, out, reconcileOpts, indexed, (paths) =>
    deps.index.getMany(folder.id, paths),
  );
  let failure: unknown;
  const walked = await deps.workers.walk(folder.id, folder.path, folder.ignore, undefined, (files) =>
    hasher.take(files).catch((err: unknown) => {
      // A chunk that could not be compared (the state database failing) fails the scan, as a whole scan did.
      failure ??= err;
    }),
  );
  if (failure !== undefined) throw failure;
  await hasher.take(walked.files);
  const { hashed, hashedBytes } = await hasher.finish();
  out.issues = [...walked.issues, ...out.issues];
  for (const i of walked.issues) if (i.code === 'unreadable') out.unreadable.add(i.path);
  if (walked.complete) {
    const gone: string[] = [];
    for (const p of deps.index.paths(folder.id)) if (!out.files.has(p) && !out.unreadable.has(p)) gone.push(p);
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
 * The compare-and-hash stage of a scan: `take` compares walked files with what `known` says of their
 * paths and sends the changed ones to the workers; its promise settles once no more than
 * SCAN_HASHING_AHEAD files are being hashed (a streamed walk hands over its next chunk then). Files
 * that change while read are tried again at `finish`.
 */
class Reconciler {
  private hashed = 0;
  private read = 0;
  private hashedBytes = 0;
  private seen = 0;
  private toHash = 0;
  private inFlight = 0;
  private readonly prevOf = new Map<string, LocalFile | undefined>();
  private readonly relOf = new Map<string, string>();
  private batch: LocalFile[] = [];
  private changing: HashJob[] = [];
  private readonly running: Promise<void>[] = [];
  private roomWaiters: (() => void)[] = [];
  private lastProgress = 0;

  constructor(
    private readonly folder: FolderConfig,
    private readonly kinds: readonly HashKind[],
    private readonly deps: ScannerDeps,
    private readonly out: { files: Map<string, LocalFile>; unreadable: Set<string>; issues: ScanIssue[] },
    private readonly opts: ReconcileOptions,
    /** The folder has index rows (a first sync has none: no new path there can be a renamed file). */
    private readonly indexed: boolean,
    private readonly known: (paths: string[]) => (LocalFile | undefined)[],
  ) {}

  /** Whether a new path may be an indexed (read) file renamed: a rename keeps size, mtime and file id. */
  private renameCandidate(w: WalkedFile): boolean {
    return (
      (this.opts.scoped === true || this.indexed) &&
      this.deps.index
        .withIno(this.folder.id, w.ino)
        .some((c) => c.path !== w.path && c.size === w.size && c.mtimeNs === w.mtimeNs && isRead(c.hashes))
    );
  }

  async take(walked: readonly WalkedFile[]): Promise<void> {
    if (walked.length === 0) return;
    this.seen += walked.length;
    const { sniff, readOnSend = false, scoped = false } = this.opts;
    const prevs = this.known(walked.map((w) => w.path));
    const upgraded: LocalFile[] = [];
    const jobs: HashJob[] = [];
    walked.forEach((w, i) => {
      let prev = prevs[i];
      // A scoped scan's baseline entry still unread may have been hashed by its upload since.
      if (prev && scoped && !isRead(prev.hashes)) prev = this.deps.index.get(this.folder.id, w.path) ?? prev;
      const prevRead = prev !== undefined && isRead(prev.hashes);
      if (prev && unchanged(prev, w, this.kinds, this.opts, prevRead)) {
        if (prev.ctimeNs === undefined) {
          // Indexed before change times were kept: trusted once on size, mtime and file id, as then.
          const known = { ...prev, ctimeNs: w.ctimeNs };
          this.out.files.set(w.path, known);
          upgraded.push(known);
        } else this.out.files.set(w.path, prev);
        return;
      }
      const abs = join(this.folder.path, w.path);
      this.relOf.set(abs, w.path);
      this.prevOf.set(abs, prev);
      const job: HashJob = { path: abs, size: w.size, kinds: [...this.kinds], ...(sniff ? { sniff: true } : {}) };
      // Read once: content never hashed (a new path, or one whose index row is unread) is hashed while it
      // is sent, unless it may be a rename (then its hash confirms it). The file is still opened here (a
      // file that cannot be read is named now, not at its upload), and sniffing reads only its head.
      if (readOnSend && !prevRead && !this.renameCandidate(w)) job.headOnly = true;
      jobs.push(job);
    });
    if (upgraded.length > 0) this.deps.index.putMany(upgraded);
    this.toHash += jobs.length;
    this.hash(jobs, 0);
    this.progress();
    if (this.inFlight > SCAN_HASHING_AHEAD) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  private hash(jobs: HashJob[], attempt: number): void {
    if (jobs.length === 0) return;
    this.inFlight += jobs.length;
    this.read += jobs.length;
    this.running.push(this.deps.workers.hashAll(jobs, (job, r) => this.settle(job, r, attempt)));
  }

  private settle(job: HashJob, r: HashResult, attempt: number): void {
    this.inFlight--;
    if (this.inFlight <= SCAN_HASHING_AHEAD && this.roomWaiters.length > 0) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
    const rel = this.relOf.get(job.path) as string;
    const prev = this.prevOf.get(job.path);
    if (r.ok || r.code !== 'ECHANGED' || attempt >= CHANGING_RETRIES) {
      this.relOf.delete(job.path);
      this.prevOf.delete(job.path);
    }
    if (r.ok) {
      const file: LocalFile = {
        folder: this.folder.id,
        path: rel,
        size: r.size,
        mtimeNs: r.mtimeNs,
        ino: r.ino,
        ctimeNs: r.ctimeNs,
        hashes: r.hashes,
      };
      // Not sniffed this time: a type sniffed before still holds while the content is the same.
      const mime = r.mime ?? (isRead(r.hashes) && prev?.hashes.sha256 === r.hashes.sha256 ? prev.mime : undefined);
      if (mime !== undefined) file.mime = mime;
      this.out.files.set(rel, file);
      this.batch.push(file);
      if (isRead(r.hashes)) {
        this.hashed++;
        this.hashedBytes += r.size;
      }
      if (this.batch.length >= FLUSH_EVERY) this.flush();
      this.progress();
    } else if (r.code === 'ECHANGED' && attempt < CHANGING_RETRIES) this.changing.push(job);
    else if (r.code === 'ENOENT') this.issue(rel, 'vanished', 'removed during the scan', false);
    else if (r.code === 'ECHANGED')
      this.issue(rel, 'changing', 'still being written: it will be shipped once it settles', true);
    else this.issue(rel, 'unreadable', `cannot read: ${r.message}`, true);
  }

  private issue(path: string, code: ScanIssue['code'], message: string, blocking: boolean): void {
    if (blocking) this.out.unreadable.add(path);
    this.out.issues.push({ folder: this.folder.id, path, code, message, blocking });
  }

  private flush(): void {
    if (this.batch.length > 0) this.deps.index.putMany(this.batch);
    this.batch = [];
  }

  private progress(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.deps.events.emit('scan:progress', {
      folder: this.folder.id,
      seen: this.seen,
      hashed: this.hashed,
      toHash: this.toHash,
      hashedBytes: this.hashedBytes,
    });
  }

  /** Waits for every hash, tries the files that changed while read again (later each time), and flushes. */
  async finish(): Promise<Reconciled> {
    for (let attempt = 0; ; attempt++) {
      while (this.running.length > 0) await this.running.shift();
      if (this.changing.length === 0) break;
      const again = this.changing;
      this.changing = [];
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      this.hash(again, attempt + 1);
    }
    this.flush();
    this.progress(true);
    return { hashed: this.hashed, hashedBytes: this.hashedBytes, read: this.read };
  }
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
