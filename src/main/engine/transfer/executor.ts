import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderConfig } from '../../../shared/config';
import { assertNever, FerryError } from '../../../shared/errors';
import { type HashKind, type Hashes, isRead, unreadMark } from '../../../shared/hashes';
import { ENCODING_SUFFIX, type Encoding, type LocalFile } from '../../../shared/models';
import { targetPathOf } from '../plan/planner';
import { fsError } from '../providers/fsErrors';
import { fsPath, hasRawBytes, shownName } from '../scan/rawNames';
import type { Dispatcher } from '../rules/dispatch';
import type { CompiledRule } from '../rules/ruleMatcher';
import type { FileWorkers } from '../workers/fileWorkers';
import {
  type BatchUpload,
  canCopy,
  canMove,
  canRead,
  canRemove,
  commonHash,
  type Destination,
  type FullDestination,
  type RemoteEntry,
  type TransferOpts,
  type UploadSource,
} from '../providers/types';
import type { Job } from '../store/jobStore';
import { stillShipped } from './stillShipped';
import { executeTwoWay, renameRemote } from './twoWayExec';
import { killPoint } from '../diagnostics/killPoint';
import type { ShippedRecord } from '../store/shippedStore';
import type { Store } from '../store/store';
import { keepVersionOf, movedAside, type VersionKeeper } from '../versions/keeper';

export type ExecutorDeps = {
  store: Store;
  destinations: ReadonlyMap<string, Destination>;
  folders: ReadonlyMap<string, FolderConfig>;
  /** The rules, in order: which ones catch a file decides what a move may delete. */
  dispatcher: Dispatcher;
  /** Compression runs in the file workers, into private files here. */
  workers: FileWorkers;
  stagingDir: string;
  /** Hashes one local file again and updates the index (after it changed under us). */
  rehash: (folder: string, path: string) => Promise<LocalFile | undefined>;
  /** Names of the two-way rules: their jobs also keep the common base (twoWayExec.ts). */
  twoWay?: ReadonlySet<string>;
  /**
   * The hash kinds each folder's index keeps (beyond SHA-256). With them, a file the scan left unread
   * is hashed while it is sent to a destination that can (read once); otherwise it is hashed first.
   */
  kinds?: ReadonlyMap<string, readonly HashKind[]>;
  /** Keeps what a rule with versions replaces or deletes at a destination (versions/keeper.ts). */
  versions?: VersionKeeper;
};

/**
 * What running a job came to, besides an error. `skipped` jobs are settled without a transfer. A batch's
 * jobs carry their `shipped` record instead of writing it: the pool writes them with the jobs' own
 * settling, the whole batch in one transaction.
 */
export type JobResult = {
  outcome: 'done' | 'skipped';
  bytes: number;
  note?: string;
  shipped?: ShippedRecord;
  /** The file as its upload read it (read once: its hashes learnt while sent), written with the record. */
  learnt?: LocalFile;
};

/** Runs one job against its destination and records what it achieved. Throws a FerryError on failure. */
export async function executeJob(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
  refuseRawName(job, deps);
  if (deps.twoWay?.has(job.rule))
    return executeTwoWay(job, opts, {
      ...deps,
      destination: fullDestinationOf(job, deps, 'hold a two-way rule'),
      root: folderRoot(job, deps),
      upload: (j) => upload(j, opts, deps),
      keepDeleted: async (j) => {
        const kept = await keepVersionOf(j, destinationOf(job, deps), 'deleted', deps, opts.signal);
        return movedAside(kept) ? kept : undefined;
      },
    });
  switch (job.kind) {
    case 'upload':
      return upload(job, opts, deps);
    case 'move-remote':
    case 'copy-remote':
      return serverSide(job, opts, deps);
    case 'delete-remote':
      return deleteRemote(job, opts, deps);
    case 'delete-local':
      return deleteLocal(job, deps);
    case 'set-aside':
      return keepAside(job, opts, deps);
    case 'download':
    case 'conflict':
    case 'move-local':
    case 'trash-local':
      throw new FerryError('permanent', 'not-two-way', `rule "${job.rule}" is not a two-way rule any more`);
    default:
      return assertNever(job.kind, 'job kind');
  }
}

