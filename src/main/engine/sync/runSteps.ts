import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { folderNeedsContentType, type FerryConfig, type FolderConfig, type RuleConfig } from '../../../shared/config';
import { FerryError, type SerializedError } from '../../../shared/errors';
import { HASH_KINDS, type HashKind } from '../../../shared/hashes';
import { brakeSiteOfFolder, type LocalFile } from '../../../shared/models';
import type { EventBus } from '../events';
import { plan, type DeleteConsent, type DestinationState, type FolderState, type Plan } from '../plan/planner';
import { confirmUnlisted } from '../plan/listingHint';
import { planTwoWayRules } from '../plan/twoWayStep';
import type { BaseEntry } from '../store/baseStore';
import type { ShippedRecord } from '../store/shippedStore';
import { createDestination, type DestinationFactory } from '../providers/registry';
import { type Keychain, resolveSecret } from '../secrets/secrets';
import {
  canCopy,
  canMove,
  canRead,
  canRemove,
  type Destination,
  type ProviderDeps,
  type RemoteEntry,
} from '../providers/types';
import { Dispatcher } from '../rules/dispatch';
import { compileRule } from '../rules/ruleMatcher';
import { scanFolder, type FolderScan } from '../scan/scanner';
import type { Store } from '../store/store';
import { retryDelay, type BackoffPolicy } from '../transfer/backoff';
import { BandwidthLimits } from '../transfer/bandwidthLimits';
import { adoptInterruptedWrites } from '../transfer/adoptInterrupted';
import { TransferPool } from '../transfer/pool';
import type { FileWorkers } from '../workers/fileWorkers';
import { processClock } from '../versions/clock';
import { VersionKeeper } from '../versions/keeper';

/**
 * The steps of a sync, each usable on its own: the one-shot run (syncRun.ts) and the live service
 * (syncService.ts) compose them differently.
 */
export type EngineDeps = {
  store: Store;
  events: EventBus;
  workers: FileWorkers;
  factories: Map<string, DestinationFactory>;
  /** The desktop app's OS keychain, for `keychain:` secrets. */
  keychain?: Keychain;
};

/** What providers get from the engine (see ProviderDeps). */
export function providerDeps(deps: EngineDeps): ProviderDeps {
  return {
    workers: deps.workers,
    secret: (ref, what) => resolveSecret(ref, what, deps.keychain),
    resume: deps.store.uploads,
    temp: deps.store.temp,
  };
}

export type DestinationFailure = { destination: string; error: SerializedError };

export function toSerialized(err: unknown, destination: string): SerializedError {
  if (err instanceof FerryError) return err.withContext({ destination }).toJSON();
  return {
    kind: 'permanent',
    code: 'internal',
    message: (err as Error).message ?? String(err),
    context: { destination },
  };
}

/**
 * Creates and checks (without writing) every destination a rule uses; one that fails is reported, the
 * others go on.
 */
export async function connectDestinations(
  cfg: FerryConfig,
  deps: EngineDeps,
  signal?: AbortSignal,
): Promise<{ destinations: Map<string, Destination>; errors: DestinationFailure[] }> {
  const used = new Set(cfg.rules.flatMap((r) => r.to));
  const destinations = new Map<string, Destination>();
  const errors: DestinationFailure[] = [];
  await Promise.all(
    cfg.destinations
      .filter((d) => used.has(d.id))
      .map(async (dc) => {
        let dest: Destination | undefined;
        try {
          const created = await createDestination(dc, deps.factories, providerDeps(deps));
          dest = created;
          // A routine pass writes nothing to look: its first real write proves the destination writable.
          await passingFailuresRetried(() => created.check(signal, { write: false }), signal);
          destinations.set(dc.id, dest);
        } catch (err) {
          // Its connections would keep the process alive (an SFTP session, a socket pool).
          await dest?.close().catch(() => undefined);
          const error = toSerialized(err, dc.id);
          errors.push({ destination: dc.id, error });
          deps.events.emit('destination:error', { destination: dc.id, error });
        }
      }),
  );
  return { destinations, errors };
}

