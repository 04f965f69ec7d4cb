import { join } from 'node:path';
import type { FerryConfig, FolderConfig } from '../../shared/config';
import { FerryError, type SerializedError } from '../../shared/errors';
import type { TransferRef } from '../../shared/events';
import { HASH_KINDS, type HashKind } from '../../shared/hashes';
import type { LocalFile, ScanIssue } from '../../shared/models';
import type { EventBus } from './events';
import { plan, type DestinationState, type FolderState, type Plan } from './plan/planner';
import { createDestination, type DestinationFactory } from './providers/registry';
import { canCopy, canMove, type Destination, type RemoteEntry } from './providers/types';
import { compileRule } from './rules/ruleMatcher';
import type { FileWorkers } from './workers/fileWorkers';
import { scanFolder, type FolderScan } from './scan/scanner';
import type { Store } from './store/store';
import { Bandwidth } from './transfer/bandwidth';
import { TransferPool, type PoolStats } from './transfer/pool';

export type EngineDeps = {
  store: Store;
  events: EventBus;
  workers: FileWorkers;
  factories: Map<string, DestinationFactory>;
};

export type DestinationFailure = { destination: string; error: SerializedError };

export type Prepared = {
  plan: Plan;
  scans: Map<string, FolderScan>;
  destinations: Map<string, Destination>;
  destinationErrors: DestinationFailure[];
  cleanedPartials: number;
  kinds: Map<string, HashKind[]>;
};

export type SyncSummary = Prepared & {
  stats: PoolStats;
  failures: (TransferRef & { error: SerializedError })[];
  blockingIssues: ScanIssue[];
  ok: boolean;
};

function toSerialized(err: unknown, destination: string): SerializedError {
  if (err instanceof FerryError) return err.withContext({ destination }).toJSON();
  return {
    kind: 'permanent',
    code: 'internal',
    message: (err as Error).message ?? String(err),
    context: { destination },
  };
}

/** Hash kinds each folder needs: the union of what its rules' destinations can verify. */
function kindsPerFolder(cfg: FerryConfig, destinations: Map<string, Destination>): Map<string, HashKind[]> {
  const out = new Map<string, Set<HashKind>>();
  for (const rule of cfg.rules)
    for (const f of rule.from) {
      const set = out.get(f) ?? new Set<HashKind>();
      for (const d of rule.to)
        for (const k of destinations.get(d)?.features.hashes ?? []) if (HASH_KINDS.includes(k)) set.add(k);
      out.set(f, set);
    }
  return new Map([...out].map(([f, s]) => [f, [...s].filter((k) => k !== 'sha256')]));
}

/** Connects destinations, scans folders, lists destinations and plans: everything short of transferring. */
export async function prepare(
  cfg: FerryConfig,
  deps: EngineDeps,
  opts: { confirmDeletes?: boolean; signal?: AbortSignal } = {},
): Promise<Prepared> {
  const used = new Set(cfg.rules.flatMap((r) => r.to));
  const destinations = new Map<string, Destination>();
  const destinationErrors: DestinationFailure[] = [];
  await Promise.all(
    cfg.destinations
      .filter((d) => used.has(d.id))
      .map(async (dc) => {
        try {
          const dest = createDestination(dc, deps.factories, { workers: deps.workers });
          await dest.check(opts.signal);
          destinations.set(dc.id, dest);
        } catch (err) {
          const error = toSerialized(err, dc.id);
          destinationErrors.push({ destination: dc.id, error });
          deps.events.emit('destination:error', { destination: dc.id, error });
        }
      }),
  );

  const kinds = kindsPerFolder(cfg, destinations);
  const scans = new Map<string, FolderScan>();
  const activeFolders = cfg.folders.filter((f) => !f.paused && cfg.rules.some((r) => r.from.includes(f.id)));
  for (const folder of activeFolders)
    scans.set(
      folder.id,
      await scanFolder(folder, kinds.get(folder.id) ?? [], {
        index: deps.store.index,
        workers: deps.workers,
        events: deps.events,
      }),
    );

  // List each destination; leftovers of interrupted uploads are removed now, before anything runs.
  let cleanedPartials = 0;
  const destStates = new Map<string, DestinationState>();
  for (const [id, dest] of destinations) {
    let remote: Map<string, RemoteEntry> | undefined = new Map();
    try {
      for await (const e of dest.list('', opts.signal)) {
        if (e.partial) {
          await dest.delete(e.path);
          cleanedPartials++;
        } else remote.set(e.path, e);
      }
    } catch (err) {
      remote = undefined;
      deps.events.emit('destination:error', { destination: id, error: toSerialized(err, id) });
    }
    destStates.set(id, {
      shipped: deps.store.shipped.forDestination(id),
      remote,
      canMove: canMove(dest),
      canCopy: canCopy(dest),
    });
  }

  const folders = new Map<string, FolderState>(
    [...scans].map(([id, s]) => [id, { files: s.files, unreadable: s.unreadable, complete: s.complete }]),
  );
  const thePlan = plan({
    rules: cfg.rules.map(compileRule),
    folders,
    destinations: destStates,
    maxDeleteShare: cfg.settings.max_delete_share,
    confirmDeletes: opts.confirmDeletes ?? false,
  });
  return { plan: thePlan, scans, destinations, destinationErrors, cleanedPartials, kinds };
}

