import { FerryError, isRetryable } from '../../../shared/errors';
import type { TransferRef } from '../../../shared/events';
import type { EventBus } from '../events';
import type { Job } from '../store/jobStore';
import type { Store } from '../store/store';
import { retryDelay, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
import type { Bandwidth } from './bandwidth';
import { executeJob, type ExecutorDeps } from './executor';

export type PoolOptions = {
  concurrency: number;
  /** Attempts after the first, for errors where retrying helps. */
  retries: number;
  backoff?: BackoffPolicy;
  bandwidth: Bandwidth;
  now?: () => number;
};

export type PoolStats = { done: number; skipped: number; failed: number; bytes: number };

const PROGRESS_EVERY_MS = 200;

/**
 * N workers draining the persistent queue. Jobs are claimed (marked active) before they run; a
 * later phase starts only when every job of the earlier ones has settled. Retries and backoff live
 * here and nowhere else: providers only classify their errors.
 */
export class TransferPool {
  private readonly controllers = new Map<number, AbortController>();
  private readonly waiters = new Set<() => void>();
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

  /** Runs until no job is pending or active (failed jobs stay for the person), or until `signal` aborts. */
  async drain(signal: AbortSignal): Promise<PoolStats> {
    const onAbort = () => {
      for (const c of this.controllers.values()) c.abort(signal.reason);
      this.notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(Array.from({ length: this.opts.concurrency }, () => this.worker(signal)));
    } finally {
      this.emitQueue(true);
      signal.removeEventListener('abort', onAbort);
    }
    return this.stats;
  }

  /** Cancels one running job; it is recorded as cancelled and not retried. */
  cancel(jobId: number): boolean {
    const c = this.controllers.get(jobId);
    c?.abort(new FerryError('cancelled', 'cancelled', 'cancelled by the person'));
    return c !== undefined;
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

  private async worker(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const phase = this.store.jobs.currentPhase();
      if (phase === undefined) return;
      const [job] = this.store.jobs.claim(phase, this.now(), 1);
      if (!job) {
        const next = this.store.jobs.earliestRetry(phase);
        const wait = next === undefined ? 1000 : Math.max(1, Math.min(1000, next - this.now()));
        await this.sleep(wait);
        continue;
      }
      this.emitQueue();
      await this.run(job);
      this.notify();
    }
  }

  private lastQueueEvent = 0;

  /** Counting the queue costs a table scan: at most four times a second, and once at the end. */
  private emitQueue(force = false): void {
    const t = this.now();
    if (!force && t - this.lastQueueEvent < 250) return;
    this.lastQueueEvent = t;
    this.events.emit('queue:changed', this.store.jobs.counts());
  }

  private async run(job: Job): Promise<void> {
    const ref: TransferRef = {
      jobId: job.id,
      kind: job.kind,
      rule: job.rule,
      destination: job.destination ?? null,
      folder: job.folder,
      path: job.path,
      remotePath: job.remotePath ?? null,
      size: job.size,
    };
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
    try {
      const result = await executeJob(
        job,
        { signal: controller.signal, onProgress, pace: (n) => this.opts.bandwidth.take(n) },
        this.exec,
      );
      const durationMs = this.now() - started;
      this.store.transaction(() => {
        this.store.jobs.complete(job.id);
        this.store.history.add({
          ...historyBase(job),
          at: this.now(),
          bytes: result.bytes,
          durationMs,
          outcome: result.outcome,
          error: null,
        });
      });
      this.stats[result.outcome === 'done' ? 'done' : 'skipped']++;
      this.stats.bytes += result.bytes;
      this.events.emit('transfer:done', { ...ref, bytes: result.bytes, durationMs });
    } catch (raw) {
      const err =
        raw instanceof FerryError
          ? raw
          : new FerryError('permanent', 'internal', `unexpected error: ${(raw as Error).message ?? String(raw)}`, {
              cause: raw,
            });
      const withCtx = err.withContext({
        destination: job.destination,
        path: job.path,
        remotePath: job.remotePath,
        rule: job.rule,
        folder: job.folder,
      });
      const cancelled = controller.signal.aborted || err.kind === 'cancelled';
      if (!cancelled && isRetryable(err.kind) && job.attempts < this.opts.retries) {
        const delayMs = retryDelay(err, job.attempts, this.opts.backoff ?? DEFAULT_BACKOFF);
        this.store.jobs.retryLater(job.id, this.now() + delayMs, withCtx.toJSON());
        this.events.emit('transfer:retry', { ...ref, attempt: job.attempts + 1, delayMs, error: withCtx.toJSON() });
      } else if (cancelled && !controller.signal.reason?.kind) {
        // Shutdown, not the person: leave the job queued for the next start.
        this.store.jobs.retryLater(job.id, 0, withCtx.toJSON());
      } else {
        this.store.transaction(() => {
          this.store.jobs.fail(job.id, withCtx.toJSON());
          this.store.history.add({
            ...historyBase(job),
            at: this.now(),
            bytes: 0,
            durationMs: this.now() - started,
            outcome: cancelled ? 'cancelled' : 'failed',
            error: withCtx.toJSON(),
          });
        });
        this.stats.failed++;
        this.events.emit('transfer:failed', { ...ref, error: withCtx.toJSON() });
      }
    } finally {
      this.controllers.delete(job.id);
      this.emitQueue();
    }
  }
}

function historyBase(job: Job) {
  return {
    kind: job.kind,
    rule: job.rule,
    destination: job.destination ?? null,
    folder: job.folder,
    path: job.path,
    remotePath: job.remotePath ?? null,
  };
}
