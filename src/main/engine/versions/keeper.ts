import { versionPolicy } from '../../../shared/config';
import { FerryError } from '../../../shared/errors';
import { killPoint } from '../diagnostics/killPoint';
import {
  canLink,
  canMove,
  canRead,
  canRemove,
  type Destination,
  type FullDestination,
  keepsOwnVersions,
  type ServerSideMove,
} from '../providers/types';
import type { Dispatcher } from '../rules/dispatch';
import type { Job } from '../store/jobStore';
import type { Store } from '../store/store';
import type { VersionCause, VersionRecord } from '../store/versionStore';
import type { Clock } from './clock';
import { isVersionsArea, parseVersionLocation, versionLocation, VERSIONS_DIR } from './versionName';

/** A version the destination keeps itself is located by its own name for it: `rev:<revision>`. */
export const OWN_VERSION = 'rev:';

export type VersionPolicy = { keepMs: number; max?: number };

/** Destinations whose versions Ferry keeps itself, in `.ferry-versions/`, by a rename on the server. */
const AREA_TYPES: ReadonlySet<string> = new Set(['local', 'sftp', 'ftp', 'webdav']);

export function keepsVersionsInArea(dest: Destination): dest is FullDestination & ServerSideMove {
  return AREA_TYPES.has(dest.type) && canMove(dest) && canRead(dest) && canRemove(dest);
}

export type KeepRequest = {
  rule: string;
  folder: string;
  /** The folder-relative path of the file the destination copy is of. */
  path: string;
  remotePath: string;
  cause: VersionCause;
};

/**
 * Keeps what a pass is about to replace or delete at a destination: the file is renamed into the
 * destination's `.ferry-versions/` area (no bytes sent) and recorded. The order makes a crash at any
 * instant lose nothing: the record is written first (pending), then the rename, then the record is
 * marked kept; a pending record is settled later by looking at the destination (`settle`), and the
 * area's names carry path and time, so a version is found again from the area alone.
 */
