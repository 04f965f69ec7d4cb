import { statSync } from 'node:fs';
import { folderNeedsContentType, type FerryConfig, type FolderConfig, type RuleConfig } from '../../../shared/config';
import type { PreviewResult } from '../../../shared/contract';
import type { BelowQuorum, Plan } from '../plan/planner';
import { stillBelowQuorum } from '../plan/quorum';
import { Dispatcher } from '../rules/dispatch';
import { previewRule } from '../rules/preview';
import { compileRule } from '../rules/ruleMatcher';
import type { Job } from '../store/jobStore';
import type { FolderStatus, ServiceState } from '../../../shared/events';
import type { LocalFile } from '../../../shared/models';
import { IDLE_PROGRESS, type ProgressSnapshot } from '../../../shared/progress';
import { canWatch, type Destination } from '../providers/types';
import {
  activeFolders,
  applyBaseUpdates,
  destinationStates,
  planAll,
  rehasher,
  transferPool,
  type EngineDeps,
} from './runSteps';
import { releaseMemory } from '../diagnostics/memory';
import { LivePath, mergeBelowQuorum } from '../live/livePath';
import { purgeTrash, sweepDownloadLeftovers } from './trash';
import { scanChanges, scanFolder, type FolderScan } from '../scan/scanner';
import { walkFolder } from '../scan/walk';
import { DestinationSet } from '../service/destinationSet';
import { FolderWatchers } from '../service/folderWatchers';
import { Scheduler } from '../service/scheduler';
import { StatusModel } from '../service/statusModel';
import { BandwidthLimits, type BandwidthSettings, type ScheduleClock } from '../transfer/bandwidthLimits';
import type { TransferPool } from '../transfer/pool';
import type { AggregatorOptions, ChangeBatch } from '../watch/aggregator';

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
  /** The wall clock the bandwidth schedule follows (tests). */
  clock?: ScheduleClock;
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
  /** The caps in force now (bytes/s, 0 = none) and when the schedule changes them next (ms). */
  bandwidth: { up: number; down: number; until: number | null; scheduled: boolean };
  /** Why everything is held without the person asking (on battery, a metered network); null when not. */
  hold: string | null;
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
  private readonly controller = new AbortController();
  private readonly dests: DestinationSet;
  private readonly statusModel: StatusModel;
  private readonly schedule: Scheduler;
  private readonly watchers: FolderWatchers;
  private readonly scans = new Map<string, FolderScan>();
  private pool: TransferPool | undefined;
  private readonly twoWay: boolean;
  private readonly dispatcher: Dispatcher;
  /** The latest plan: its dispatch feeds rule previews, its quorum and uncaught counts the status. */
  private lastPlan: Plan | undefined;
  /** Rules whose held deletions a person confirmed, for the next pass. */
  private readonly confirmedDeletes = new Set<string>();
  /** Rules whose left-behind copies the person asked to remove, for the next pass. */
  private readonly cleanLeftBehindFor = new Set<string>();
  private belowQuorum: BelowQuorum[] = [];
  private cycling = false;
  private scannedSinceIdle = 0;
  private loop: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The bandwidth caps, from the settings and the clock; changed in place by `setBandwidth`. */
  private readonly limits: BandwidthLimits;
  /** Why the service holds everything by itself (see `hold`); `holdPaused`: the hold did the pausing. */
  private heldBy: string | undefined;
  private holdPaused = false;
  private gcTimer: NodeJS.Timeout | undefined;
  /** Plans a watcher's hints on their own when it can (see live/livePath.ts). */
  readonly live = new LivePath();

  constructor(
    private readonly cfg: FerryConfig,
    private readonly deps: EngineDeps,
    private readonly opts: ServiceOptions = {},
  ) {
    this.limits = new BandwidthLimits(cfg.settings, opts.clock);
    this.dispatcher = new Dispatcher(cfg.rules.map(compileRule));
    this.twoWay = cfg.rules.some((r) => r.mode === 'two-way');
    this.statusModel = new StatusModel(deps.events, deps.store.jobs);
    this.schedule = new Scheduler(() => cfg.folders.map((f) => f.id));
    this.dests = new DestinationSet(cfg, deps, this.controller.signal, () => this.rescanAll());
    this.watchers = new FolderWatchers(
      cfg,
      deps.events,
      { dirty: (b) => this.schedule.markDirty(b), setFolder: (f, patch) => this.statusModel.setFolder(f, patch) },
      opts.aggregator,
    );
  }

  async start(): Promise<void> {
    this.statusModel.start();
    await this.dests.connect();
    this.pool = transferPool(this.cfg, this.deps, this.dests.connected, this.dests.kinds, {
      heldFolders: () => this.schedule.held(),
      limits: this.limits,
    });
    for (const folder of activeFolders(this.cfg)) {
      this.statusModel.setFolder(folder.id, { state: 'scanning' });
      // Watch before the first scan, so that nothing written during it goes unnoticed.
      await this.watchers.start(folder.id);
      this.schedule.markFull([folder.id]);
    }
    // The safety net also watches each folder afresh, just before its full rescan.
    this.every(this.opts.rescanIntervalMs ?? this.cfg.settings.rescan_interval * 1000, () => {
      void this.watchers.refreshAll().finally(() => this.rescanAll());
    });
    // Files deleted by two-way sync wait 30 days in each folder's trash.
    for (const r of this.cfg.rules) {
      const folder = this.cfg.folders.find((f) => f.id === r.from[0]);
      if (r.mode === 'two-way' && folder) {
        purgeTrash(folder.path);
        sweepDownloadLeftovers(folder.path);
      }
    }
    // A destination that announces changes (Dropbox's longpoll) wakes its two-way rules within seconds.
    const twoWayFolder = (folder: string) => () => this.schedule.markDirty({ folder, paths: new Set(), full: false });
    for (const r of this.cfg.rules) {
      const dest = r.mode === 'two-way' ? this.dests.connected.get(r.to[0] as string) : undefined;
      if (dest && canWatch(dest)) void dest.watchChanges(twoWayFolder(r.from[0] as string), this.controller.signal);
    }
    // Otherwise (and as a safety net) they are looked for at the interval the person set.
    if (this.twoWay)
      this.every(this.opts.remotePollMs ?? this.cfg.settings.remote_poll * 1000, () => {
        for (const r of this.cfg.rules) if (r.mode === 'two-way') twoWayFolder(r.from[0] as string)();
      });
    let verifying = false;
    this.every(this.opts.retryIntervalMs ?? 30_000, () => {
      if (this.cycling) return;
      void this.dests.reconnect();
      // A local folder costs a stat to look at: an unplugged disk shows offline even while nothing changes.
      if (!verifying) {
        verifying = true;
        void this.dests.verify((d) => d.type === 'local').finally(() => (verifying = false));
      }
    });
    let checking = false;
    this.every(this.opts.folderCheckMs ?? 2000, () => {
      if (checking) return;
      checking = true;
      void this.watchers.check(this.controller.signal).finally(() => (checking = false));
    });
    this.loop = this.run();
  }

  private every(ms: number, tick: () => void): void {
    this.timers.push(setInterval(tick, ms));
  }

  /**
   * "Rescan" in the window: the folder is watched afresh, scanned whole and its destinations listed.
   * False for a folder no rule reads (it is not synced) or that is not configured.
   */
  rescanFolder(folderId: string): boolean {
    if (!activeFolders(this.cfg).some((f) => f.id === folderId)) return false;
    this.schedule.listNext = true;
    this.statusModel.setFolder(folderId, { state: 'scanning' });
    void this.watchers.rewatch(folderId).finally(() => this.schedule.markFull([folderId]));
    return true;
  }

  /** The safety net: every folder rescanned and every destination listed. */
  rescanAll(): void {
    this.schedule.listNext = true;
    this.schedule.markFull(activeFolders(this.cfg).map((f) => f.id));
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      const batch = this.schedule.take();
      if (batch.length === 0) {
        // After a big scan, collect once the file workers have stopped too (they idle out after 5 s).
        if (this.scannedSinceIdle >= 10_000) this.gcTimer = setTimeout(releaseMemory, 6000).unref();
        this.scannedSinceIdle = 0;
        this.statusModel.setState(
          this.schedule.allPaused ? 'paused' : this.dests.failures.length > 0 ? 'error' : 'idle',
        );
        await this.schedule.idle();
        continue;
      }
      if (this.gcTimer) clearTimeout(this.gcTimer);
      try {
        await this.cycle(batch);
      } catch (err) {
        this.deps.events.emit('warning', { message: `sync cycle failed: ${(err as Error).message}` });
      }
    }
  }

  private async cycle(batch: ChangeBatch[]): Promise<void> {
    this.cycling = true;
    this.statusModel.setState('syncing');
    try {
      await this.dests.reconnect();
      await this.dests.verify();
      const wanted = new Set(batch.map((b) => b.folder));
      const folders = activeFolders(this.cfg, new Set(this.schedule.held())).filter((f) => wanted.has(f.id));
      for (const f of folders) this.statusModel.setFolder(f.id, { state: 'scanning' });
      const live = await this.live.pass(
        folders.map((f) => ({ folder: f, hints: batch.find((b) => b.folder === f.id) })),
        {
          cfg: this.cfg,
          deps: this.deps,
          dispatcher: this.dispatcher,
          destinations: this.dests.connected,
          kinds: this.dests.kinds,
          scans: this.scans,
          lastPlan: this.lastPlan,
          fullPass: this.schedule.listNext
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
            ? await scanFolder(f, this.dests.kinds.get(f.id) ?? [], scanDeps, scanOpts)
            : await scanChanges(f, this.dests.kinds.get(f.id) ?? [], scanDeps, [...hints.paths], prev, scanOpts));
        fresh.set(f.id, scan);
        this.scannedSinceIdle += hints?.full === false ? hints.paths.size : scan.files.size;
      }
      for (const [id, scan] of fresh) {
        this.scans.set(id, scan);
        if (scan.issues.some((i) => i.code === 'missing-folder' || i.code === 'not-a-folder'))
          this.watchers.markAbsent(id);
        this.statusModel.setFolder(id, {
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
        [...this.scans].filter(([id]) =>
          activeFolders(this.cfg, new Set(this.schedule.held())).some((f) => f.id === id),
        ),
      );
      // Two-way rules compare with the destination every pass: changes come from there too.
      const { states } = await destinationStates(this.dests.connected, this.deps, {
        list: this.schedule.listNext || this.twoWay,
        signal: this.controller.signal,
        rules: this.cfg.rules,
        rehash: rehasher(this.cfg, this.deps, this.dests.kinds),
      });
      this.schedule.listNext = false;
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
      // The queue holds them now; kept as the service's last plan they were ~40 % of an idle daemon's heap.
      thePlan.actions = [];
      applyBaseUpdates(this.deps.store, thePlan);
      await this.pool?.drain(this.controller.signal);
      // The pass ran to its end: the brake's baselines follow what it did (or the person confirmed).
      if (!this.controller.signal.aborted) this.deps.store.brakes.putMany(thePlan.brakeBaselines);
      this.belowQuorum = stillBelowQuorum(thePlan.belowQuorum, this.deps.store.shipped).filter(
        (b) => this.deps.store.index.get(b.folder, b.path) !== undefined,
      );
    } finally {
      this.cycling = false;
      for (const [id, st] of this.statusModel.allFolders())
        if (st.state === 'syncing' || st.state === 'scanning')
          this.statusModel.setFolder(id, {
            state: this.schedule.isPaused(id) ? 'paused' : st.error ? 'error' : 'watching',
          });
    }
  }

  pause(folder?: string): void {
    this.schedule.pause(folder);
    for (const f of this.cfg.folders)
      if (folder === undefined || f.id === folder) this.statusModel.setFolder(f.id, { state: 'paused' });
    if (this.schedule.allPaused) this.statusModel.setState('paused');
    // Its running transfers stop now, not when they end: a pause that lets them run on is no pause.
    this.pool?.stopHeld();
  }

  /**
   * Resumes at once: the queued work runs, with what the watchers saw meanwhile (they kept watching,
   * so no full rescan is needed: it would keep the person waiting on a big folder).
   */
  resume(folder?: string): void {
    // Resumed by the person while held (on battery, say): theirs to decide, until the condition changes.
    if (folder === undefined) {
      this.heldBy = undefined;
      this.holdPaused = false;
    }
    const wasAll = this.schedule.resume(folder);
    let any = false;
    for (const f of activeFolders(this.cfg))
      if (folder === undefined || f.id === folder) {
        any = true;
        this.statusModel.setFolder(f.id, { state: 'syncing' });
        this.schedule.markDirty({ folder: f.id, paths: new Set(), full: false });
      }
    if (wasAll && !this.schedule.allPaused) this.statusModel.setState(any ? 'syncing' : 'idle');
  }

  /**
   * Holds everything for a reason the person did not give (on battery, a metered network: the desktop
   * app's power policy), or lets go of it. A pause the person made stays theirs: letting go resumes
   * only what the hold paused.
   */
  hold(reason: string | undefined): void {
    if (reason !== undefined) {
      if (this.heldBy === undefined && !this.schedule.allPaused) {
        this.pause();
        this.holdPaused = true;
      }
      this.heldBy = reason;
      return;
    }
    const paused = this.holdPaused;
    this.heldBy = undefined;
    this.holdPaused = false;
    if (paused) this.resume();
  }

  /** Why everything is held now without the person asking (see `hold`); undefined when not. */
  get heldReason(): string | undefined {
    return this.heldBy;
  }

  /** New bandwidth settings, in force at once: running transfers book from the new caps, none restarts. */
  setBandwidth(settings: BandwidthSettings): void {
    this.limits.apply(settings);
  }

  status(): ServiceStatus {
    const used = new Set(activeFolders(this.cfg).map((f) => f.id));
    return {
      state: this.statusModel.current,
      folders: this.cfg.folders.map((f) => {
        const st = this.statusModel.folder(f.id);
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
      destinations: this.dests.statusRows(),
      queue: this.deps.store.jobs.counts(),
      belowQuorum: this.belowQuorum,
      uncaught: this.lastPlan?.unmatched ?? 0,
      heldDeletions: this.heldDeletions(),
      leftBehind: this.leftBehind(),
      progress: this.progress(),
      bandwidth: this.bandwidthNow(),
      hold: this.heldBy ?? null,
    };
  }

  private bandwidthNow(): ServiceStatus['bandwidth'] {
    const now = this.limits.inForce();
    return { ...now.limit, until: now.until?.getTime() ?? null, scheduled: now.scheduled };
  }

  /** The one progress model's figures (shared/progress.ts), against what the queue holds now. */
  progress(): ProgressSnapshot {
    if (!this.pool) return { ...IDLE_PROGRESS, at: Date.now() };
    return this.statusModel.progress();
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
    for (const f of r?.from ?? []) this.schedule.markDirty({ folder: f, paths: new Set(), full: true });
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
    for (const f of r?.from ?? []) this.schedule.markDirty({ folder: f, paths: new Set(), full: true });
    return true;
  }

  /** A folder's files as the latest scan (or the index) knows them. */
  filesOf(folder: string): ReadonlyMap<string, LocalFile> {
    return this.scans.get(folder)?.files ?? this.deps.store.index.loadFolder(folder);
  }

  /** A destination this service is connected to (its check passed), for browsing and share links. */
  connected(id: string): Destination | undefined {
    return this.dests.connected.get(id);
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
      if (folder === undefined || f.id === folder)
        this.schedule.markDirty({ folder: f.id, paths: new Set(), full: true });
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
    this.limits.stop();
    for (const t of this.timers) clearInterval(t);
    this.statusModel.stop();
    if (this.gcTimer) clearTimeout(this.gcTimer);
    this.schedule.poke();
    await this.watchers.close();
    await this.loop;
    await this.dests.close();
    this.statusModel.setState('stopped');
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
