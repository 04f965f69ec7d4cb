import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { folderNeedsContentType, type FerryConfig, type FolderConfig, type RuleConfig } from '../../shared/config';
import type { PreviewResult } from '../../shared/contract';
import type { BelowQuorum, Plan } from './plan/planner';
import { stillBelowQuorum } from './plan/quorum';
import { Dispatcher } from './rules/dispatch';
import { previewRule } from './rules/preview';
import { compileRule } from './rules/ruleMatcher';
import type { Job } from './store/jobStore';
import type { FolderStatus, ServiceState } from '../../shared/events';
import type { HashKind } from '../../shared/hashes';
import type { LocalFile } from '../../shared/models';
import { IDLE_PROGRESS, ProgressModel, type ProgressSnapshot } from '../../shared/progress';
import { canWatch, type Destination } from './providers/types';
import {
  activeFolders,
  applyBaseUpdates,
  connectDestinations,
  destinationStates,
  kindsPerFolder,
  rehasher,
  passingFailuresRetried,
  planAll,
  toSerialized,
  transferPool,
  type DestinationFailure,
  type EngineDeps,
} from './runSteps';
import { releaseMemory } from './memory';
import { LivePath, mergeBelowQuorum } from './live/livePath';
import { purgeTrash, sweepDownloadLeftovers } from './trash';
import { scanChanges, scanFolder, type FolderScan } from './scan/scanner';
import { walkFolder } from './scan/walk';
import type { TransferPool } from './transfer/pool';
import { ChangeAggregator, DEFAULT_AGGREGATOR, type AggregatorOptions, type ChangeBatch } from './watch/aggregator';
import type { WatchHandle } from './watch/backends';
import { watchFolder } from './watch/folderWatcher';

export type ServiceOptions = {
  aggregator?: AggregatorOptions;
  /** Overrides settings.rescan_interval (tests). */
  rescanIntervalMs?: number;
  /** How often destinations that failed their check are tried again (default 30 s). */
  retryIntervalMs?: number;
  /** Overrides settings.remote_poll (tests). */
  remotePollMs?: number;
  /** How often a folder that was missing is looked for again (default 2 s). */
  folderCheckMs?: number;
};

export type ServiceStatus = {
  state: ServiceState;
  /** Every configured folder; `used` when a rule reads it (only those are watched and scanned). */
  folders: (FolderStatus & { used: boolean })[];
  destinations: { id: string; ok: boolean; error: string | null; used: boolean }[];
  queue: { pending: number; failed: number; bytesPending: number };
  /** Files with fewer verified copies than their rule's quorum, after the last cycle's transfers. */
  belowQuorum: BelowQuorum[];
  /** Files no rule catches. */
  uncaught: number;
  /** Deletions the last pass held back (the deletion brake), waiting for a person to confirm them. */
  heldDeletions: HeldDeletion[];
  /** Copies a rules change left behind at a mirror rule's destinations (kept until removed). */
  leftBehind: LeftBehind[];
  progress: ProgressSnapshot;
};

export type LeftBehind = { rule: string; destination: string; count: number; sample: string[] };

/** A rule's deletions held by the brake: `deletes` of the `total` files it keeps at `where`. */
export type HeldDeletion = { rule: string; where: string; deletes: number; total: number };

/**
 * The always-on engine: an initial full sync, then watchers whose events (hints) are coalesced per
 * folder into rescans; each rescan is planned and drained by the transfer pool. A periodic full
 * rescan with a listing of every destination is the safety net. Cycles run one at a time: changes
 * that arrive during one are picked up by the next.
 */
