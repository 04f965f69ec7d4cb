import { createReadStream } from 'node:fs';
import { lstat, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { FerryError } from '../../../shared/errors';
import type { LocalFile } from '../../../shared/models';
import { conflictName } from '../plan/twoWay';
import {
  canCopy,
  canMove,
  canTrash,
  type FullDestination,
  type RemoteEntry,
  type TransferOpts,
} from '../providers/types';
import { TRASH_DIR } from '../scan/ignoreRules';
import { MultiHash } from '../scan/multiHash';
import { moveToTrash } from '../sync/trash';
import type { Job } from '../store/jobStore';
import type { Store } from '../store/store';
import { downloadInto, unsafeLocalPath } from './safeDownload';

/** What a two-way job needs: its destination, its folder's root, and the one-way upload it builds on. */
export type TwoWayDeps = {
  store: Store;
  destination: FullDestination;
  root: string;
  upload: (job: Job) => Promise<{ outcome: 'done' | 'skipped'; bytes: number; note?: string }>;
  /** Hashes one local file and indexes it (a conflicted copy made here, before it is sent). */
  rehash: (folder: string, path: string) => Promise<LocalFile | undefined>;
  /** Keeps the destination's copy as a version instead of deleting it (where the rule keeps versions). */
  keepDeleted?: (job: Job) => Promise<{ location: string } | undefined>;
};

type Result = { outcome: 'done' | 'skipped'; bytes: number; note?: string };

const abs = (root: string, path: string) => join(root, ...path.split('/'));

async function sha256Of(file: string): Promise<string | null> {
  try {
    const h = new MultiHash();
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
    return h.digest().sha256;
  } catch (err) {
    // ENOTDIR: a folder on its path is a file now; EISDIR: a folder stands at it. No file either way.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw err;
  }
}

const exists = (file: string) =>
  lstat(file).then(
    () => true,
    () => false,
  );

/** A name beside `path` for the other side's version, free on this disk. */
async function freeConflictName(root: string, path: string, wanted: string | undefined): Promise<string> {
  if (wanted && !(await exists(abs(root, wanted)))) return wanted;
  const taken = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const name = conflictName(path, hostname(), new Date(), (p) => taken.has(p));
    if (!(await exists(abs(root, name)))) return name;
    taken.add(name);
  }
  throw new FerryError('conflict', 'conflict-name-taken', `no free name for a conflicted copy of ${path}`);
}

/** Records in the base what the destination now holds at `path` (after an upload): the shipped record says. */
function recordUploaded(job: Job, deps: TwoWayDeps): void {
  const rec = deps.store.shipped.get(deps.destination.id, job.remotePath as string);
  if (rec)
    deps.store.base.put(job.rule, {
      path: job.path,
      sha256: rec.sha256,
      size: rec.size,
      remoteVersion: rec.remoteVersion,
    });
}

/**
 * A conflicted copy made here goes to the destination in the same pass, under its own name: an upload
 * job added to the running pass (with its own retries and failure report), so that the pass ends, and
 * says all is in place, only once both versions are on both sides.
 */
async function sendConflictedCopy(
  job: Job,
  path: string,
  deps: TwoWayDeps,
  reason = `conflicted copy of ${job.path}`,
): Promise<void> {
  const file = await deps.rehash(job.folder, path);
  if (!file) return; // gone again already: nothing to send
  deps.store.jobs.add({
    kind: 'upload',
    rule: job.rule,
    folder: job.folder,
    destination: deps.destination.id,
    path,
    remotePath: path,
    size: file.size,
    sha256: file.hashes.sha256,
    reason,
    // Only where nothing is: another computer's file under that name is never replaced.
    detail: { remoteVersion: null },
  });
}

/**
 * The jobs of two-way rules. Each re-checks its premise when it runs (the plan may be minutes old):
 * nothing local is replaced unless it is still what the plan saw, nothing remote is deleted unless it
 * is still the version the plan saw, and the base is written only once both sides agree.
 */