/** Hash kinds each folder needs beyond SHA-256: the union of what its rules' destinations can verify. */
export function kindsPerFolder(
  cfg: FerryConfig,
  destinations: ReadonlyMap<string, Destination>,
): Map<string, HashKind[]> {
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

/**
 * Whether a folder's new files are read once, while they are sent (ScanOptions.readOnSend): every rule
 * over it is one-way and uncompressed, and every destination of those rules hashes while it sends.
 */
export function readsOnSend(
  cfg: Pick<FerryConfig, 'rules'>,
  destinations: ReadonlyMap<string, Destination>,
  folder: string,
): boolean {
  const rules = cfg.rules.filter((r) => r.from.includes(folder));
  return (
    rules.length > 0 &&
    rules.every(
      (r) =>
        r.mode !== 'two-way' &&
        (r.compress ?? 'identity') === 'identity' &&
        r.to.every((d) => destinations.get(d)?.features.hashesWhileSending === true),
    )
  );
}

/** The folders some rule reads from and that are not paused. */
export function activeFolders(cfg: FerryConfig, paused: ReadonlySet<string> = new Set()): FolderConfig[] {
  return cfg.folders.filter((f) => !f.paused && !paused.has(f.id) && cfg.rules.some((r) => r.from.includes(f.id)));
}

/**
 * With `cfg`, folders that some rule routes by content type are sniffed (see folderNeedsContentType);
 * with `destinations` too, new files of the folders that can are left to be read once (readsOnSend).
 */
export async function scanFolders(
  folders: readonly FolderConfig[],
  kinds: ReadonlyMap<string, HashKind[]>,
  deps: EngineDeps,
  cfg?: Pick<FerryConfig, 'rules'>,
  destinations?: ReadonlyMap<string, Destination>,
): Promise<Map<string, FolderScan>> {
  const scans = new Map<string, FolderScan>();
  for (const folder of folders)
    scans.set(
      folder.id,
      await scanFolder(
        folder,
        kinds.get(folder.id) ?? [],
        { index: deps.store.index, workers: deps.workers, events: deps.events },
        {
          sniff: cfg ? folderNeedsContentType(cfg, folder.id) : false,
          readOnSend: cfg !== undefined && destinations !== undefined && readsOnSend(cfg, destinations, folder.id),
        },
      ),
    );
  return scans;
}

/**
 * What each destination holds, for the planner. With `list`, the destination is listed (and leftovers
 * of interrupted uploads removed); without, the shipped records are trusted.
 */
export async function destinationStates(
  destinations: ReadonlyMap<string, Destination>,
  deps: EngineDeps,
  opts: {
    list: boolean;
    signal?: AbortSignal;
    /** The rules, so that two-way rules' base entries are confirmed like shipped records (see confirmUnlisted). */
    rules?: readonly Pick<RuleConfig, 'name' | 'mode' | 'to'>[];
    /** Hashes a file not read yet whose write was interrupted (adoptInterrupted.ts); see rehasher. */
    rehash?: (folder: string, path: string) => Promise<LocalFile | undefined>;
  },
): Promise<{ states: Map<string, DestinationState>; cleanedPartials: number }> {
  let cleanedPartials = 0;
  const states = new Map<string, DestinationState>();
  for (const [id, dest] of destinations) {
    let remote: Map<string, RemoteEntry> | undefined;
    // The records read once the listing is done serve both the check of what it lacks and the plan (at
    // 100,000 records a read costs some 0.5 s and as many objects).
    let shipped: ShippedRecord[] | undefined;
    // An upload-only destination cannot be listed: its shipped records are all there is to go by.
    if (opts.list && canRead(dest)) {
      try {
        remote = await passingFailuresRetried(async () => {
          const listed = new Map<string, RemoteEntry>();
          for await (const e of dest.list('', opts.signal)) {
            if (!e.partial) listed.set(e.path, e);
            else if (
              canRemove(dest) &&
              deps.store.temp.isSweepable(e.path.slice(e.path.lastIndexOf('/') + 1), e.mtimeMs)
            ) {
              try {
                await dest.delete(e.path);
                cleanedPartials++;
              } catch {
                // A leftover that cannot be removed now is tried again next time; the listing stands.
              }
            }
          }
          // What the records say is there and the listing lacks is looked at before the plan trusts its absence.
          shipped = deps.store.shipped.forDestination(id);
          const expected = shipped.map((r) => r.remotePath);
          for (const rule of opts.rules ?? [])
            if (rule.mode === 'two-way' && rule.to[0] === id)
              expected.push(...deps.store.base.forRule(rule.name).keys());
          await confirmUnlisted(dest, listed, expected, opts.signal);
          return listed;
        }, opts.signal);
      } catch (err) {
        remote = undefined;
        deps.events.emit('destination:error', { destination: id, error: toSerialized(err, id) });
      }
      // A complete listing: files published by a write that was killed before its record are recognised.
      // Files it adopted are recorded now: read the records again.
      if (remote && (await adoptInterruptedWrites(deps.store, dest, remote, opts.signal, opts.rehash)) > 0)
        shipped = undefined;
    }
    states.set(id, {
      shipped: shipped ?? deps.store.shipped.forDestination(id),
      remote,
      canMove: canMove(dest),
      canCopy: canCopy(dest),
      caseInsensitive: dest.features.caseInsensitive,
      fileAndFolderCoexist: dest.features.prefixFolders === true || !canRead(dest),
      emptyFoldersStay: dest.features.emptyFoldersStay === true,
    });
  }
  return { states, cleanedPartials };
}

/**
 * A check or a listing that meets a passing failure (a 500, a dropped connection) is tried again twice
 * before the destination counts as failed for this pass, as one transfer would be. An unreachable server
 * is not: the next pass tries it again anyway.
 */
export async function passingFailuresRetried<T>(
  fn: () => Promise<T>,
  signal?: AbortSignal,
  attempts = 3,
  policy: BackoffPolicy = { baseMs: 400, maxMs: 2000 },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const passing = err instanceof FerryError && err.kind === 'retryable' && err.code !== 'unreachable';
      if (!passing || attempt + 1 >= attempts || signal?.aborted) throw err;
      await sleep(retryDelay(err, attempt, policy), undefined, { signal });
    }
  }
}

