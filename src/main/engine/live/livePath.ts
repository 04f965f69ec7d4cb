import { folderNeedsContentType, type FerryConfig, type FolderConfig } from '../../../shared/config';
import type { HashKind } from '../../../shared/hashes';
import type { Action } from '../../../shared/models';
import type { BelowQuorum, BrakeBaseline, Plan } from '../plan/planner';
import { stillBelowQuorum } from '../plan/quorum';
import { canCopy, canMove, canRead, type Destination } from '../providers/types';
import type { Dispatcher } from '../rules/dispatch';
import type { EngineDeps } from '../sync/runSteps';
import type { FolderScan } from '../scan/scanner';
import type { ChangeBatch } from '../watch/aggregator';
import { planChanges } from './planChanges';
import { scanPaths, type PathScan } from './scanPaths';

export type LiveContext = {
  cfg: FerryConfig;
  deps: EngineDeps;
  dispatcher: Dispatcher;
  destinations: ReadonlyMap<string, Destination>;
  kinds: ReadonlyMap<string, HashKind[]>;
  /** The service's latest scans: brought up to date in place for the folders scanned here. */
  scans: ReadonlyMap<string, FolderScan>;
  /** The latest full plan: its contested targets, uncaught files and rule previews are kept current. */
  lastPlan: Plan | undefined;
  /** Why this pass must be a full one whatever the hints say (a listing is due, deletions were confirmed). */
  fullPass: string | undefined;
};

export type LiveOutcome =
  | {
      queued: true;
      scanned: Map<string, FolderScan>;
      /** Brake baselines to keep once the queued work ran to its end. */
      baselines: BrakeBaseline[];
      /** The changed files still short of their quorum as planned, and every source path planned. */
      belowQuorum: BelowQuorum[];
      sources: { folder: string; path: string }[];
    }
  /** The full plan decides (why: `reason`); the folders in `scanned` are scanned already. */
  | { queued: false; reason: string; scanned: Map<string, FolderScan> };

/**
 * The live path's decisions so far, and what its scans cost (file-system calls of the walks, files
 * opened to be hashed): tests hold these to a bound whatever the folder's size.
 */
export type LiveStats = {
  incremental: number;
  full: number;
  lastFallback: string | undefined;
  looked: number;
  read: number;
};

/** Why a folder's batch needs the full plan before anything is looked at, or undefined. */
export function fullPassNeeded(
  cfg: FerryConfig,
  hints: ChangeBatch | undefined,
  prev: FolderScan | undefined,
): string | undefined {
  if (!hints || hints.full) return 'the whole folder is to be rescanned';
  if (!prev) return 'the folder was not scanned yet';
  if (!prev.complete) return 'the last scan of the folder was incomplete';
  // Two-way rules plan against their base, the local tree and the destination's listing together: a
  // change on the other side comes with no local hint, so their folders keep the full pass.
  if (cfg.rules.some((r) => r.mode === 'two-way' && r.from.includes(hints.folder)))
    return 'a two-way rule reads the folder';
  return undefined;
}

/**
 * The incremental live path: a watcher's hints → a scan of those paths → a plan of those paths against
 * their own rows (planChanges.ts) → their jobs replaced in the queue. Work and memory per change do not
 * grow with the folder. Whatever it cannot decide alone falls back to the full plan, which stays (with
 * the periodic full rescan and listing) the safety net.
 */
export class LivePath {
  readonly stats: LiveStats = { incremental: 0, full: 0, lastFallback: undefined, looked: 0, read: 0 };
  private contestedOf = new WeakMap<Plan, Set<string>>();