export async function executeTwoWay(job: Job, opts: TransferOpts, deps: TwoWayDeps): Promise<Result> {
  const dest = deps.destination;
  const remotePath = job.remotePath ?? job.path;
  const upload = async (j: Job): Promise<Result> => {
    await remoteStillAsPlanned(dest, remotePath, j, opts.signal);
    return deps.upload(j);
  };
  switch (job.kind) {
    case 'upload': {
      if (!(await remoteHoldsBase(job, deps, opts.signal))) {
        // Its base no longer describes the destination: the next pass sees both sides new and keeps both.
        deps.store.base.delete(job.rule, job.path);
        throw new FerryError(
          'conflict',
          'remote-changed',
          `${remotePath}: the destination's copy is not the one last synced, though its size and time are`,
          {
            context: { destination: dest.id, remotePath },
            hint: 'another computer wrote it within the same second; the next pass keeps both versions',
          },
        );
      }
      const r = await upload(job);
      if (r.outcome === 'done') recordUploaded(job, deps);
      return r;
    }
    case 'download': {
      const got = await downloadInto({
        temp: deps.store.temp,
        dest,
        remotePath,
        root: deps.root,
        path: job.path,
        replaces: job.detail?.replaces ?? null,
        conflictPath: (p) => conflictName(p, hostname(), new Date(), () => false),
        ...(job.detail?.expect ? { expect: job.detail.expect } : {}),
        opts,
      });
      // Landed as a conflicted copy (the local file changed meanwhile): the copy goes out in this pass,
      // the local change (made during the pass) in the next.
      if (got.conflicted) await sendConflictedCopy(job, got.path, deps);
      else
        deps.store.base.put(job.rule, {
          path: job.path,
          sha256: got.hashes.sha256,
          size: got.size,
          remoteVersion: got.entry.version ?? job.detail?.remoteVersion ?? null,
        });
      return { outcome: 'done', bytes: got.size, ...(got.conflicted ? { note: `kept beside as ${got.path}` } : {}) };
    }
    case 'conflict': {
      // The other side's version comes home beside ours (unless it is the same content), then ours goes out.
      const local = abs(deps.root, job.path);
      const mine = await sha256Of(local);
      const other = await freeConflictName(deps.root, job.path, job.detail?.conflictPath);
      const got = await downloadInto({
        temp: deps.store.temp,
        dest,
        remotePath,
        root: deps.root,
        path: other,
        replaces: null,
        conflictPath: () => {
          throw new FerryError('conflict', 'conflict-name-taken', `${other} appeared while it was downloaded`);
        },
        opts,
      });
      if (got.hashes.sha256 === mine) {
        // Same content after all: one file, agreed.
        await unlink(abs(deps.root, other));
        deps.store.base.put(job.rule, {
          path: job.path,
          sha256: got.hashes.sha256,
          size: got.size,
          remoteVersion: got.entry.version ?? job.detail?.remoteVersion ?? null,
        });
        return { outcome: 'done', bytes: got.size, note: 'both sides held the same content' };
      }
      await sendConflictedCopy(job, other, deps);
      if (mine === null)
        return { outcome: 'done', bytes: got.size, note: `kept as ${other}; ${job.path} is gone here` };
      const r = await upload({
        ...job,
        kind: 'upload',
        sha256: mine,
        detail: { ...job.detail, remoteVersion: got.entry.version ?? job.detail?.remoteVersion ?? null },
      });
      if (r.outcome === 'done') recordUploaded(job, deps);
      return { outcome: 'done', bytes: got.size + r.bytes, note: `conflict: their version kept as ${other}` };
    }
    case 'trash-local': {
      const file = abs(deps.root, job.path);
      const now = await sha256Of(file);
      if (now === null) {
        deps.store.base.delete(job.rule, job.path);
        return { outcome: 'skipped', bytes: 0, note: 'already gone here' };
      }
      // Changed since the plan: the change wins over the deletion (the next pass ships it).
      if (now !== job.sha256) return { outcome: 'skipped', bytes: 0, note: 'changed here since: kept' };
      const day = moveToTrash(deps.root, job.path);
      deps.store.base.delete(job.rule, job.path);
      return { outcome: 'done', bytes: 0, note: `moved to ${TRASH_DIR}/${day}` };
    }
    case 'delete-remote': {
      const there = await dest.stat(remotePath, opts.signal);
      const planned = job.detail?.remoteVersion ?? null;
      // Changed there since the plan: the change wins (the next pass brings it home).
      if (there && planned !== null && there.version !== undefined && there.version !== planned)
        return { outcome: 'skipped', bytes: 0, note: 'changed at the destination since: kept' };
      if (!there) {
        deps.store.shipped.delete(dest.id, remotePath);
        deps.store.base.delete(job.rule, job.path);
        return { outcome: 'skipped', bytes: 0, note: 'already gone at the destination' };
      }
      if (!(await remoteHoldsBase(job, deps, opts.signal))) {
        deps.store.base.delete(job.rule, job.path);
        return { outcome: 'skipped', bytes: 0, note: 'changed at the destination since: kept' };
      }
      let where: string | undefined = (await deps.keepDeleted?.(job))?.location;
      if (where !== undefined) where = `${where} (a version)`;
      else if (canTrash(dest)) where = await dest.trash(remotePath, opts.signal);
      else await dest.delete(remotePath, opts.signal);
      deps.store.shipped.delete(dest.id, remotePath);
      deps.store.base.delete(job.rule, job.path);
      return { outcome: 'done', bytes: 0, ...(where !== undefined ? { note: `moved to ${where}` } : {}) };
    }
    case 'move-remote': {
      const from = job.fromRemotePath as string;
      // Another writer's version at `from` must not travel under the new name as if it were the base's
      // (the base would then vouch for content this side never had), nor may the move replace a file
      // that appeared at the new name. Either is left where it is: the next pass compares both sides
      // again and keeps both. Destinations whose moves are conditional themselves (GCS's
      // ifSourceGenerationMatch) are then held to the versions looked at here.
      if (job.detail && 'fromVersion' in job.detail) {
        const planned = job.detail.fromVersion ?? null;
        const there = await dest.stat(from, opts.signal);
        if (!there) return { outcome: 'skipped', bytes: 0, note: `${from} is gone at the destination` };
        if (planned !== null && there.version !== undefined && there.version !== planned)
          return { outcome: 'skipped', bytes: 0, note: `${from} changed at the destination since: kept` };
        if (await dest.stat(remotePath, opts.signal))
          return { outcome: 'skipped', bytes: 0, note: `${remotePath} appeared at the destination since: kept` };
      }
      let entry;
      if (canMove(dest)) entry = await dest.move(from, remotePath, opts.signal);
      else if (canCopy(dest)) {
        entry = await dest.copy(from, remotePath, opts.signal);
        await dest.delete(from, opts.signal);
      } else {
        const r = await deps.upload({ ...job, kind: 'upload' });
        await dest.delete(from, opts.signal);
        deps.store.base.delete(job.rule, from);
        recordUploaded(job, deps);
        return r;
      }
      deps.store.base.move(job.rule, from, job.path);
      const base = deps.store.base.forRule(job.rule).get(job.path);
      if (base) deps.store.base.put(job.rule, { ...base, remoteVersion: entry.version ?? null });
      return { outcome: 'done', bytes: 0 };
    }
    case 'move-local': {
      const from = job.fromRemotePath as string;
      const problem = unsafeLocalPath(job.path);
      if (problem)
        throw new FerryError('invalid-name', 'unsafe-remote-name', `"${job.path}" is not applied here: ${problem}`);
      const base = deps.store.base.forRule(job.rule).get(from);
      const src = abs(deps.root, from);
      const dst = abs(deps.root, job.path);
      // Only the file the base knows moves, and never over another.
      if (!base || (await sha256Of(src)) !== base.sha256 || (await exists(dst)))
        return { outcome: 'skipped', bytes: 0, note: 'changed here since: the next pass decides' };
      await mkdir(dirname(dst), { recursive: true });
      await rename(src, dst);
      const there = await dest.stat(remotePath, opts.signal);
      deps.store.base.move(job.rule, from, job.path);
      deps.store.base.put(job.rule, { ...base, path: job.path, remoteVersion: there?.version ?? null });
      return { outcome: 'done', bytes: 0 };
    }
    case 'set-aside':
      return setAside(job, opts, deps);
    case 'copy-remote':
    case 'delete-local':
      throw new FerryError('permanent', 'not-two-way', `a ${job.kind} job has no place in a two-way rule`);
  }
}