export class VersionKeeper {
  private readonly settled = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly now: Clock,
  ) {}

  /**
   * The version kept, or undefined when nothing was there to keep. A copy about to be replaced is
   * linked into the area where the destination can (the path keeps its file until the new one is
   * renamed over it; `stillThere`); one about to be deleted, or where links are refused, is moved.
   */
  async keep(
    dest: FullDestination & ServerSideMove,
    req: KeepRequest,
    policy: VersionPolicy,
    signal?: AbortSignal,
  ): Promise<KeptVersion | undefined> {
    await this.settleOnce(dest, signal);
    const there = await dest.stat(req.remotePath, signal);
    if (!there || there.partial) return undefined;
    const rec = this.store.shipped.get(dest.id, req.remotePath);
    // Ferry knows the bytes only if the copy there is still the one it shipped, as it shipped it.
    const ours =
      rec !== undefined &&
      rec.encoding === 'identity' &&
      rec.size === there.size &&
      (rec.remoteVersion === null || there.version === undefined || there.version === rec.remoteVersion);
    // Already linked into the area by an attempt that did not get to replace it (a crash, a failed
    // upload retried): the same shipped copy is not kept twice.
    const linkedBefore =
      ours && req.cause === 'replaced'
        ? this.store.versions
            .ofPath(dest.id, req.remotePath)
            .find((v) => v.rule === req.rule && v.since === rec.shippedAt && v.sha256 === rec.sha256)
        : undefined;
    if (linkedBefore) return { ...linkedBefore, stillThere: true };
    let keptAt = this.now();
    while (this.store.versions.at(dest.id, versionLocation(req.remotePath, keptAt))) keptAt++;
    const base = {
      destination: dest.id,
      remotePath: req.remotePath,
      keptAt,
      size: there.size,
      sha256: ours ? rec.sha256 : null,
      location: versionLocation(req.remotePath, keptAt),
      cause: req.cause,
      rule: req.rule,
      folder: req.folder,
      path: req.path,
      since: ours ? rec.shippedAt : null,
    };
    const id = this.store.versions.begin(base);
    killPoint('version-recorded', req.remotePath);
    let moved;
    let stillThere = false;
    try {
      if (req.cause === 'replaced' && canLink(dest))
        try {
          moved = await dest.link(req.remotePath, base.location, signal);
          stillThere = true;
        } catch (err) {
          if (err instanceof FerryError && err.kind === 'not-found') throw err;
        }
      moved ??= await dest.move(req.remotePath, base.location, signal);
    } catch (err) {
      // Gone meanwhile: nothing to keep. Any other failure may or may not have renamed it: the pending
      // record stays, and the next look at the destination settles it.
      if (err instanceof FerryError && err.kind === 'not-found') {
        this.store.versions.forget(id);
        return undefined;
      }
      this.settled.delete(dest.id);
      throw err;
    }
    killPoint('version-moved', req.remotePath);
    this.store.versions.kept(id, moved.size);
    await this.prune(dest, req, policy, signal);
    return { ...base, id, size: moved.size, state: 'kept', ...(stillThere ? { stillThere } : {}) };
  }

  /**
   * Where the destination keeps versions itself (Dropbox's revisions), the copy about to be replaced
   * or deleted is only noted: its revision, recorded with the hash Ferry shipped. The pass then
   * replaces or deletes it as usual, and the service keeps those bytes under that revision.
   */
  async note(
    dest: FullDestination,
    req: KeepRequest,
    policy: VersionPolicy,
    signal?: AbortSignal,
  ): Promise<VersionRecord | undefined> {
    const there = await dest.stat(req.remotePath, signal);
    if (!there || there.partial || there.version === undefined) return undefined;
    const rec = this.store.shipped.get(dest.id, req.remotePath);
    const ours =
      rec !== undefined &&
      rec.encoding === 'identity' &&
      rec.size === there.size &&
      (rec.remoteVersion === null || rec.remoteVersion === there.version);
    const location = `${OWN_VERSION}${there.version}`;
    const existing = this.store.versions.at(dest.id, location);
    if (existing) return existing;
    const base = {
      destination: dest.id,
      remotePath: req.remotePath,
      keptAt: this.now(),
      size: there.size,
      sha256: ours ? rec.sha256 : null,
      location,
      cause: req.cause,
      rule: req.rule,
      folder: req.folder,
      path: req.path,
      since: ours ? rec.shippedAt : null,
    };
    const id = this.store.versions.begin(base);
    this.store.versions.kept(id, there.size);
    // The service prunes its own revisions; Ferry forgets its notes of them by the rule's policy.
    for (const v of this.store.versions.olderThan(dest.id, this.now() - policy.keepMs))
      if (v.rule === req.rule) this.store.versions.forget(v.id);
    return { ...base, id, state: 'kept' };
  }

  private async settleOnce(dest: FullDestination, signal?: AbortSignal): Promise<void> {
    if (this.settled.has(dest.id)) return;
    await settleVersions(this.store, dest, signal);
    this.settled.add(dest.id);
  }

  /**
   * Removes this rule's versions at the destination older than `keep`, and of this path beyond `max`
   * (the newest stay). The version goes first, then its record: a crash between leaves a record the
   * next prune removes again (removing a missing file is no error).
   */
  async prune(
    dest: FullDestination,
    req: Pick<KeepRequest, 'rule' | 'remotePath'>,
    policy: VersionPolicy,
    signal?: AbortSignal,
  ): Promise<number> {
    const doomed = this.store.versions
      .olderThan(dest.id, this.now() - policy.keepMs)
      .filter((v) => v.rule === req.rule && v.state === 'kept' && isVersionsArea(v.location));
    if (policy.max !== undefined)
      doomed.push(
        ...this.store.versions
          .ofPath(dest.id, req.remotePath)
          .filter((v) => v.rule === req.rule && v.state === 'kept' && isVersionsArea(v.location))
          .slice(policy.max)
          .filter((v) => !doomed.some((d) => d.id === v.id)),
      );
    for (const v of doomed) {
      await dest.delete(v.location, signal);
      this.store.versions.forget(v.id);
    }
    return doomed.length;
  }
}

/** Pending records of a destination made true: the version is in the area (kept) or it is not (forgotten). */
export async function settleVersions(store: Store, dest: FullDestination, signal?: AbortSignal): Promise<void> {
  for (const v of store.versions.pending(dest.id).filter((p) => isVersionsArea(p.location))) {
    const there = await dest.stat(v.location, signal);
    // Not in the area: the rename never happened (the file is still at its path, or went otherwise).
    // A destination that does not answer throws, and the record stays pending for the next look.
    if (there) store.versions.kept(v.id, there.size);
    else store.versions.forget(v.id);
  }
}