  async pass(
    folders: readonly { folder: FolderConfig; hints: ChangeBatch | undefined }[],
    ctx: LiveContext,
  ): Promise<LiveOutcome> {
    const scanned = new Map<string, FolderScan>();
    const fallback = (reason: string): LiveOutcome => {
      this.stats.full++;
      this.stats.lastFallback = reason;
      return { queued: false, reason, scanned };
    };
    if (ctx.fullPass) return fallback(ctx.fullPass);
    if (!ctx.lastPlan) return fallback('no full plan yet');
    for (const { folder, hints } of folders) {
      const why = fullPassNeeded(ctx.cfg, hints, ctx.scans.get(folder.id));
      if (why) return fallback(`${folder.id}: ${why}`);
    }
    const scanDeps = { index: ctx.deps.store.index, workers: ctx.deps.workers, events: ctx.deps.events };
    const pathScans = new Map<string, PathScan>();
    for (const { folder, hints } of folders) {
      const sniff = folderNeedsContentType(ctx.cfg, folder.id);
      const ps = await scanPaths(folder, ctx.kinds.get(folder.id) ?? [], scanDeps, [...(hints?.paths ?? [])], sniff);
      if (!ps) return fallback(`${folder.id}: a hint reaches the folder itself`);
      this.stats.looked += ps.looked;
      this.stats.read += ps.read;
      const current = ctx.scans.get(folder.id) as FolderScan;
      applyToScan(current, ps);
      // What a scoped rescan always said: the window refreshes the folder's status and previews on it.
      ctx.deps.events.emit('scan:done', {
        folder: folder.id,
        files: current.files.size,
        hashed: ps.hashed,
        complete: current.complete,
        durationMs: ps.durationMs,
      });
      scanned.set(folder.id, current);
      pathScans.set(folder.id, ps);
    }
    const features = new Map(
      [...ctx.destinations].map(([id, d]) => [
        id,
        {
          canMove: canMove(d),
          canCopy: canCopy(d),
          caseInsensitive: d.features.caseInsensitive,
          fileAndFolderCoexist: d.features.prefixFolders === true || !canRead(d),
        },
      ]),
    );
    const contested = this.contested(ctx.lastPlan);
    const now = Date.now();
    const actions: Action[] = [];
    const sources: { folder: string; path: string }[] = [];
    const baselines: BrakeBaseline[] = [];
    const belowQuorum: BelowQuorum[] = [];
    const uncaught = new Map<string, string[]>();
    for (const [folder, scan] of pathScans) {
      const planned = planChanges({
        folder,
        scan,
        dispatcher: ctx.dispatcher,
        destinations: features,
        store: ctx.deps.store,
        now,
        contested,
      });
      if ('fallback' in planned) return fallback(`${folder}: ${planned.fallback}`);
      actions.push(...planned.actions);
      sources.push(...planned.sources);
      baselines.push(...planned.baselines);
      belowQuorum.push(...planned.belowQuorum);
      uncaught.set(folder, planned.uncaught);
    }
    ctx.deps.store.jobs.replaceFor(sources, actions);
    keepPlanCurrent(ctx.lastPlan, sources, uncaught);
    this.stats.incremental++;
    return { queued: true, scanned, baselines, belowQuorum, sources };
  }

  /** The targets two files wanted at a full plan (its collisions): only a full plan may choose again. */
  private contested(thePlan: Plan): Set<string> {
    let set = this.contestedOf.get(thePlan);
    if (!set) {
      set = new Set();
      for (const p of thePlan.problems) if (p.kind === 'collision') set.add(`${p.destination}\u0000${p.remotePath}`);
      this.contestedOf.set(thePlan, set);
    }
    return set;
  }
}

/** The folder's files below the hinted roots, as the scoped scan found them (in place: no copy of the folder). */
function applyToScan(scan: FolderScan, ps: PathScan): void {
  const roots = new Set(ps.roots);
  const inScope = (p: string): boolean => {
    for (let i = p.length; i > 0; i = p.lastIndexOf('/', i - 1)) if (roots.has(p.slice(0, i))) return true;
    return false;
  };
  for (const p of ps.gone) scan.files.delete(p);
  for (const p of ps.unreadable) scan.files.delete(p);
  for (const [p, f] of ps.present) scan.files.set(p, f);
  for (const p of [...scan.unreadable]) if (inScope(p)) scan.unreadable.delete(p);
  for (const p of ps.unreadable) scan.unreadable.add(p);
  scan.issues = [...scan.issues.filter((i) => !inScope(i.path)), ...ps.issues];
  scan.complete &&= ps.complete;
}

/** The last full plan's per-file answers for the changed paths: uncaught files counted again, previews recomputed. */
function keepPlanCurrent(
  thePlan: Plan,
  sources: readonly { folder: string; path: string }[],
  uncaught: ReadonlyMap<string, readonly string[]>,
): void {
  const changed = new Set(sources.map((s) => `${s.folder}\u0000${s.path}`));
  thePlan.uncaught = thePlan.uncaught.filter((u) => !changed.has(`${u.folder}\u0000${u.path}`));
  for (const [folder, paths] of uncaught) for (const path of paths) thePlan.uncaught.push({ folder, path });
  thePlan.unmatched = thePlan.uncaught.length;
  // Its per-file rule lists follow the folder's file map as it was: a preview works that folder out afresh.
  for (const folder of uncaught.keys()) thePlan.caught.delete(folder);
}

/** The service's below-quorum list once the live path's work ran: the changed files' entries replaced. */
export function mergeBelowQuorum(
  prev: readonly BelowQuorum[],
  outcome: Extract<LiveOutcome, { queued: true }>,
  deps: EngineDeps,
): BelowQuorum[] {
  const changed = new Set(outcome.sources.map((s) => `${s.folder}\u0000${s.path}`));
  const fresh = stillBelowQuorum(outcome.belowQuorum, deps.store.shipped).filter(
    (b) => deps.store.index.get(b.folder, b.path) !== undefined,
  );
  return [...prev.filter((b) => !changed.has(`${b.folder}\u0000${b.path}`)), ...fresh];
}
