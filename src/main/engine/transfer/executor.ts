import { lstat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderConfig, RuleConfig } from '../../../shared/config';
import { assertNever, FerryError } from '../../../shared/errors';
import type { LocalFile } from '../../../shared/models';
import { fsError } from '../providers/fsErrors';
import { compileRule } from '../rules/ruleMatcher';
import {
  type BatchUpload,
  canCopy,
  canMove,
  commonHash,
  type Destination,
  type RemoteEntry,
  type TransferOpts,
} from '../providers/types';
import type { Job } from '../store/jobStore';
import type { ShippedRecord } from '../store/shippedStore';
import type { Store } from '../store/store';

export type ExecutorDeps = {
  store: Store;
  destinations: ReadonlyMap<string, Destination>;
  folders: ReadonlyMap<string, FolderConfig>;
  rules: ReadonlyMap<string, RuleConfig>;
  /** Hashes one local file again and updates the index (after it changed under us). */
  rehash: (folder: string, path: string) => Promise<LocalFile | undefined>;
};

/** What running a job came to, besides an error. `skipped` jobs are settled without a transfer. */
export type JobResult = { outcome: 'done' | 'skipped'; bytes: number; note?: string };

/** Runs one job against its destination and records what it achieved. Throws a FerryError on failure. */
export async function executeJob(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
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
    default:
      return assertNever(job.kind, 'job kind');
  }
}

function destinationOf(job: Job, deps: ExecutorDeps): Destination {
  const d = job.destination === undefined ? undefined : deps.destinations.get(job.destination);
  if (!d)
    throw new FerryError('permanent', 'destination-gone', `destination "${job.destination}" is no longer configured`);
  return d;
}

function folderPath(job: Job, deps: ExecutorDeps): string {
  const f = deps.folders.get(job.folder);
  if (!f) throw new FerryError('permanent', 'folder-gone', `folder "${job.folder}" is no longer configured`);
  return join(f.path, ...job.path.split('/'));
}

function record(job: Job, file: LocalFile, entry: RemoteEntry): ShippedRecord {
  return {
    destination: job.destination as string,
    remotePath: job.remotePath as string,
    rule: job.rule,
    folder: job.folder,
    path: job.path,
    size: file.size,
    sha256: file.hashes.sha256,
    remoteVersion: entry.version ?? null,
    shippedAt: Date.now(),
  };
}