/**
 * A file stands where a folder of the same name is needed: it moves to a conflicted-copy name on the
 * side(s) the plan saw it on, never over another file, and goes to the other side in this pass (a job
 * added to it). Whatever the file holds now moves: a rename loses nothing. A file gone since is skipped.
 */
async function setAside(job: Job, opts: TransferOpts, deps: TwoWayDeps): Promise<Result> {
  const dest = deps.destination;
  const side = job.detail?.aside;
  const wanted = job.detail?.conflictPath;
  if (side === undefined || wanted === undefined)
    throw new FerryError('permanent', 'bad-job', `${job.path}: a set-aside job without its new name`);
  const moved: string[] = [];
  let localName: string | undefined;
  let remoteEntry: { name: string; entry: RemoteEntry } | undefined;
  if (side !== 'remote') {
    const src = abs(deps.root, job.path);
    const st = await lstat(src).catch(() => undefined);
    if (st?.isFile()) {
      localName = await freeConflictName(deps.root, job.path, wanted);
      await rename(src, abs(deps.root, localName));
      moved.push(`here to ${localName}`);
    }
  }
  if (side !== 'local') {
    const there = await dest.stat(job.path, opts.signal);
    if (there) {
      const name = await freeRemoteName(dest, job.path, localName ?? wanted, opts.signal);
      try {
        const entry = await renameRemote(dest, job.path, name, opts.signal);
        remoteEntry = { name, entry };
        moved.push(`at the destination to ${name}`);
      } catch (err) {
        // The server would not rename it (s3rver misreads an encoded copy source with ";" or "#"; some
        // servers refuse MOVE): when only the destination holds it, its bytes come home under the new
        // name first, then the old one is removed and the new one sent. Otherwise the job fails.
        if (side !== 'remote' || opts.signal.aborted || !(await dest.stat(job.path, opts.signal))) throw err;
        const local = await freeConflictName(deps.root, job.path, name);
        await downloadInto({
          temp: deps.store.temp,
          dest,
          remotePath: job.path,
          root: deps.root,
          path: local,
          replaces: null,
          conflictPath: () => {
            throw new FerryError('conflict', 'conflict-name-taken', `${local} appeared while it was downloaded`);
          },
          opts,
        });
        await dest.delete(job.path, opts.signal);
        localName = local;
        moved.push(`home to ${local}, then removed at the destination`);
      }
      deps.store.shipped.delete(dest.id, job.path);
    }
  }
  const base = deps.store.base.get(job.rule, job.path);
  deps.store.base.delete(job.rule, job.path);
  if (localName !== undefined && remoteEntry !== undefined && localName === remoteEntry.name && base)
    // The same file on both sides, renamed alike: the base follows it.
    deps.store.base.put(job.rule, { ...base, path: localName, remoteVersion: remoteEntry.entry.version ?? null });
  const why = `moved aside from ${job.path}: a folder needs that name`;
  if ((side === 'local' || remoteEntry === undefined) && localName !== undefined)
    await sendConflictedCopy(job, localName, deps, why);
  if (side === 'remote' && remoteEntry !== undefined)
    deps.store.jobs.add({
      kind: 'download',
      rule: job.rule,
      folder: job.folder,
      destination: dest.id,
      path: remoteEntry.name,
      remotePath: remoteEntry.name,
      size: remoteEntry.entry.size,
      reason: why,
      // Only where nothing is here: a local file under that name is never replaced.
      detail: {
        replaces: null,
        remoteVersion: remoteEntry.entry.version ?? null,
        expect: { size: remoteEntry.entry.size },
      },
    });
  if (moved.length === 0) return { outcome: 'skipped', bytes: 0, note: 'no file there any more' };
  return { outcome: 'done', bytes: 0, note: `moved ${moved.join(' and ')}` };
}