/** What the planner needs of a folder's scan. */
export type ScannedFolder = Pick<FolderScan, 'files' | 'unreadable' | 'complete'>;

export function planAll(
  cfg: FerryConfig,
  scans: ReadonlyMap<string, ScannedFolder>,
  states: ReadonlyMap<string, DestinationState>,
  confirmDeletes: DeleteConsent,
  /** Keep one across plans of the same config: it remembers its answers for unchanged files. */
  dispatcher = new Dispatcher(cfg.rules.map(compileRule)),
  /** Two-way rules' common base (the state database's). */
  base: (rule: string) => ReadonlyMap<string, BaseEntry> = () => new Map(),
  /**
   * The deletion brake's baselines (the state database's), and the instant and host name the plan is
   * made at (fixed by the golden scenarios).
   */
  at: {
    now?: number;
    /** This computer's name and OS, as the two-way planner needs them (fixed by the golden scenarios). */
    host?: string;
    platform?: NodeJS.Platform;
    brakeBaselines?: ReadonlyMap<string, number>;
    /** Rules whose left-behind copies the person asked to remove (see PlanInput). */
    cleanLeftBehind?: ReadonlySet<string>;
  } = {},
): Plan {
  const folders = new Map<string, FolderState>(
    [...scans].map(([id, s]) => [id, { files: s.files, unreadable: s.unreadable, complete: s.complete }]),
  );
  const now = at.now ?? Date.now();
  const thePlan = plan({
    dispatcher,
    folders,
    destinations: states,
    maxDeleteShare: cfg.settings.max_delete_share,
    confirmDeletes,
    now,
    ...(at.brakeBaselines ? { brakeBaselines: at.brakeBaselines } : {}),
    ...(at.cleanLeftBehind ? { cleanLeftBehind: at.cleanLeftBehind } : {}),
  });
  if (!cfg.rules.some((r) => r.mode === 'two-way')) return thePlan;
  const two = planTwoWayRules({
    cfg,
    folders,
    caught: thePlan.caught,
    destinations: states,
    base,
    confirmDeletes,
    now: new Date(now),
    host: at.host ?? hostname(),
    platform: at.platform ?? process.platform,
  });
  thePlan.actions.push(...two.actions);
  for (const b of two.outcome.brakes) {
    const rule = cfg.rules.find((r) => r.name === b.rule);
    thePlan.problems.push({
      kind: 'delete-brake',
      rule: b.rule,
      destination: b.side === 'local' ? brakeSiteOfFolder(rule?.from[0] ?? '') : (rule?.to[0] ?? ''),
      deletes: b.deletes,
      total: b.of,
    });
  }
  for (const p of two.outcome.problems) thePlan.problems.push({ kind: 'two-way', ...p });
  thePlan.twoWay = two.outcome;
  return thePlan;
}

