import type { FerryConfig } from '../../../shared/config';
import { purgeTrash, sweepDownloadLeftovers } from './trash';
import type { SerializedError } from '../../../shared/errors';
import type { TransferRef } from '../../../shared/events';
import type { HashKind } from '../../../shared/hashes';
import type { ScanIssue } from '../../../shared/models';
import { isBlockingProblem, type BelowQuorum, type Plan } from '../plan/planner';
import { stillBelowQuorum } from '../plan/quorum';
import type { Destination } from '../providers/types';
import {
  activeFolders,
  connectDestinations,
  applyBaseUpdates,
  destinationStates,
  kindsPerFolder,
  rehasher,
  planAll,
  scanFolders,
  transferPool,
  type DestinationFailure,
  type EngineDeps,
} from './runSteps';
import type { FolderScan } from '../scan/scanner';
import type { PoolStats } from '../transfer/pool';
import { phase } from '../diagnostics/phases';

export type { EngineDeps } from './runSteps';

export type Prepared = {
  plan: Plan;
  scans: Map<string, FolderScan>;
  destinations: Map<string, Destination>;
  destinationErrors: DestinationFailure[];
  cleanedPartials: number;
  kinds: Map<string, HashKind[]>;
};

/** What a pass keeps of its plan and scans once the plan is queued: no per-file list (the queue has them). */
export type SyncSummary = Omit<Prepared, 'plan' | 'scans'> & {
  plan: Omit<Plan, 'actions' | 'caught'> & { queued: number };
  scans: Map<string, Omit<FolderScan, 'files' | 'unreadable'>>;
  stats: PoolStats;
  failures: (TransferRef & { error: SerializedError })[];
  blockingIssues: ScanIssue[];
  ok: boolean;
  /** Files still short of their rule's quorum of verified copies once the transfers ran. */
  belowQuorum: BelowQuorum[];
};

type RunOptions = { confirmDeletes?: boolean; signal?: AbortSignal };

/** Connects destinations, scans folders, lists destinations and plans: everything short of transferring. */
export async function prepare(cfg: FerryConfig, deps: EngineDeps, opts: RunOptions = {}): Promise<Prepared> {
  const { destinations, errors } = await connectDestinations(cfg, deps, opts.signal);
  const kinds = kindsPerFolder(cfg, destinations);
  phase('connected');
  const scans = await scanFolders(activeFolders(cfg), kinds, deps, cfg, destinations);
  phase('scanned');
  const { states, cleanedPartials } = await destinationStates(destinations, deps, {
    list: true,
    signal: opts.signal,
    rules: cfg.rules,
    rehash: rehasher(cfg, deps, kinds),
  });
  phase('destinations listed');
  const thePlan = planAll(
    cfg,
    scans,
    states,
    opts.confirmDeletes ?? false,
    undefined,
    (r) => deps.store.base.forRule(r),
    { brakeBaselines: deps.store.brakes.all() },
  );
  phase('planned');
  return { plan: thePlan, scans, destinations, destinationErrors: errors, cleanedPartials, kinds };
}

/**
 * Prepares and queues the plan. The queue holds the actions then: the per-file lists of the plan and the
 * scans are let go before the transfers run (at 100,000 files, some 100 MB the drain would carry along).
 */
async function prepareAndQueue(
  cfg: FerryConfig,
  deps: EngineDeps,
  opts: RunOptions,
): Promise<Omit<SyncSummary, 'stats' | 'failures' | 'blockingIssues' | 'ok' | 'belowQuorum'>> {
  const full = await prepare(cfg, deps, opts);
  deps.store.jobs.replacePlan(full.plan.actions);
  applyBaseUpdates(deps.store, full.plan);
  phase('queued');
  const { actions, caught: _caught, ...planLeft } = full.plan;
  return {
    ...full,
    plan: { ...planLeft, queued: actions.length },
    scans: new Map([...full.scans].map(([id, { files: _f, unreadable: _u, ...rest }]) => [id, rest])),
  };
}

/** One complete pass: prepare, persist the plan as jobs, drain them, and say whether all is where the rules want it. */
export async function syncOnce(cfg: FerryConfig, deps: EngineDeps, opts: RunOptions = {}): Promise<SyncSummary> {
  const signal = opts.signal ?? new AbortController().signal;
  for (const r of cfg.rules) {
    const folder = cfg.folders.find((f) => f.id === r.from[0]);
    if (r.mode === 'two-way' && folder) {
      purgeTrash(folder.path);
      sweepDownloadLeftovers(folder.path);
    }
  }
  const prepared = await prepareAndQueue(cfg, deps, opts);
  deps.events.emit('queue:changed', { ...deps.store.jobs.counts(), active: 0 });

  const failures: SyncSummary['failures'] = [];
  const off = deps.events.on('transfer:failed', (f) => failures.push(f));
  let stats: PoolStats;
  try {
    stats = await transferPool(cfg, deps, prepared.destinations, prepared.kinds).drain(signal);
    phase('drained');
  } finally {
    off();
    await Promise.all([...prepared.destinations.values()].map((d) => d.close().catch(() => undefined)));
  }
  // The pass ran to its end: the brake's baselines follow what it did (or the person confirmed).
  if (!signal.aborted) deps.store.brakes.putMany(prepared.plan.brakeBaselines);
  const blockingIssues = [...prepared.scans.values()].flatMap((s) => s.issues.filter((i) => i.blocking));
  const ok =
    failures.length === 0 &&
    blockingIssues.length === 0 &&
    prepared.destinationErrors.length === 0 &&
    !prepared.plan.problems.some(isBlockingProblem) &&
    !signal.aborted;
  const belowQuorum = stillBelowQuorum(prepared.plan.belowQuorum, deps.store.shipped, deps.store.index).filter(
    (b) => deps.store.index.get(b.folder, b.path) !== undefined,
  );
  return { ...prepared, stats, failures, blockingIssues, ok, belowQuorum };
}