/**
 * The executor's hook: before a job of a rule with versions replaces or deletes a copy Ferry shipped
 * to a destination that keeps its versions in the area, that copy is kept. Undefined when the rule
 * keeps none, the destination keeps versions itself or cannot rename, or nothing Ferry shipped is there.
 */
export async function keepVersionOf(
  job: Pick<Job, 'rule' | 'folder' | 'path' | 'remotePath' | 'destination'>,
  dest: Destination,
  cause: VersionCause,
  deps: { store: Store; dispatcher: Dispatcher; versions?: VersionKeeper },
  signal?: AbortSignal,
): Promise<VersionRecord | undefined> {
  if (!deps.versions || job.remotePath === undefined) return undefined;
  if (!keepsVersionsInArea(dest) && !keepsOwnVersions(dest)) return undefined;
  const rule = deps.dispatcher.rule(job.rule);
  const policy = rule && versionPolicy(rule);
  if (!policy) return undefined;
  // Only over a copy Ferry shipped: a first upload costs no look at the destination.
  if (!deps.store.shipped.get(dest.id, job.remotePath)) return undefined;
  const req = { rule: job.rule, folder: job.folder, path: job.path, remotePath: job.remotePath, cause };
  if (keepsVersionsInArea(dest)) return deps.versions.keep(dest, req, policy, signal);
  return deps.versions.note(dest, req, policy, signal);
}

/** Whether a kept version was moved out of the file's way (the area), or only noted (the destination keeps it). */
export function movedAside(v: KeptVersion | undefined): v is KeptVersion {
  return v !== undefined && isVersionsArea(v.location) && v.stillThere !== true;
}

/** A version just kept; `stillThere`: linked, its bytes still at their path too (see keep). */
export type KeptVersion = VersionRecord & { stillThere?: boolean };

/**
 * Keeps a local file's bytes as a version at the destination (a restore about to write over a file
 * that was never shipped as it is): uploaded into the area, verified by the provider, then recorded.
 */
export async function keepLocalBytes(
  store: Store,
  dest: Destination,
  req: KeepRequest,
  file: { absPath: string; size: number; mtimeMs: number; sha256: string },
  keptAt: number,
  signal: AbortSignal,
): Promise<VersionRecord> {
  let at = keptAt;
  while (store.versions.at(dest.id, versionLocation(req.remotePath, at))) at++;
  const base = {
    destination: dest.id,
    remotePath: req.remotePath,
    keptAt: at,
    size: file.size,
    sha256: file.sha256,
    location: versionLocation(req.remotePath, at),
    cause: req.cause,
    rule: req.rule,
    folder: req.folder,
    path: req.path,
    since: null,
  };
  const id = store.versions.begin(base);
  const entry = await dest.upload(
    base.location,
    { absPath: file.absPath, size: file.size, mtimeMs: file.mtimeMs, hashes: { sha256: file.sha256 } },
    { signal },
  );
  if (entry.size !== file.size)
    throw new FerryError(
      'retryable',
      'verify-failed',
      `${base.location}: the destination holds ${entry.size} bytes, not ${file.size}`,
    );
  store.versions.kept(id, entry.size);
  return { ...base, id, state: 'kept' };
}

/** Whose file a version found in the area was: the rule, folder and folder path of a destination path. */
export type VersionOwner = (remotePath: string) => { rule: string; folder: string; path: string } | undefined;

/**
 * Versions in the destination's area that no record knows (a state database lost, or its last commits
 * lost with the power): found again by their names, which carry the old path and the time, and recorded
 * with what is known (no hash). Returns how many were found.
 */
export async function adoptArea(
  store: Store,
  dest: Destination,
  owner: VersionOwner,
  signal?: AbortSignal,
): Promise<number> {
  if (!keepsVersionsInArea(dest)) return 0;
  let found = 0;
  for await (const e of dest.list(VERSIONS_DIR, signal)) {
    if (e.partial || store.versions.at(dest.id, e.path)) continue;
    const parsed = parseVersionLocation(e.path);
    const who = parsed && owner(parsed.remotePath);
    if (!parsed || !who) continue;
    const id = store.versions.begin({
      destination: dest.id,
      remotePath: parsed.remotePath,
      keptAt: parsed.keptAt,
      size: e.size,
      sha256: null,
      location: e.path,
      cause: 'replaced',
      ...who,
      since: null,
    });
    store.versions.kept(id, e.size);
    found++;
  }
  return found;
}