export class SyncService {
  private destinations = new Map<string, Destination>();
  private destinationErrors: DestinationFailure[] = [];
  private kinds = new Map<string, HashKind[]>();
  private readonly scans = new Map<string, FolderScan>();
  private readonly watchers = new Map<string, { handle: WatchHandle; aggregator: ChangeAggregator }>();
  private readonly folderStatus = new Map<string, FolderStatus>();
  private readonly dirty = new Map<string, ChangeBatch>();
  private readonly pausedFolders = new Set<string>();
  private pausedAll = false;
  private listNext = true;
  private cycling = false;
  private scannedSinceIdle = 0;
  private gcTimer: NodeJS.Timeout | undefined;
  private state: ServiceState = 'starting';
  private pool: TransferPool | undefined;
  private readonly controller = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly twoWay: boolean;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnecting: Promise<void> | undefined;
  private verifying = false;
  /** The latest plan: its dispatch feeds rule previews, its quorum and uncaught counts the status. */
  private lastPlan: Plan | undefined;
  /** Rules whose held deletions a person confirmed, for the next pass. */
  private readonly confirmedDeletes = new Set<string>();
  private belowQuorum: BelowQuorum[] = [];
  private readonly dispatcher: Dispatcher;
  /** Rules whose left-behind copies the person asked to remove, for the next pass. */
  private readonly cleanLeftBehindFor = new Set<string>();
  /** Folders whose path was missing (or not a folder) at the last look: looked for again every few seconds. */
  private readonly absent = new Set<string>();
  /** The inode of each folder as its watcher found it: another one at that path (moved away, made anew) is not watched. */
  private readonly watchedIno = new Map<string, number>();
  private folderTimer: NodeJS.Timeout | undefined;
  private checkingFolders = false;
  private readonly progressModel = new ProgressModel();
  private progressTimer: NodeJS.Timeout | undefined;
  private progressBusy = false;
  private offEvents: (() => void) | undefined;
  /** Plans a watcher's hints on their own when it can (see live/livePath.ts). */
  readonly live = new LivePath();

  constructor(
    private readonly cfg: FerryConfig,
    private readonly deps: EngineDeps,
    private readonly opts: ServiceOptions = {},
  ) {
    this.dispatcher = new Dispatcher(cfg.rules.map(compileRule));
    this.twoWay = cfg.rules.some((r) => r.mode === 'two-way');
  }

  async start(): Promise<void> {
    this.offEvents = this.deps.events.onAny((name, payload) => {
      this.progressModel.observe(name, payload);
      if (name === 'transfer:started') this.progressBusy = true;
    });
    // While transfers run, the one progress model is sent about twice a second (and once more at the end).
    this.progressTimer = setInterval(() => {
      if (!this.progressBusy) return;
      const p = this.progress();
      this.deps.events.emit('progress', p);
      this.progressBusy = p.running > 0 || p.filesLeft > 0;
    }, 500);
    this.progressTimer.unref();
    const { destinations, errors } = await connectDestinations(this.cfg, this.deps, this.controller.signal);
    this.destinations = destinations;
    this.destinationErrors = errors;
    this.kinds = kindsPerFolder(this.cfg, destinations);
    this.pool = transferPool(this.cfg, this.deps, destinations, this.kinds, { heldFolders: () => this.heldFolders() });
    for (const folder of activeFolders(this.cfg)) {
      this.setFolder(folder.id, { state: 'scanning' });
      // Watch before the first scan, so that nothing written during it goes unnoticed.
      await this.startWatcher(folder.id);
      this.markDirty({ folder: folder.id, paths: new Set(), full: true });
    }
    const every = this.opts.rescanIntervalMs ?? this.cfg.settings.rescan_interval * 1000;
    // The safety net also watches each folder afresh, just before its full rescan.
    this.rescanTimer = setInterval(() => {
      void Promise.all([...this.watchers.values()].map((w) => w.handle.refresh?.().catch(() => undefined))).finally(
        () => this.rescanAll(),
      );
    }, every);
    // Files deleted by two-way sync wait 30 days in each folder's trash.
    for (const r of this.cfg.rules) {
      const folder = this.cfg.folders.find((f) => f.id === r.from[0]);
      if (r.mode === 'two-way' && folder) {
        purgeTrash(folder.path);
        sweepDownloadLeftovers(folder.path);
      }
    }
    // A destination that announces changes (Dropbox's longpoll) wakes its two-way rules within seconds.
    for (const r of this.cfg.rules) {
      const dest = r.mode === 'two-way' ? this.destinations.get(r.to[0] as string) : undefined;
      if (dest && canWatch(dest))
        void dest.watchChanges(
          () => this.markDirty({ folder: r.from[0] as string, paths: new Set(), full: false }),
          this.controller.signal,
        );
    }
    // Otherwise (and as a safety net) they are looked for at the interval the person set.
    if (this.twoWay)
      this.pollTimer = setInterval(
        () => {
          for (const r of this.cfg.rules)
            if (r.mode === 'two-way') this.markDirty({ folder: r.from[0] as string, paths: new Set(), full: false });
        },
        this.opts.remotePollMs ?? this.cfg.settings.remote_poll * 1000,
      );
    this.retryTimer = setInterval(() => {
      if (this.cycling) return;
      void this.reconnect();
      // A local folder costs a stat to look at: an unplugged disk shows offline even while nothing changes.
      if (!this.verifying) {
        this.verifying = true;
        void this.verifyConnected((d) => d.type === 'local').finally(() => (this.verifying = false));
      }
    }, this.opts.retryIntervalMs ?? 30_000);
    // A folder renamed away or unmounted sends no event its watcher sees; one that is back needs a new watcher.
    this.folderTimer = setInterval(() => {
      if (this.checkingFolders) return;
      this.checkingFolders = true;
      void this.checkFolders().finally(() => (this.checkingFolders = false));
    }, this.opts.folderCheckMs ?? 2000);
    this.loop = this.run();
  }