/** One complete pass: prepare, persist the plan as jobs, drain them, and say whether all is where the rules want it. */
export async function syncOnce(
  cfg: FerryConfig,
  deps: EngineDeps,
  opts: { confirmDeletes?: boolean; signal?: AbortSignal } = {},
): Promise<SyncSummary> {
  const signal = opts.signal ?? new AbortController().signal;
  const prepared = await prepare(cfg, deps, opts);
  deps.store.jobs.replacePlan(prepared.plan.actions);
  deps.events.emit('queue:changed', { ...deps.store.jobs.counts(), active: 0 });

  const folders = new Map<string, FolderConfig>(cfg.folders.map((f) => [f.id, f]));
  const rehash = async (folderId: string, path: string): Promise<LocalFile | undefined> => {
    const folder = folders.get(folderId);
    if (!folder) return undefined;
    let fresh: LocalFile | undefined;
    let gone = false;
    await deps.workers.hashAll(
      [{ path: join(folder.path, path), size: 0, kinds: prepared.kinds.get(folderId) ?? [] }],
      (_job, r) => {
        if (r.ok) fresh = { folder: folderId, path, size: r.size, mtimeNs: r.mtimeNs, ino: r.ino, hashes: r.hashes };
        else gone = r.code === 'ENOENT';
      },
    );
    if (fresh) deps.store.index.putMany([fresh]);
    else if (gone) deps.store.index.removeMany(folderId, [path]);
    // Still being written: keep what the index knows, the retry will look again.
    else fresh = deps.store.index.get(folderId, path);
    return fresh;
  };

  const failures: SyncSummary['failures'] = [];
  const off = deps.events.on('transfer:failed', (f) => failures.push(f));
  const pool = new TransferPool(
    deps.store,
    {
      store: deps.store,
      destinations: prepared.destinations,
      folders,
      rules: new Map(cfg.rules.map((r) => [r.name, r])),
      rehash,
    },
    deps.events,
    {
      concurrency: cfg.settings.transfers,
      retries: cfg.settings.retries,
      bandwidth: new Bandwidth(cfg.settings.bandwidth),
    },
  );
  let stats: PoolStats;
  try {
    stats = await pool.drain(signal);
  } finally {
    off();
    await Promise.all([...prepared.destinations.values()].map((d) => d.close().catch(() => undefined)));
  }
  const blockingIssues = [...prepared.scans.values()].flatMap((s) => s.issues.filter((i) => i.blocking));
  const ok =
    failures.length === 0 &&
    blockingIssues.length === 0 &&
    prepared.destinationErrors.length === 0 &&
    prepared.plan.problems.filter((p) => p.kind !== 'deletes-withheld').length === 0 &&
    !signal.aborted;
  return { ...prepared, stats, failures, blockingIssues, ok };
}