/**
 * A name that is not UTF-8 (rawNames.ts) goes only where names are bytes (a local folder); elsewhere
 * it fails by name, its bytes shown, and the other files go on. Deleting such a copy is always fine.
 */
function refuseRawName(job: Job, deps: ExecutorDeps): void {
  const raw = [job.path, job.remotePath, job.fromRemotePath].find((p) => p !== undefined && hasRawBytes(p));
  if (raw === undefined || job.kind === 'delete-local' || job.kind === 'delete-remote') return;
  const twoWay = deps.twoWay?.has(job.rule) === true;
  if (!twoWay && (job.destination === undefined || destinationOf(job, deps).features.rawNames === true)) return;
  throw new FerryError(
    'invalid-name',
    'name-not-utf8',
    `"${shownName(raw)}": a name that is not UTF-8 (the bytes shown as \\xNN), which ${
      twoWay ? 'two-way sync' : `destination "${job.destination}"`
    } cannot hold`,
    {
      context: { destination: job.destination, path: job.path },
      hint: 'rename the file to a UTF-8 name (convmv -f latin1 -t utf8 does a whole tree), or send it to a local destination; the other files are shipped',
    },
  );
}

function destinationOf(job: Job, deps: ExecutorDeps): Destination {
  const d = job.destination === undefined ? undefined : deps.destinations.get(job.destination);
  if (!d)
    throw new FerryError('permanent', 'destination-gone', `destination "${job.destination}" is no longer configured`);
  return d;
}

/**
 * The job's destination when the job must read back or remove what it holds. An upload-only endpoint
 * cannot: the planner never asks it to, but for a mirror's deletions (the records say what was sent).
 */
function fullDestinationOf(job: Job, deps: ExecutorDeps, what: string): FullDestination {
  const d = destinationOf(job, deps);
  if (canRead(d) && canRemove(d)) return d;
  throw new FerryError(
    'permanent',
    'upload-only',
    `destination "${d.id}" accepts uploads only: it cannot ${what}${job.remotePath ? ` (${job.remotePath})` : ''}`,
    {
      context: { destination: d.id, path: job.path },
      hint: 'an upload endpoint cannot take files away or show what it holds: use a backup rule (not mirror) for it',
    },
  );
}

function folderRoot(job: Job, deps: ExecutorDeps): string {
  const f = deps.folders.get(job.folder);
  if (!f) throw new FerryError('permanent', 'folder-gone', `folder "${job.folder}" is no longer configured`);
  return f.path;
}

function folderPath(job: Job, deps: ExecutorDeps): string {
  return join(folderRoot(job, deps), ...job.path.split('/'));
}

/** What was sent: the file itself, or its compressed form (then size and hashes are the compressed bytes'). */
type Sent = { size: number; hashes: Hashes; encoding: Encoding };

const asIs = (file: LocalFile): Sent => ({ size: file.size, hashes: file.hashes, encoding: 'identity' });

function record(job: Job, file: LocalFile, entry: RemoteEntry, sent: Sent = asIs(file)): ShippedRecord {
  return {
    destination: job.destination as string,
    remotePath: job.remotePath as string,
    rule: job.rule,
    folder: job.folder,
    path: job.path,
    size: sent.size,
    sha256: file.hashes.sha256,
    encoding: sent.encoding,
    remoteVersion: entry.version ?? null,
    shippedAt: Date.now(),
  };
}

/** The destination's word on what it holds must agree with ours: by hash where it gives one, else by size. */
function verify(job: Job, file: Pick<Sent, 'size' | 'hashes'>, entry: RemoteEntry): void {
  const ctx = { destination: job.destination, remotePath: job.remotePath, path: job.path };
  const cmp = commonHash(entry, file.hashes);
  if (cmp && !cmp.matches)
    throw new FerryError(
      'retryable',
      'verify-failed',
      `${job.remotePath}: the destination's ${cmp.kind} does not match the file's`,
      { context: ctx },
    );
  if (entry.size !== file.size)
    throw new FerryError(
      'retryable',
      'verify-failed',
      `${job.remotePath}: the destination holds ${entry.size} bytes, the file has ${file.size}`,
      { context: ctx },
    );
}