  private heldFolders(): string[] {
    return this.pausedAll ? this.cfg.folders.map((f) => f.id) : [...this.pausedFolders];
  }

  private async startWatcher(folderId: string): Promise<void> {
    const folder = this.cfg.folders.find((f) => f.id === folderId);
    if (!folder) return;
    const aggregator = new ChangeAggregator(
      folder.id,
      folder.path,
      (b) => this.markDirty(b),
      this.opts.aggregator ?? DEFAULT_AGGREGATOR,
    );
    try {
      const handle = await watchFolder(
        folder,
        (paths) => aggregator.add(paths),
        (err) => {
          // A watcher that errs may have lost events: rescan the whole folder.
          this.deps.events.emit('warning', { folder: folder.id, message: `watcher error: ${err.message}` });
          aggregator.addFull();
        },
        (message) => this.deps.events.emit('warning', { folder: folder.id, message }),
        () => aggregator.addFull(),
      );
      this.watchers.set(folder.id, { handle, aggregator });
      const ino = await stat(folder.path).then(
        (st) => (st.isDirectory() ? st.ino : undefined),
        () => undefined,
      );
      if (ino === undefined) this.watchedIno.delete(folder.id);
      else this.watchedIno.set(folder.id, ino);
      this.setFolder(folder.id, { watcher: handle.backend });
    } catch (err) {
      // No watcher at all (the folder is missing, say): it is looked for again every few seconds.
      this.absent.add(folder.id);
      this.setFolder(folder.id, { state: 'error', error: `cannot watch ${folder.path}: ${(err as Error).message}` });
    }
  }

  /** Watches a folder afresh: a watcher on a folder that went away and came back sees nothing. */
  private async rewatch(folderId: string): Promise<void> {
    const old = this.watchers.get(folderId);
    this.watchers.delete(folderId);
    if (old) {
      old.aggregator.close();
      await old.handle.close().catch(() => undefined);
    }
    await this.startWatcher(folderId);
  }

  /**
   * Looks at each synced folder's path (a stat each, every few seconds): one that went away is scanned
   * (the scan says it is missing, and deletes nothing); one that is back, or another folder now at its
   * path, is watched afresh and scanned.
   */
  private async checkFolders(): Promise<void> {
    for (const folder of activeFolders(this.cfg)) {
      if (this.controller.signal.aborted) return;
      const st = await stat(folder.path).catch(() => undefined);
      const here = st?.isDirectory() === true;
      const full = () => this.markDirty({ folder: folder.id, paths: new Set(), full: true });
      if (this.absent.has(folder.id)) {
        if (!here) continue;
        this.absent.delete(folder.id);
        await this.rewatch(folder.id).finally(full);
      } else if (!here) {
        this.absent.add(folder.id);
        full();
      } else if (this.watchedIno.has(folder.id) && this.watchedIno.get(folder.id) !== st?.ino) {
        await this.rewatch(folder.id).finally(full);
      }
    }
  }

  /**
   * "Rescan" in the window: the folder is watched afresh, scanned whole and its destinations listed.
   * False for a folder no rule reads (it is not synced) or that is not configured.
   */
  rescanFolder(folderId: string): boolean {
    if (!activeFolders(this.cfg).some((f) => f.id === folderId)) return false;
    this.absent.delete(folderId);
    this.listNext = true;
    this.setFolder(folderId, { state: 'scanning' });
    void this.rewatch(folderId).finally(() => this.markDirty({ folder: folderId, paths: new Set(), full: true }));
    return true;
  }