/** Writes what a plan learnt about two-way rules' base (both sides agree, or are both gone). */
export function applyBaseUpdates(store: Store, thePlan: Plan): void {
  const updates = thePlan.twoWay?.baseUpdates ?? [];
  if (updates.length === 0) return;
  store.transaction(() => {
    for (const u of updates)
      if (u.kind === 'record') store.base.put(u.rule, u.entry);
      else store.base.delete(u.rule, u.path);
  });
}

/** Hashes one local file again (it changed under an upload) and updates the index. */
export function rehasher(cfg: FerryConfig, deps: EngineDeps, kinds: ReadonlyMap<string, HashKind[]>) {
  const folders = new Map<string, FolderConfig>(cfg.folders.map((f) => [f.id, f]));
  return async (folderId: string, path: string): Promise<LocalFile | undefined> => {
    const folder = folders.get(folderId);
    if (!folder) return undefined;
    let fresh: LocalFile | undefined;
    let gone = false;
    await deps.workers.hashAll(
      [
        {
          path: join(folder.path, path),
          size: 0,
          kinds: kinds.get(folderId) ?? [],
          sniff: folderNeedsContentType(cfg, folderId),
        },
      ],
      (_job, r) => {
        if (r.ok) {
          fresh = {
            folder: folderId,
            path,
            size: r.size,
            mtimeNs: r.mtimeNs,
            ino: r.ino,
            ctimeNs: r.ctimeNs,
            hashes: r.hashes,
          };
          if (r.mime !== undefined) fresh.mime = r.mime;
        } else gone = r.code === 'ENOENT';
      },
    );
    if (fresh) deps.store.index.putMany([fresh]);
    else if (gone) deps.store.index.removeMany(folderId, [path]);
    // Still being written: keep what the index knows, the retry will look again.
    else fresh = deps.store.index.get(folderId, path);
    return fresh;
  };
}

export function transferPool(
  cfg: FerryConfig,
  deps: EngineDeps,
  destinations: ReadonlyMap<string, Destination>,
  kinds: ReadonlyMap<string, HashKind[]>,
  opts: { heldFolders?: () => readonly string[]; limits?: BandwidthLimits } = {},
): TransferPool {
  // A one-shot run's schedule needs no stopping: its timer does not hold the process.
  const limits = opts.limits ?? new BandwidthLimits(cfg.settings);
  return new TransferPool(
    deps.store,
    {
      store: deps.store,
      destinations,
      folders: new Map(cfg.folders.map((f) => [f.id, f])),
      dispatcher: new Dispatcher(cfg.rules.map(compileRule)),
      workers: deps.workers,
      stagingDir: deps.store.stagingDir,
      rehash: rehasher(cfg, deps, kinds),
      kinds,
      twoWay: new Set(cfg.rules.filter((r) => r.mode === 'two-way').map((r) => r.name)),
      versions: new VersionKeeper(deps.store, processClock()),
    },
    deps.events,
    {
      concurrency: cfg.settings.transfers,
      retries: cfg.settings.retries,
      bandwidth: limits.up,
      downBandwidth: limits.down,
      ...(opts.heldFolders ? { heldFolders: opts.heldFolders } : {}),
    },
  );
}