async function upload(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
  const dest = destinationOf(job, deps);
  const abs = folderPath(job, deps);
  const indexed = deps.store.index.get(job.folder, job.path);
  if (!indexed) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
  const compressed = job.encoding !== undefined && job.encoding !== 'identity';
  const file = await readable(job, dest, indexed, !compressed, deps);
  if (!file) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
  if (job.encoding !== undefined && job.encoding !== 'identity')
    return uploadCompressed(job, job.encoding, dest, abs, file, opts, deps);
  let entry: RemoteEntry;
  try {
    // The copy it replaces is kept first; then nothing is at the path for a conditional write to compare.
    const kept = await keepVersionOf(job, dest, 'replaced', deps, opts.signal);
    const replaces = movedAside(kept)
      ? { replaces: null }
      : job.detail && 'remoteVersion' in job.detail
        ? { replaces: job.detail.remoteVersion ?? null }
        : {};
    entry = await dest.upload(
      job.remotePath as string,
      { ...sourceOf(abs, file, deps), tags: tagsOf(job, deps), ...replaces },
      opts,
    );
  } catch (err) {
    if (err instanceof FerryError && err.kind === 'source-changed') {
      // Learn the file's new content now, so the retry ships (and verifies) that.
      const fresh = await relearn(job, file, deps);
      if (!fresh) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
    }
    throw err;
  }
  // Published at the destination, not recorded yet: the window adoptInterrupted.ts closes.
  killPoint('published', job.remotePath as string);
  const sent = readWhileSent(job, file, entry);
  verify(job, sent, entry);
  deps.store.transaction(() => {
    if (sent !== file) deps.store.index.putMany([sent]);
    deps.store.shipped.put(record(job, sent, entry));
  });
  return { outcome: 'done', bytes: sent.size };
}

/**
 * The file as it will be sent: a file the scan left unread goes as it is where it can be hashed while
 * it is sent (`once`: a destination that can, the folder's kinds known); elsewhere it is hashed first.
 */
async function readable(
  job: Job,
  dest: Destination,
  file: LocalFile,
  once: boolean,
  deps: ExecutorDeps,
): Promise<LocalFile | undefined> {
  if (isRead(file.hashes)) return file;
  if (once && dest.features.hashesWhileSending === true && deps.kinds?.has(job.folder)) return file;
  const fresh = await deps.rehash(job.folder, job.path);
  if (fresh && !isRead(fresh.hashes))
    throw new FerryError('source-changed', 'source-changed', `${job.path} is still being written`, {
      context: { folder: job.folder, path: job.path },
    });
  return fresh;
}

/**
 * After an upload found its file changed: what the index knows of it now. A file sent unread (read
 * once) stays unread, under its new identity, so that the retry reads it once, as it sends it, and the
 * index never holds hashes of bytes that were not sent; a read file (or one whose sniffed type must be
 * learnt again) is hashed again now.
 */
async function relearn(job: Job, file: LocalFile, deps: ExecutorDeps): Promise<LocalFile | undefined> {
  if (isRead(file.hashes) || file.mime !== undefined) return deps.rehash(job.folder, job.path);
  const st = await lstat(fsPath(folderPath(job, deps)), { bigint: true }).catch(() => undefined);
  // Gone, or no longer a file: the rehash says so (and takes it out of the index).
  if (!st?.isFile()) return deps.rehash(job.folder, job.path);
  const size = Number(st.size);
  const fresh: LocalFile = {
    folder: file.folder,
    path: file.path,
    size,
    mtimeNs: st.mtimeNs,
    ino: st.ino,
    ctimeNs: st.ctimeNs,
    hashes: { sha256: unreadMark({ size, mtimeNs: st.mtimeNs, ino: st.ino }) },
  };
  deps.store.index.putMany([fresh]);
  return fresh;
}

/** An unread file with the hashes its upload read (what the index learns); a read file as it is. */
function readWhileSent(job: Job, file: LocalFile, entry: RemoteEntry): LocalFile {
  if (isRead(file.hashes)) return file;
  if (!entry.sent || !isRead(entry.sent))
    throw new FerryError(
      'permanent',
      'no-hashes',
      `${job.remotePath}: the destination did not hash the bytes it was sent`,
      {
        context: { destination: job.destination, remotePath: job.remotePath, path: job.path },
      },
    );
  return { ...file, hashes: entry.sent };
}

