import { performance } from 'node:perf_hooks';
import { FerryError, isRetryable } from '../../../shared/errors';
import { logDurability } from '../diagnostics/durabilityLog';
import type { EventBus } from '../events';
import { canUploadBatch, type BatchUpload, type Destination } from '../providers/types';
import { transferRef, type Job } from '../store/jobStore';
import type { Store } from '../store/store';
import { retryDelay, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
import type { Bandwidth } from './bandwidth';
import { withFix } from './failureFix';
import { executeJob, executeUploadBatch, type ExecutorDeps, type JobResult } from './executor';

export type PoolOptions = {
  concurrency: number;
  /** Attempts after the first, for errors where retrying helps. */
  retries: number;
  backoff?: BackoffPolicy;
  bandwidth: Bandwidth;
  /** Downloads' cap, when it differs from uploads' (settings.bandwidth_schedule's upload:download). */
  downBandwidth?: Bandwidth;
  now?: () => number;
  /** Folders whose jobs must not start now (paused): they stay queued for a later drain. */
  heldFolders?: () => readonly string[];
};

export type PoolStats = { done: number; skipped: number; failed: number; bytes: number };

const PROGRESS_EVERY_MS = 200;

function toFerryError(raw: unknown): FerryError {
  return raw instanceof FerryError
    ? raw
    : new FerryError('permanent', 'internal', `unexpected error: ${(raw as Error).message ?? String(raw)}`, {
        cause: raw,
      });
}

/**
 * N workers draining the persistent queue. Every job is in the database before it runs and stays
 * there until it has settled; a later phase starts only when every job of the earlier ones has. Small uploads to a
 * destination that takes batches go together. Retries and backoff live here and nowhere else:
 * providers only classify their errors.
 */
export class TransferPool {
  private readonly controllers = new Map<number, AbortController>();
  private readonly waiters = new Set<() => void>();
  private lastQueueEvent = 0;
  /** What the last count of the queue took (wall time, ms). */
  private countCostMs = 0;
  readonly stats: PoolStats = { done: 0, skipped: 0, failed: 0, bytes: 0 };

  constructor(
    private readonly store: Store,
    private readonly exec: ExecutorDeps,
    private readonly events: EventBus,
    private readonly opts: PoolOptions,
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /**
   * Starts no new job; the running ones finish (a graceful quit waits for them a while before it
   * interrupts them, and what was not started stays queued).
   */
  closeIntake(): void {
    this.closing = true;
    this.notify();
  }

  /** Runs until no job is pending or active (failed jobs stay for the person), or until `signal` aborts. */
  async drain(signal: AbortSignal): Promise<PoolStats> {
    // Read the queue afresh: a new plan may have replaced what an earlier drain had buffered.
    this.phase = undefined;
    this.cursor = 0;
    this.buffer = [];
    this.waiting = [];
    const onAbort = () => {
      for (const c of this.controllers.values()) c.abort(signal.reason);
      this.notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(Array.from({ length: this.opts.concurrency }, () => this.worker(signal)));
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.emitQueue(true);
    }
    return this.stats;
  }

  /** Cancels one running job; it is recorded as cancelled and not retried. */
  cancel(jobId: number): boolean {
    const c = this.controllers.get(jobId);
    c?.abort(new FerryError('cancelled', 'cancelled', 'cancelled by the person'));
    return c !== undefined;
  }

  /**
   * Stops the running jobs of folders just paused, at once: their bytes stop moving, and they stay
   * queued (a resumable upload keeps what the destination holds) for when the folder is resumed.
   */
  stopHeld(): number {
    const held = this.opts.heldFolders?.() ?? [];
    const stopped = new Set<AbortController>();
    for (const job of this.active.values()) {
      const c = this.controllers.get(job.id);
      if (c && held.includes(job.folder) && !stopped.has(c)) {
        c.abort(new FerryError('cancelled', 'paused', 'the folder was paused'));
        stopped.add(c);
      }
    }
    this.notify();
    return stopped.size;
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Waits for `ms`, or less if any job settles first (which may make another runnable). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private phase: number | undefined;
  private cursor = 0;
  private buffer: Job[] = [];
  /** Jobs waiting for their retry time (their not_before is persisted too). */
  private waiting: Job[] = [];
  private running = 0;
  private closing = false;
  /** Jobs running now, for the queue's "active" tab. */
  readonly active = new Map<number, Job>();
  /** A destination that answered "slow down" (rate-limited, with its hint) gets no new work until then. */
  private readonly destinationHeldUntil = new Map<string, number>();

  /**
   * The next unit of work: one job, or a batch of small uploads to one destination. The queue is read
   * in pages, in id order, one phase at a time; the next phase starts when nothing of this one is
   * buffered, running or waiting to be retried.
   */
  private take(): Job[] | 'wait' | 'done' {
    if (this.closing) return this.running > 0 ? 'wait' : 'done';
    const now = this.now();
    const held = this.opts.heldFolders?.() ?? [];
    if (held.length > 0) {
      this.buffer = this.buffer.filter((j) => !held.includes(j.folder));
      this.waiting = this.waiting.filter((j) => !held.includes(j.folder));
    }
    const slowed = (j: Job) => j.destination !== undefined && (this.destinationHeldUntil.get(j.destination) ?? 0) > now;
    // Jobs for a destination on hold wait for the hold's end; waiting costs them no attempt.
    const holdSlowed = () => {
      if (this.destinationHeldUntil.size === 0 || !this.buffer.some(slowed)) return;
      for (const j of this.buffer.filter(slowed))
        this.waiting.push({ ...j, notBefore: this.destinationHeldUntil.get(j.destination as string) as number });
      this.buffer = this.buffer.filter((j) => !slowed(j));
    };
    holdSlowed();
    const due = this.waiting.findIndex((j) => j.notBefore <= now && !slowed(j));
    if (due >= 0) return this.waiting.splice(due, 1);
    for (;;) {
      if (this.buffer.length === 0 && this.phase !== undefined) {
        const page = this.store.jobs.pendingAfter(this.phase, this.cursor, 512);
        if (page.length > 0) this.cursor = (page[page.length - 1] as Job).id;
        for (const job of page)
          if (!held.includes(job.folder)) (job.notBefore > now ? this.waiting : this.buffer).push(job);
      }
      holdSlowed();
      if (this.buffer.length > 0) return this.unitFromBuffer();
      if (this.running > 0 || this.waiting.length > 0) return 'wait';
      const next = this.store.jobs.currentPhase(held);
      if (next === undefined) return 'done';
      // Next phase (or this one again from the start, if jobs were added behind the cursor).
      if (next === this.phase && this.cursor === 0) return 'done';
      this.phase = next;
      this.cursor = 0;
    }
  }

  private unitFromBuffer(): Job[] {
    const first = this.buffer.shift() as Job;
    const dest = first.destination === undefined ? undefined : this.exec.destinations.get(first.destination);
    // Compressed uploads go one by one: each needs its own staging file.
    // Two-way uploads go one by one too: each must write the base, and replace exactly what the plan saw.
    const batchable = (j: Job) => j.kind === 'upload' && j.encoding === undefined && !this.exec.twoWay?.has(j.rule);
    if (!batchable(first) || !dest || !canUploadBatch(dest) || first.size > dest.batchLimits.fileSize) return [first];
    const unit = [first];
    let bytes = first.size;
    const { files, fileSize, bytes: maxBytes } = dest.batchLimits;
    while (unit.length < files) {
      const next = this.buffer[0];
      if (
        !next ||
        !batchable(next) ||
        next.destination !== first.destination ||
        next.size > fileSize ||
        bytes + next.size > maxBytes
      )
        break;
      unit.push(this.buffer.shift() as Job);
      bytes += next.size;
    }
    return unit;
  }

  private waitMs(): number {
    const soonest = Math.min(...this.waiting.map((j) => j.notBefore));
    return Number.isFinite(soonest) ? Math.max(1, Math.min(1000, soonest - this.now())) : 1000;
  }

  private async worker(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const unit = this.take();
      if (unit === 'done') return;
      if (unit === 'wait') {
        await this.sleep(this.waitMs());
        continue;
      }
      this.running += unit.length;
      for (const j of unit) this.active.set(j.id, j);
      try {
        const first = unit[0] as Job;
        const dest = first.destination === undefined ? undefined : this.exec.destinations.get(first.destination);
        if (unit.length > 1 && dest && canUploadBatch(dest)) await this.runBatch(unit, dest);
        else await this.run(first);
      } finally {
        this.running -= unit.length;
        for (const j of unit) this.active.delete(j.id);
      }
      this.emitQueue();
      this.notify();
    }
  }

  /**
   * Awaited before bytes are sent: the bandwidth cap, and the pause. A transfer whose folder was paused
   * meanwhile does not start; it stays queued.
   */
  private capFor(job: Job): Bandwidth {
    return job.kind === 'download' ? (this.opts.downBandwidth ?? this.opts.bandwidth) : this.opts.bandwidth;
  }

  private pacer(jobs: readonly Job[], signal: AbortSignal): (bytes: number) => Promise<void> {
    const cap = this.capFor(jobs[0] as Job);
    return async (bytes) => {
      await cap.take(bytes, signal);
      signal.throwIfAborted();
      const held = this.opts.heldFolders?.() ?? [];
      if (jobs.some((j) => held.includes(j.folder)))
        throw new FerryError('cancelled', 'paused', 'the folder was paused');
    };
  }

  private emitQueue(force = false): void {
    // Counting the queue costs a table scan: at most four times a second, and once at the end. A long
    // queue's count costs more (some 10 ms at 100,000 jobs): it is spaced so that counting never takes
    // more than a twentieth of the time.
    const t = this.now();
    if (!force && t - this.lastQueueEvent < Math.max(250, 20 * this.countCostMs)) return;
    this.lastQueueEvent = t;
    const c0 = performance.now();
    const { pending, failed, bytesPending } = this.store.jobs.counts();
    this.countCostMs = performance.now() - c0;
    this.events.emit('queue:changed', { pending: pending - this.running, active: this.running, failed, bytesPending });
  }

  private async run(job: Job): Promise<void> {
    const ref = transferRef(job);
    const controller = new AbortController();
    this.controllers.set(job.id, controller);
    const started = this.now();
    this.events.emit('transfer:started', ref);
    let lastProgress = 0;
    const onProgress = (bytes: number) => {
      const t = this.now();
      if (t - lastProgress < PROGRESS_EVERY_MS && bytes < job.size) return;
      lastProgress = t;
      const secs = Math.max((t - started) / 1000, 0.001);
      this.events.emit('transfer:progress', { ...ref, bytes, total: job.size, rate: bytes / secs });
    };
    let outcome: JobResult | FerryError;
    try {
      const opts = {
        signal: controller.signal,
        onProgress,
        pace: this.pacer([job], controller.signal),
        // Always handed over: a schedule may set a cap while the copy runs (a rate of 0 costs a load per chunk).
        sharedCap: this.capFor(job).shared,
      };
      outcome = await executeJob(job, opts, this.exec);
    } catch (raw) {
      outcome = toFerryError(raw);
    } finally {
      this.controllers.delete(job.id);
    }
    this.store.transaction(() => this.settle(job, outcome, started, controller.signal));
    if (job.kind === 'upload' && !(outcome instanceof FerryError) && outcome.outcome === 'done')
      logDurability('recorded', job.destination as string, job.remotePath as string);
  }

  private async runBatch(jobs: Job[], dest: Destination & BatchUpload): Promise<void> {
    const controller = new AbortController();
    for (const j of jobs) {
      this.controllers.set(j.id, controller);
      this.events.emit('transfer:started', transferRef(j));
    }
    const started = this.now();
    let outcomes: (JobResult | FerryError)[];
    try {
      outcomes = await executeUploadBatch(
        jobs,
        dest,
        { signal: controller.signal, pace: this.pacer(jobs, controller.signal) },
        this.exec,
      );
    } catch (raw) {
      const err = toFerryError(raw);
      outcomes = jobs.map(() => err);
    } finally {
      for (const j of jobs) this.controllers.delete(j.id);
    }
    // One transaction records the whole batch (what the destination holds, and the jobs settled): a
    // commit per small file would cost more than the copy. The batch is durable there by now.
    this.store.transaction(() =>
      jobs.forEach((j, i) => this.settle(j, outcomes[i] as JobResult | FerryError, started, controller.signal)),
    );
    logDurability(
      'recorded',
      dest.id,
      ...outcomes.flatMap((o) => (o instanceof FerryError || !o.shipped ? [] : [o.shipped.remotePath])),
    );
  }

  /** Records how a job ended: done, retried later, or failed for good. Runs inside a transaction. */
  private settle(job: Job, outcome: JobResult | FerryError, started: number, signal: AbortSignal): void {
    const ref = transferRef(job);
    const durationMs = this.now() - started;
    const { kind, rule, destination, folder, path, remotePath } = ref;
    const tags = [...(this.exec.dispatcher.rule(rule)?.tags ?? [])];
    const base = { kind, rule, destination, folder, path, remotePath, tags, at: this.now() };
    if (!(outcome instanceof FerryError)) {
      if (outcome.learnt) this.store.index.putMany([outcome.learnt]);
      if (outcome.shipped) this.store.shipped.put(outcome.shipped);
      this.store.jobs.complete(job.id);
      this.store.history.add({ ...base, bytes: outcome.bytes, durationMs, outcome: outcome.outcome, error: null });
      this.stats[outcome.outcome === 'done' ? 'done' : 'skipped']++;
      this.stats.bytes += outcome.bytes;
      this.events.emit('transfer:done', {
        ...ref,
        bytes: outcome.bytes,
        durationMs,
        outcome: outcome.outcome,
        note: outcome.note ?? null,
      });
      return;
    }
    const error = withFix(
      outcome
        .withContext({
          destination: job.destination,
          path: job.path,
          remotePath: job.remotePath,
          rule: job.rule,
          folder: job.folder,
        })
        .toJSON(),
    );
    const cancelled = signal.aborted || outcome.kind === 'cancelled';
    if (cancelled) {
      const why = (signal.reason as { code?: string } | undefined)?.code;
      // A pause or a shutdown leaves the job queued (for the resume, or the next start).
      if (why === 'paused') this.events.emit('transfer:stopped', { ...ref, reason: 'paused', durationMs });
      if (why !== 'cancelled') return;
      // The person's cancel is no failure: the job leaves the queue, and history says it was cancelled.
      this.store.jobs.complete(job.id);
      this.store.history.add({ ...base, bytes: 0, durationMs, outcome: 'cancelled', error: null });
      this.events.emit('transfer:stopped', { ...ref, reason: 'cancelled', durationMs });
      return;
    }
    if (isRetryable(outcome.kind) && job.attempts < this.opts.retries) {
      const delayMs = retryDelay(outcome, job.attempts, this.opts.backoff ?? DEFAULT_BACKOFF);
      const notBefore = this.now() + delayMs;
      if (outcome.kind === 'rate-limited' && job.destination !== undefined)
        this.destinationHeldUntil.set(
          job.destination,
          Math.max(notBefore, this.destinationHeldUntil.get(job.destination) ?? 0),
        );
      this.store.jobs.retryLater(job.id, notBefore, error);
      this.waiting.push({ ...job, attempts: job.attempts + 1, notBefore, lastError: error });
      this.events.emit('transfer:retry', { ...ref, attempt: job.attempts + 1, delayMs, error });
      return;
    }
    this.store.jobs.fail(job.id, error);
    this.store.history.add({ ...base, bytes: 0, durationMs, outcome: 'failed', error });
    this.stats.failed++;
    this.events.emit('transfer:failed', { ...ref, error });
  }
}