/** A server-side rename (or copy and delete) of a file; `permanent` when the destination has neither. */
export async function renameRemote(
  dest: FullDestination,
  from: string,
  to: string,
  signal: AbortSignal,
): Promise<RemoteEntry> {
  if (canMove(dest)) return dest.move(from, to, signal);
  if (canCopy(dest)) {
    const entry = await dest.copy(from, to, signal);
    await dest.delete(from, signal);
    return entry;
  }
  throw new FerryError('permanent', 'cannot-move', `${from}: destination "${dest.id}" cannot rename files`, {
    hint: 'rename the file or the folder of the same name on one side',
  });
}

/** A conflicted-copy name beside `path` that the destination does not hold (`wanted` when free). */
async function freeRemoteName(
  dest: FullDestination,
  path: string,
  wanted: string,
  signal: AbortSignal,
): Promise<string> {
  if (!(await dest.stat(wanted, signal))) return wanted;
  const taken = new Set<string>([wanted]);
  for (let i = 0; i < 50; i++) {
    const name = conflictName(path, hostname(), new Date(), (p) => taken.has(p));
    if (!(await dest.stat(name, signal))) return name;
    taken.add(name);
  }
  throw new FerryError('conflict', 'conflict-name-taken', `no free name at the destination beside ${path}`);
}