  private markDirty(batch: ChangeBatch): void {
    const prev = this.dirty.get(batch.folder);
    if (prev) {
      prev.full ||= batch.full;
      for (const p of batch.paths) prev.paths.add(p);
    } else this.dirty.set(batch.folder, { ...batch, paths: new Set(batch.paths) });
    this.wake?.();
  }

  /** The safety net: every folder rescanned and every destination listed. */
  rescanAll(): void {
    this.listNext = true;
    for (const f of activeFolders(this.cfg)) this.markDirty({ folder: f.id, paths: new Set(), full: true });
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      const runnable = [...this.dirty.keys()].filter((f) => !this.pausedAll && !this.pausedFolders.has(f));
      if (runnable.length === 0) {
        // After a big scan, collect once the file workers have stopped too (they idle out after 5 s).
        if (this.scannedSinceIdle >= 10_000) this.gcTimer = setTimeout(releaseMemory, 6000).unref();
        this.scannedSinceIdle = 0;
        this.setState(this.pausedAll ? 'paused' : this.destinationErrors.length > 0 ? 'error' : 'idle');
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      if (this.gcTimer) clearTimeout(this.gcTimer);
      const batch = runnable.map((f) => this.dirty.get(f) as ChangeBatch);
      for (const f of runnable) this.dirty.delete(f);
      try {
        await this.cycle(batch);
      } catch (err) {
        this.deps.events.emit('warning', { message: `sync cycle failed: ${(err as Error).message}` });
      }
    }
  }