/** The destination's word on what it holds must agree with ours: by hash where it gives one, else by size. */
function verify(job: Job, file: LocalFile, entry: RemoteEntry): void {
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
  const file = deps.store.index.get(job.folder, job.path);
  if (!file) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
  let entry: RemoteEntry;
  try {
    entry = await dest.upload(
      job.remotePath as string,
      { absPath: abs, size: file.size, mtimeMs: Number(file.mtimeNs / 1_000_000n), hashes: file.hashes },
      opts,
    );
  } catch (err) {
    if (err instanceof FerryError && err.kind === 'source-changed') {
      // Learn the file's new content now, so the retry ships (and verifies) that.
      const fresh = await deps.rehash(job.folder, job.path);
      if (!fresh) return { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
    }
    throw err;
  }
  verify(job, file, entry);
  deps.store.shipped.put(record(job, file, entry));
  return { outcome: 'done', bytes: file.size };
}

/**
 * Many small uploads to one destination as one unit of work (see BatchUpload). Each job still
 * succeeds or fails on its own: the result list holds a JobResult or the job's error.
 */
export async function executeUploadBatch(
  jobs: readonly Job[],
  dest: Destination & BatchUpload,
  opts: TransferOpts,
  deps: ExecutorDeps,
): Promise<(JobResult | FerryError)[]> {
  const out: (JobResult | FerryError)[] = jobs.map(() => ({ outcome: 'skipped', bytes: 0, note: 'the file is gone' }));
  const sendable: { index: number; job: Job; file: LocalFile }[] = [];
  jobs.forEach((job, index) => {
    const file = deps.store.index.get(job.folder, job.path);
    if (file) sendable.push({ index, job, file });
  });
  const results = await dest.uploadBatch(
    sendable.map(({ job, file }) => ({
      path: job.remotePath as string,
      source: {
        absPath: folderPath(job, deps),
        size: file.size,
        mtimeMs: Number(file.mtimeNs / 1_000_000n),
        hashes: file.hashes,
      },
    })),
    opts,
  );
  const records: ShippedRecord[] = [];
  for (const [k, { index, job, file }] of sendable.entries()) {
    const r = results[k];
    if (r === undefined || r instanceof FerryError) {
      out[index] = r ?? new FerryError('permanent', 'no-result', `${job.remotePath}: the destination gave no result`);
      if (r instanceof FerryError && r.kind === 'source-changed' && !(await deps.rehash(job.folder, job.path)))
        out[index] = { outcome: 'skipped', bytes: 0, note: 'the file is gone' };
      continue;
    }
    try {
      verify(job, file, r);
    } catch (err) {
      out[index] = err as FerryError;
      continue;
    }
    records.push(record(job, file, r));
    out[index] = { outcome: 'done', bytes: file.size };
  }
  deps.store.transaction(() => {
    for (const rec of records) deps.store.shipped.put(rec);
  });
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
  let entry: RemoteEntry;
  try {
    if (job.kind === 'move-remote' && canMove(dest)) entry = await dest.move(from, to, opts.signal);
    else if (canCopy(dest)) entry = await dest.copy(from, to, opts.signal);
    else return upload(job, opts, deps);
  } catch (err) {
    // The old copy went missing behind our back: send the bytes after all.
    if (err instanceof FerryError && err.kind === 'not-found') return upload(job, opts, deps);
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

async function deleteRemote(job: Job, opts: TransferOpts, deps: ExecutorDeps): Promise<JobResult> {
  const dest = destinationOf(job, deps);
  // The plan said the source is gone; make sure it still is before removing the only other copy.
  const exists = await lstat(folderPath(job, deps)).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
  );
  if (exists) return { outcome: 'skipped', bytes: 0, note: 'the file is back locally' };
  await dest.delete(job.remotePath as string, opts.signal);
  deps.store.shipped.delete(job.destination as string, job.remotePath as string);
  return { outcome: 'done', bytes: 0 };
}

async function deleteLocal(job: Job, deps: ExecutorDeps): Promise<JobResult> {
  const file = deps.store.index.get(job.folder, job.path);
  if (!file) return { outcome: 'skipped', bytes: 0, note: 'nothing to remove' };
  // Every move rule that catches this file must have its copies in place, not just the job's rule.
  const movers = [...deps.rules.values()]
    .filter((r) => r.mode === 'move' && r.from.includes(job.folder))
    .map(compileRule)
    .filter((r) => r.matches(job.path));
  if (movers.length === 0) return { outcome: 'skipped', bytes: 0, note: 'no move rule catches it any more' };
  const records = deps.store.shipped.forSource(job.folder, job.path);
  for (const rule of movers)
    for (const destId of rule.to) {
      const rec = records.find(
        (r) => r.destination === destId && r.rule === rule.name && r.sha256 === file.hashes.sha256,
      );
      if (!rec) return { outcome: 'skipped', bytes: 0, note: `not yet verified on ${destId}: the file stays` };
      const dest = deps.destinations.get(destId);
      const there = dest ? await dest.stat(rec.remotePath) : undefined;
      if (!there || there.size !== file.size)
        return { outcome: 'skipped', bytes: 0, note: `not found on ${destId}: the file stays` };
    }
  const abs = folderPath(job, deps);
  const st = await lstat(abs, { bigint: true }).catch(() => undefined);
  if (!st) return { outcome: 'skipped', bytes: 0, note: 'already removed' };
  if (st.size !== BigInt(file.size) || st.mtimeNs !== file.mtimeNs || st.ino !== file.ino)
    return { outcome: 'skipped', bytes: 0, note: 'changed since it was shipped: the file stays' };
  try {
    await unlink(abs);
  } catch (err) {
    throw fsError(err, `cannot remove ${abs} after shipping it`, { folder: job.folder, path: job.path });
  }
  deps.store.index.removeMany(job.folder, [job.path]);
  return { outcome: 'done', bytes: 0 };
}