/**
 * Whether the destination's file still holds the base's content, before a two-way job replaces or
 * deletes it. Where versions change with every write this is what the version compare already says;
 * where they are only size and mtime (features.versionPerWrite absent), another computer's edit of the
 * same size within the mtime's resolution looks unchanged, so the file is read back and hashed.
 */
async function remoteHoldsBase(job: Job, deps: TwoWayDeps, signal: AbortSignal): Promise<boolean> {
  if (deps.destination.features.versionPerWrite === true) return true;
  // Nothing was there when the plan looked. A missing version token is no such proof: no version is the
  // weakest version (nginx sends no getetag), and jobs queued before remoteSize existed are read back too.
  if (job.kind === 'upload' && job.detail?.remoteSize === null) return true;
  const base = deps.store.base.get(job.rule, job.path);
  if (!base) return true;
  await mkdir(deps.store.stagingDir, { recursive: true });
  const copy = join(deps.store.stagingDir, deps.store.temp.fileName('check-'));
  try {
    await deps.destination.download(job.remotePath ?? job.path, copy, { signal });
    return (await sha256Of(copy)) === base.sha256;
  } catch (err) {
    if (err instanceof FerryError && err.kind === 'not-found') return true; // gone: nothing to lose
    throw err;
  } finally {
    await rm(copy, { force: true });
  }
}

/**
 * An upload replaces only the destination's version the plan saw. Destinations that write
 * conditionally check that themselves, atomically; for the others it is compared here, just before
 * the upload, which leaves only the upload's own duration for another writer to slip in.
 */
async function remoteStillAsPlanned(dest: FullDestination, remotePath: string, job: Job, signal: AbortSignal) {
  if (dest.features.conditionalWrites === true || !job.detail || !('remoteVersion' in job.detail)) return;
  const planned = job.detail.remoteVersion ?? null;
  const there = await dest.stat(remotePath, signal);
  // Without version tokens, what can still be compared is whether a file is there, and its size.
  const plannedSize = job.detail.remoteSize;
  if (there && there.version === undefined && plannedSize !== undefined && there.size === plannedSize) return;
  const now = there === undefined ? null : there.version;
  if (now === planned || (now === undefined && plannedSize === undefined)) return;
  throw new FerryError(
    'conflict',
    'remote-changed',
    `${remotePath}: the destination's copy changed since it was compared`,
    {
      context: { destination: dest.id, remotePath },
      hint: 'another writer changed it; the next pass compares both sides again and keeps both versions if they differ',
    },
  );
}