  /** Destinations that failed their check (a drive not mounted yet, a server down) are tried again. */
  private reconnect(): Promise<void> {
    this.reconnecting ??= this.tryReconnect().finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  private async tryReconnect(): Promise<void> {
    if (this.destinationErrors.length === 0 || this.controller.signal.aborted) return;
    const failed = new Set(this.destinationErrors.map((e) => e.destination));
    const retry = { ...this.cfg, destinations: this.cfg.destinations.filter((d) => failed.has(d.id)) };
    const { destinations, errors } = await connectDestinations(retry, this.deps, this.controller.signal);
    // The pool holds these maps: update them in place.
    for (const [id, dest] of destinations) this.destinations.set(id, dest);
    for (const [folder, kinds] of kindsPerFolder(this.cfg, this.destinations)) this.kinds.set(folder, kinds);
    this.destinationErrors = errors;
    if (destinations.size > 0) this.rescanAll();
  }

  /**
   * Every pass looks again, writing nothing, at the destinations it holds: a disk unplugged or a share
   * unmounted since the last pass is offline (nothing planned for it, the status says so) instead of
   * being written to, and reconnect() brings it back once its folder is there again.
   */
  private async verifyConnected(which: (d: Destination) => boolean = () => true): Promise<void> {
    const signal = this.controller.signal;
    await Promise.all(
      [...this.destinations].map(async ([id, dest]) => {
        if (!which(dest)) return;
        try {
          await passingFailuresRetried(() => dest.check(signal, { write: false }), signal);
        } catch (err) {
          if (signal.aborted) return;
          // The pool holds this map: removed in place, the next plan has nothing for it.
          this.destinations.delete(id);
          await dest.close().catch(() => undefined);
          const error = toSerialized(err, id);
          this.destinationErrors = [
            ...this.destinationErrors.filter((e) => e.destination !== id),
            { destination: id, error },
          ];
          this.deps.events.emit('destination:error', { destination: id, error });
        }
      }),
    );
  }

  private async cycle(batch: ChangeBatch[]): Promise<void> {
    this.cycling = true;
    this.setState('syncing');
    try {
      await this.reconnect();
      await this.verifyConnected();
      const wanted = new Set(batch.map((b) => b.folder));
      const folders = activeFolders(this.cfg, new Set(this.heldFolders())).filter((f) => wanted.has(f.id));
      for (const f of folders) this.setFolder(f.id, { state: 'scanning' });
      const live = await this.live.pass(
        folders.map((f) => ({ folder: f, hints: batch.find((b) => b.folder === f.id) })),
        {
          cfg: this.cfg,
          deps: this.deps,
          dispatcher: this.dispatcher,
          destinations: this.destinations,
          kinds: this.kinds,
          scans: this.scans,
          lastPlan: this.lastPlan,
          fullPass: this.listNext
            ? 'a listing is due'
            : this.confirmedDeletes.size > 0
              ? 'deletions confirmed'
              : this.cleanLeftBehindFor.size > 0
                ? 'left-behind copies to remove'
                : undefined,
        },
      );
      const fresh = new Map<string, FolderScan>();
      const scanDeps = { index: this.deps.store.index, workers: this.deps.workers, events: this.deps.events };
      for (const f of folders) {
        const hints = batch.find((b) => b.folder === f.id);
        const prev = this.scans.get(f.id);
        // Watcher hints rescan only what they name; the first scan, an overflow or the safety net rescan all.
        const scanOpts = { sniff: folderNeedsContentType(this.cfg, f.id) };
        const scan =
          live.scanned.get(f.id) ??
          (!hints || hints.full || !prev
            ? await scanFolder(f, this.kinds.get(f.id) ?? [], scanDeps, scanOpts)
            : await scanChanges(f, this.kinds.get(f.id) ?? [], scanDeps, [...hints.paths], prev, scanOpts));
        fresh.set(f.id, scan);
        this.scannedSinceIdle += hints?.full === false ? hints.paths.size : scan.files.size;
      }
      for (const [id, scan] of fresh) {
        this.scans.set(id, scan);
        if (scan.issues.some((i) => i.code === 'missing-folder' || i.code === 'not-a-folder')) this.absent.add(id);
        this.setFolder(id, {
          state: 'syncing',
          files: scan.files.size,
          lastScanAt: Date.now(),
          error: scan.complete ? null : (scan.issues.find((i) => i.blocking)?.message ?? 'incomplete scan'),
        });
      }
      if (live.queued) {
        // Only the changed paths were planned and queued: drain them, keep the brake and quorum current.
        await this.pool?.drain(this.controller.signal);
        if (!this.controller.signal.aborted) this.deps.store.brakes.putMany(live.baselines);
        this.belowQuorum = mergeBelowQuorum(this.belowQuorum, live, this.deps);
        return;
      }
      const planned = new Map(
        [...this.scans].filter(([id]) => activeFolders(this.cfg, new Set(this.heldFolders())).some((f) => f.id === id)),
      );
      // Two-way rules compare with the destination every pass: changes come from there too.
      const { states } = await destinationStates(this.destinations, this.deps, {
        list: this.listNext || this.twoWay,
        signal: this.controller.signal,
        rules: this.cfg.rules,
        rehash: rehasher(this.cfg, this.deps, this.kinds),
      });
      this.listNext = false;
      // A confirmation covers the pass that follows it: a later mass deletion is held again.
      const consent = new Set(this.confirmedDeletes);
      this.confirmedDeletes.clear();
      const cleanLeftBehind = new Set(this.cleanLeftBehindFor);
      this.cleanLeftBehindFor.clear();
      const thePlan = planAll(
        this.cfg,
        planned,
        states,
        consent,
        this.dispatcher,
        (r) => this.deps.store.base.forRule(r),
        { brakeBaselines: this.deps.store.brakes.all(), cleanLeftBehind },
      );
      this.lastPlan = thePlan;
      this.deps.events.emit('deletions:held', { held: this.heldDeletions() });
      this.deps.store.jobs.replacePlan(thePlan.actions);
      applyBaseUpdates(this.deps.store, thePlan);
      await this.pool?.drain(this.controller.signal);
      // The pass ran to its end: the brake's baselines follow what it did (or the person confirmed).
      if (!this.controller.signal.aborted) this.deps.store.brakes.putMany(thePlan.brakeBaselines);
      this.belowQuorum = stillBelowQuorum(thePlan.belowQuorum, this.deps.store.shipped).filter(
        (b) => this.deps.store.index.get(b.folder, b.path) !== undefined,
      );
    } finally {
      this.cycling = false;
      for (const [id, st] of this.folderStatus)
        if (st.state === 'syncing' || st.state === 'scanning')
          this.setFolder(id, {
            state: this.pausedFolders.has(id) || this.pausedAll ? 'paused' : st.error ? 'error' : 'watching',
          });
    }
  }

  pause(folder?: string): void {
    if (folder === undefined) this.pausedAll = true;
    else this.pausedFolders.add(folder);
    for (const f of this.cfg.folders)
      if (folder === undefined || f.id === folder) this.setFolder(f.id, { state: 'paused' });
    if (this.pausedAll) this.setState('paused');
    // Its running transfers stop now, not when they end: a pause that lets them run on is no pause.
    this.pool?.stopHeld();
  }

  /**
   * Resumes at once: the queued work runs, with what the watchers saw meanwhile (they kept watching,
   * so no full rescan is needed: it would keep the person waiting on a big folder).
   */
  resume(folder?: string): void {
    const wasAll = this.pausedAll;
    if (folder === undefined) {
      this.pausedAll = false;
      this.pausedFolders.clear();
    } else this.pausedFolders.delete(folder);
    let any = false;
    for (const f of activeFolders(this.cfg))
      if (folder === undefined || f.id === folder) {
        any = true;
        this.setFolder(f.id, { state: 'syncing' });
        this.markDirty({ folder: f.id, paths: new Set(), full: false });
      }
    if (wasAll && !this.pausedAll) this.setState(any ? 'syncing' : 'idle');
  }

  status(): ServiceStatus {
    const used = new Set(activeFolders(this.cfg).map((f) => f.id));
    return {
      state: this.state,
      folders: this.cfg.folders.map((f) => {
        const st = this.folderStatus.get(f.id);
        if (used.has(f.id))
          return {
            ...(st ?? { folder: f.id, state: 'scanning', files: 0, watcher: null, lastScanAt: null, error: null }),
            used: true,
          };
        // Not synced (paused in the config, or no rule reads it): still, a path that is not there is said.
        const missing = isFolder(f.path) ? null : `${f.path} does not exist or is not a folder`;
        return {
          folder: f.id,
          state: missing ? 'error' : f.paused ? 'paused' : 'watching',
          files: st?.files ?? 0,
          watcher: null,
          lastScanAt: st?.lastScanAt ?? null,
          error: missing,
          used: used.has(f.id),
        };
      }),
      destinations: this.cfg.destinations.map((d) => {
        const err = this.destinationErrors.find((e) => e.destination === d.id);
        return {
          id: d.id,
          ok: err === undefined && this.destinations.has(d.id),
          error: err ? err.error.message : null,
          used: this.cfg.rules.some((r) => r.to.includes(d.id)),
        };
      }),
      queue: this.deps.store.jobs.counts(),
      belowQuorum: this.belowQuorum,
      uncaught: this.lastPlan?.unmatched ?? 0,
      heldDeletions: this.heldDeletions(),
      leftBehind: this.leftBehind(),
      progress: this.progress(),
    };
  }

  /** The one progress model's figures (shared/progress.ts), against what the queue holds now. */
  progress(): ProgressSnapshot {
    if (!this.pool) return { ...IDLE_PROGRESS, at: Date.now() };
    return this.progressModel.snapshot(this.deps.store.jobs.queuedByFolder());
  }

  private leftBehind(): LeftBehind[] {
    return (this.lastPlan?.problems ?? []).flatMap((p) =>
      p.kind === 'left-behind' ? [{ rule: p.rule, destination: p.destination, count: p.count, sample: p.sample }] : [],
    );
  }

  /**
   * "Remove the copies left behind" in the window: the rule's folders are planned again at once, and
   * each such copy whose file is still in the folder with the same content goes. False when none is kept.
   */
  cleanLeftBehind(rule: string): boolean {
    if (!this.leftBehind().some((l) => l.rule === rule)) return false;
    this.cleanLeftBehindFor.add(rule);
    const r = this.cfg.rules.find((x) => x.name === rule);
    for (const f of r?.from ?? []) this.markDirty({ folder: f, paths: new Set(), full: true });
    return true;
  }

  private heldDeletions(): HeldDeletion[] {
    return (this.lastPlan?.problems ?? []).flatMap((p) =>
      p.kind === 'delete-brake' ? [{ rule: p.rule, where: p.destination, deletes: p.deletes, total: p.total }] : [],
    );
  }

  /**
   * A person confirmed the deletions the brake holds for `rule`: the rule's folders are planned again
   * at once with its deletions allowed, for that one pass. False when nothing is held for it.
   */
  confirmDeletes(rule: string): boolean {
    if (!this.heldDeletions().some((h) => h.rule === rule)) return false;
    this.confirmedDeletes.add(rule);
    const r = this.cfg.rules.find((x) => x.name === rule);
    for (const f of r?.from ?? []) this.markDirty({ folder: f, paths: new Set(), full: true });
    return true;
  }

  /** A folder's files as the latest scan (or the index) knows them. */
  filesOf(folder: string): ReadonlyMap<string, LocalFile> {
    return this.scans.get(folder)?.files ?? this.deps.store.index.loadFolder(folder);
  }

  /** A destination this service is connected to (its check passed), for browsing and share links. */
  connected(id: string): Destination | undefined {
    return this.destinations.get(id);
  }

  /** Jobs running now. */
  activeJobs(): Job[] {
    return [...(this.pool?.active.values() ?? [])];
  }

  /** Cancels a running transfer; it is recorded as cancelled and comes back with the next change or rescan. */
  cancel(jobId: number): boolean {
    return this.pool?.cancel(jobId) ?? false;
  }

  /** Plans a folder again soon (after a retry, say). */
  requestRescan(folder?: string): void {
    for (const f of activeFolders(this.cfg))
      if (folder === undefined || f.id === folder) this.markDirty({ folder: f.id, paths: new Set(), full: true });
  }

  /** What a draft rule would do, from the latest scans (see rules/preview.ts). */
  preview(rule: RuleConfig, limit: number): PreviewResult {
    const folders = new Map<string, ReadonlyMap<string, LocalFile>>();
    for (const f of activeFolders(this.cfg))
      folders.set(f.id, this.scans.get(f.id)?.files ?? this.deps.store.index.loadFolder(f.id));
    // A folder no rule reads yet was never scanned: the draft (its first rule, say) is previewed on a listing.
    for (const id of rule.from) {
      const f = this.cfg.folders.find((x) => x.id === id);
      if (f && (folders.get(id)?.size ?? 0) === 0) folders.set(id, this.listed(f));
    }
    return previewRule({
      rules: this.cfg.rules,
      draft: rule,
      folders,
      now: Date.now(),
      limit,
      ...(this.lastPlan ? { caught: this.lastPlan.caught } : {}),
    });
  }

  private readonly listings = new Map<string, { at: number; files: ReadonlyMap<string, LocalFile> }>();

  /** The folder's files by a walk (no hashing), kept a few seconds: previews come once per keystroke pause. */
  private listed(folder: FolderConfig): ReadonlyMap<string, LocalFile> {
    const hit = this.listings.get(folder.id);
    if (hit && Date.now() - hit.at < 5000) return hit.files;
    const files = new Map<string, LocalFile>();
    for (const w of walkFolder(folder.id, folder.path, folder.ignore).files)
      files.set(w.path, { folder: folder.id, ...w, hashes: { sha256: '' } });
    this.listings.set(folder.id, { at: Date.now(), files });
    return files;
  }

  private setState(state: ServiceState): void {
    if (state === this.state) return;
    this.state = state;
    this.deps.events.emit('service:status', { state });
  }

  private setFolder(folder: string, patch: Partial<Omit<FolderStatus, 'folder'>>): void {
    const prev = this.folderStatus.get(folder) ?? {
      folder,
      state: 'scanning',
      files: 0,
      watcher: null,
      lastScanAt: null,
      error: null,
    };
    const next = { ...prev, ...patch };
    this.folderStatus.set(folder, next);
    this.deps.events.emit('folder:status', next);
  }

  /** Stops watching, lets running transfers be interrupted (they stay queued) and waits for the loop. */
  /**
   * Stops watching and syncing. With `graceMs`, transfers already running get that long to finish
   * (nothing new starts) before they are interrupted; either way what did not finish stays queued.
   */
  async stop(graceMs = 0): Promise<void> {
    if (graceMs > 0 && this.pool && this.pool.active.size > 0) {
      this.pool.closeIntake();
      const until = Date.now() + graceMs;
      while (this.pool.active.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    }
    this.controller.abort(new Error('stopping'));
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearInterval(this.retryTimer);
    if (this.folderTimer) clearInterval(this.folderTimer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.offEvents?.();
    if (this.gcTimer) clearTimeout(this.gcTimer);
    this.wake?.();
    await this.reconnecting;
    for (const { handle, aggregator } of this.watchers.values()) {
      aggregator.close();
      await handle.close().catch(() => undefined);
    }
    await this.loop;
    await Promise.all([...this.destinations.values()].map((d) => d.close().catch(() => undefined)));
    this.setState('stopped');
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