function sourceOf(absPath: string, file: LocalFile, deps: ExecutorDeps): UploadSource {
  const source = { absPath, size: file.size, mtimeMs: Number(file.mtimeNs / 1_000_000n), hashes: file.hashes };
  if (isRead(file.hashes)) return source;
  const readOnce = {
    kinds: ['sha256' as const, ...(deps.kinds?.get(file.folder) ?? [])],
    mtimeNs: file.mtimeNs,
    ino: file.ino,
    ...(file.ctimeNs !== undefined ? { ctimeNs: file.ctimeNs } : {}),
  };
  return { ...source, readOnce };
}

function tagsOf(job: Job, deps: ExecutorDeps): readonly string[] {
  return deps.dispatcher.rule(job.rule)?.tags ?? [];
}

/**
 * Compresses the file into a private staging file (in the workers, reading the source once and
 * checking it is still the content the plan saw), uploads that, and verifies the destination against
 * the compressed bytes. The record keeps the source's hash, so the next plan sees it in place.
 */
async function uploadCompressed(
  job: Job,
  codec: Exclude<Encoding, 'identity'>,
  dest: Destination,
  abs: string,
  file: LocalFile,
  opts: TransferOpts,
  deps: ExecutorDeps,
): Promise<JobResult> {
  await mkdir(deps.stagingDir, { recursive: true, mode: 0o700 });
  const staged = join(deps.stagingDir, `${job.id}-${randomBytes(6).toString('hex')}${ENCODING_SUFFIX[codec]}`);
  try {
    const r = await deps.workers.compress({
      src: abs,
      dst: staged,
      codec,
      kinds: [...dest.features.hashes],
      expectSha256: file.hashes.sha256,
    });
    if (!r.ok) {
      // ENOENT may name the staging folder too: only a source the rehash cannot find is gone.
      if (r.code === 'ENOENT' && !(await deps.rehash(job.folder, job.path)))
        return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
      if (r.code === 'ECHANGED') {
        const fresh = await deps.rehash(job.folder, job.path);
        if (!fresh) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
        throw new FerryError('source-changed', 'source-changed', `${job.path} changed while it was being compressed`);
      }
      throw fsError(Object.assign(new Error(r.message), { code: r.code }), `cannot compress ${abs}`, {
        folder: job.folder,
        path: job.path,
      });
    }
    const sent: Sent = { size: r.size, hashes: r.hashes, encoding: codec };
    const entry = await dest.upload(
      job.remotePath as string,
      {
        absPath: staged,
        size: r.size,
        mtimeMs: Number(file.mtimeNs / 1_000_000n),
        hashes: r.hashes,
        tags: tagsOf(job, deps),
      },
      opts,
    );
    verify(job, sent, entry);
    deps.store.shipped.put(record(job, file, entry, sent));
    return { outcome: 'done', bytes: r.size, note: `${codec}: ${file.size} → ${r.size} bytes` };
  } finally {
    await rm(staged, { force: true });
  }
}

/**
 * Many small uploads to one destination as one unit of work (see BatchUpload). Each job still
 * succeeds or fails on its own: the result list holds a JobResult (with the record to write) or the
 * job's error.
 */
export async function executeUploadBatch(
  jobs: readonly Job[],
  dest: Destination & BatchUpload,
  opts: TransferOpts,
  deps: ExecutorDeps,
): Promise<(JobResult | FerryError)[]> {
  const out: (JobResult | FerryError)[] = jobs.map(() => ({ outcome: 'skipped', bytes: 0, note: 'the file is gone' }));
  const sendable: { index: number; job: Job; file: LocalFile }[] = [];
  for (const [index, job] of jobs.entries()) {
    const indexed = deps.store.index.get(job.folder, job.path);
    if (!indexed) continue;
    try {
      const file = await readable(job, dest, indexed, true, deps);
      if (file) sendable.push({ index, job, file });
    } catch (err) {
      out[index] = err instanceof FerryError ? err : fsError(err, `cannot read ${job.path}`);
    }
  }
  for (const { job } of sendable) await keepVersionOf(job, dest, 'replaced', deps, opts.signal);
  const results = await dest.uploadBatch(
    sendable.map(({ job, file }) => ({
      path: job.remotePath as string,
      source: { ...sourceOf(folderPath(job, deps), file, deps), tags: tagsOf(job, deps) },
    })),
    opts,
  );
  for (const [k, { index, job, file }] of sendable.entries()) {
    const r = results[k];
    if (r === undefined || r instanceof FerryError) {
      out[index] = r ?? new FerryError('permanent', 'no-result', `${job.remotePath}: the destination gave no result`);
      if (r instanceof FerryError && r.kind === 'source-changed' && !(await relearn(job, file, deps)))
        out[index] = { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
      continue;
    }
    killPoint('published', job.remotePath as string);
    let sent: LocalFile;
    try {
      sent = readWhileSent(job, file, r);
      verify(job, sent, r);
    } catch (err) {
      out[index] = err as FerryError;
      continue;
    }
    out[index] = {
      outcome: 'done',
      bytes: sent.size,
      shipped: record(job, sent, r),
      ...(sent !== file ? { learnt: sent } : {}),
    };
  }
  return out;
}

async function serverSide(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
  const dest = destinationOf(job, deps);
  const file = deps.store.index.get(job.folder, job.path);
  if (!file) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
  const from = job.fromRemotePath as string;
  const to = job.remotePath as string;
  const fromRecord = deps.store.shipped.get(job.destination as string, from);
  if (!fromRecord || fromRecord.sha256 !== file.hashes.sha256) return upload(job, opts, deps);
  // The copy there must still be the one Ferry shipped: another writer's replacement is neither carried
  // under the new name (as if it were this file) nor taken away from its own; the bytes are sent instead.
  // Looked at just before the move, which GCS's source-generation precondition then holds to.
  if (fromRecord.remoteVersion && canRead(dest)) {
    const there = await dest.stat(from, opts.signal);
    if (!there) return upload(job, opts, deps);
    if (!(await stillShipped(dest, there, fromRecord, deps.stagingDir, opts.signal))) {
      if (job.kind === 'move-remote') deps.store.shipped.delete(job.destination as string, from);
      return upload(job, opts, deps);
    }
  }
  let entry: RemoteEntry;
  try {
    if (job.kind === 'move-remote' && canMove(dest)) entry = await dest.move(from, to, opts.signal);
    else if (canCopy(dest)) entry = await dest.copy(from, to, opts.signal);
    else return upload(job, opts, deps);
  } catch (err) {
    // The old copy went missing behind our back, the server cannot copy this one (too large, say), or
    // it will not copy over a file at the new path (Dropbox never does): send the bytes after all; the
    // upload makes its own checks before it replaces anything.
    if (err instanceof FerryError && (err.kind === 'not-found' || err.kind === 'permanent' || err.kind === 'conflict'))
      return upload(job, opts, deps);
    throw err;
  }
  verify(job, file, entry);
  deps.store.transaction(() => {
    if (job.kind === 'move-remote') deps.store.shipped.delete(job.destination as string, from);
    deps.store.shipped.put(record(job, file, entry));
  });
  return {
    outcome: 'done',
    bytes: 0,
    note: `${job.kind === 'move-remote' ? 'moved' : 'copied'} on the destination from ${from}`,
  };
}

/**
 * A kept copy (backup, move) moves aside at the destination, so that a file or a folder of its name can
 * be written there (plan/keptAside.ts): renamed, never deleted, never over anything; its record follows
 * it while it holds what Ferry sent.
 */
async function keepAside(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
  const dest = fullDestinationOf(job, deps, 'move a kept copy aside');
  if (job.detail?.tree === true) return keepTreeAside(job, dest, opts, deps);
  const from = job.remotePath as string;
  const to = job.detail?.conflictPath;
  if (to === undefined) throw new FerryError('permanent', 'bad-job', `${from}: a set-aside job without its new name`);
  const rec = deps.store.shipped.get(dest.id, from);
  const there = await dest.stat(from, opts.signal);
  if (!there) {
    if (rec) deps.store.shipped.delete(dest.id, from);
    return { outcome: 'skipped', bytes: 0, note: 'nothing there any more' };
  }
  if (await dest.stat(to, opts.signal))
    throw new FerryError('conflict', 'conflict-name-taken', `${to} appeared at the destination`, {
      context: { destination: dest.id, path: from },
      hint: 'the next sync picks another name for the kept copy',
    });
  const entry = await renameRemote(dest, from, to, opts.signal);
  deps.store.transaction(() => {
    deps.store.shipped.delete(dest.id, from);
    // Another writer's file there moved as well (a rename loses nothing), but it is not Ferry's copy.
    if (rec && there.size === rec.size && entry.size === rec.size)
      deps.store.shipped.put({ ...rec, remotePath: to, remoteVersion: entry.version ?? null });
  });
  return { outcome: 'done', bytes: 0, note: `kept at ${to}` };
}

/** A folder of kept copies moves aside whole, in one rename; their records follow. */
async function keepTreeAside(
  job: Job,
  dest: FullDestination,
  opts: TransferOpts,
  deps: ExecutorDeps,
): Promise<JobResult> {
  const from = job.fromRemotePath as string;
  const to = job.remotePath as string;
  if (!canMove(dest))
    throw new FerryError('permanent', 'cannot-move', `${from}: destination "${dest.id}" cannot rename folders`, {
      context: { destination: dest.id, path: from },
      hint: 'move or rename that folder at the destination yourself, then sync again',
    });
  if (await dest.stat(to, opts.signal))
    throw new FerryError('conflict', 'conflict-name-taken', `${to} appeared at the destination`, {
      context: { destination: dest.id, path: from },
      hint: 'the next sync looks again and picks another name for the kept folder',
    });
  try {
    await dest.move(from, to, opts.signal);
  } catch (err) {
    if (err instanceof FerryError && err.kind === 'not-found')
      return { outcome: 'skipped', bytes: 0, note: 'nothing there any more' };
    throw err;
  }
  deps.store.transaction(() => {
    for (const r of deps.store.shipped.below(dest.id, from)) {
      deps.store.shipped.delete(dest.id, r.remotePath);
      deps.store.shipped.put({ ...r, remotePath: to + r.remotePath.slice(from.length) });
    }
  });
  return { outcome: 'done', bytes: 0, note: `kept at ${to}` };
}

async function deleteRemote(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
  const dest = fullDestinationOf(job, deps, 'delete files');
  if (job.detail?.leftBehind === true) return removeLeftBehind(job, dest, opts, deps);
  // The plan said the source is gone; make sure it still is before removing the only other copy.
  // A folder there now, or a file where one of its folders was (ENOTDIR): the name changed kind, the
  // file is not back.
  const exists = await lstat(fsPath(folderPath(job, deps))).then(
    (st) => !st.isDirectory(),
    (err: NodeJS.ErrnoException) => err.code !== 'ENOENT' && err.code !== 'ENOTDIR',
  );
  if (exists) return { outcome: 'skipped', bytes: 0, note: 'the file is back locally' };
  const remotePath = job.remotePath as string;
  // Only what Ferry put there goes: a copy another writer replaced since Ferry shipped it is theirs now
  // (Dropbox's update mode refuses to overwrite it for the same reason). Looked at just before the delete,
  // which a destination with generations (GCS) then makes conditional on this very version.
  const rec = deps.store.shipped.get(job.destination as string, remotePath);
  if (rec?.remoteVersion) {
    const there = await dest.stat(remotePath, opts.signal);
    if (there && !(await stillShipped(dest, there, rec, deps.stagingDir, opts.signal))) {
      deps.store.shipped.delete(job.destination as string, remotePath);
      return {
        outcome: 'skipped',
        bytes: 0,
        note: 'changed at the destination since Ferry shipped it: kept there, no longer mirrored',
      };
    }
  }
  const kept = await keepVersionOf(job, dest, 'deleted', deps, opts.signal);
  if (!movedAside(kept)) await dest.delete(remotePath, opts.signal);
  deps.store.shipped.delete(job.destination as string, remotePath);
  return { outcome: 'done', bytes: 0, ...(kept ? { note: `kept as a version (${kept.location})` } : {}) };
}

/**
 * A copy a rules change left behind, removed at the person's request: only while the file is still in
 * the folder with the copy's content, read again now, so that the copy is never the only one.
 */
async function removeLeftBehind(
  job: Job,
  dest: FullDestination,
  opts: TransferOpts,
  deps: ExecutorDeps,
): Promise<JobResult> {
  const file = await deps.rehash(job.folder, job.path).catch(() => undefined);
  if (!file) return { outcome: 'skipped', bytes: 0, note: 'the file is no longer in the folder: its copy stays' };
  if (file.hashes.sha256 !== job.sha256)
    return { outcome: 'skipped', bytes: 0, note: 'the file changed since it was copied: the copy stays' };
  await dest.delete(job.remotePath as string, opts.signal);
  deps.store.shipped.delete(job.destination as string, job.remotePath as string);
  return { outcome: 'done', bytes: 0 };
}

async function deleteLocal(job: Job, deps: ExecutorDeps): Promise<JobResult> {
  const file = deps.store.index.get(job.folder, job.path);
  if (!file) return { outcome: 'skipped', bytes: 0, note: 'nothing to remove' };
  // Every move rule that catches this file must have its quorum of copies, not just the job's rule.
  const movers = deps.dispatcher.catching(job.folder, file, Date.now()).filter((r) => r.mode === 'move');
  if (movers.length === 0) return { outcome: 'skipped', bytes: 0, note: 'no move rule catches it any more' };
  const records = deps.store.shipped.forSource(job.folder, job.path);
  for (const rule of movers) {
    const needed = rule.safe_when ?? rule.to.length;
    const missing: string[] = [];
    let copies = 0;
    for (const destId of rule.to) {
      if (copies >= needed) break;
      if (await verifiedOn(destId, rule, file, records, deps)) copies++;
      else missing.push(destId);
    }
    if (copies < needed)
      return {
        outcome: 'skipped',
        bytes: 0,
        note: `${copies} of ${needed} required verified copies (not on ${missing.join(', ')}): the file stays`,
      };
  }
  const abs = folderPath(job, deps);
  const st = await lstat(fsPath(abs), { bigint: true }).catch(() => undefined);
  if (!st) return { outcome: 'skipped', bytes: 0, note: 'already removed' };
  if (
    st.size !== BigInt(file.size) ||
    st.mtimeNs !== file.mtimeNs ||
    st.ino !== file.ino ||
    (file.ctimeNs !== undefined && st.ctimeNs !== file.ctimeNs)
  )
    return { outcome: 'skipped', bytes: 0, note: 'changed since it was shipped: the file stays' };
  try {
    await unlink(fsPath(abs));
  } catch (err) {
    throw fsError(err, `cannot remove ${abs} after shipping it`, { folder: job.folder, path: job.path });
  }
  deps.store.index.removeMany(job.folder, [job.path]);
  return { outcome: 'done', bytes: 0 };
}

/** A verified copy of this content, as this rule sends it, that the destination still holds. */
async function verifiedOn(
  destId: string,
  rule: CompiledRule,
  file: LocalFile,
  records: readonly ShippedRecord[],
  deps: ExecutorDeps,
): Promise<boolean> {
  // Only a copy at the path the rule sends this very file to counts: a record of another path (an old
  // template, a name another file now claims) vouches for nothing the person will look for.
  let wanted: string;
  try {
    wanted = targetPathOf(rule, file);
  } catch {
    return false;
  }
  const rec = records.find(
    (r) =>
      r.destination === destId &&
      r.rule === rule.name &&
      r.remotePath === wanted &&
      r.sha256 === file.hashes.sha256 &&
      r.encoding === (rule.compress ?? 'identity'),
  );
  const dest = deps.destinations.get(destId);
  if (!rec || !dest || !canRead(dest)) return false;
  // A destination that cannot answer does not count: the source is the only copy we can vouch for.
  const there = await dest.stat(rec.remotePath).catch(() => undefined);
  if (there === undefined || there.partial || there.size !== rec.size) return false;
  // What the destination vouches for must be these bytes, not another file's of the same size.
  if (rec.encoding === 'identity') {
    const cmp = commonHash(there, file.hashes);
    if (cmp && !cmp.matches) return false;
  }
  if (there.version !== undefined && rec.remoteVersion !== null && there.version !== rec.remoteVersion) return false;
  return true;
}
