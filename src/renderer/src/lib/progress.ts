import { useSyncExternalStore } from 'react';
import { onEvent } from './bridge';

/** Live progress of one running transfer, as the last `transfer:progress` event said. */
export type Progress = { bytes: number; total: number; rate: number; at: number };

/**
 * Progress of running transfers, kept outside React: each progress bar subscribes to its own job, so
 * a tick re-renders that bar only, never the whole queue.
 */
class ProgressStore {
  private readonly byJob = new Map<number, Progress>();
  private readonly jobListeners = new Map<number, Set<() => void>>();
  private readonly anyListeners = new Set<() => void>();
  private rateCache = { at: 0, value: 0 };

  constructor() {
    onEvent('transfer:progress', (p) =>
      this.set(p.jobId, { bytes: p.bytes, total: p.total, rate: p.rate, at: Date.now() }),
    );
    const end = (p: { jobId: number }) => this.remove(p.jobId);
    onEvent('transfer:done', end);
    onEvent('transfer:failed', end);
    onEvent('transfer:stopped', end);
    onEvent('transfer:started', (p) => this.set(p.jobId, { bytes: 0, total: p.size, rate: 0, at: Date.now() }));
  }

  private set(job: number, p: Progress): void {
    this.byJob.set(job, p);
    this.notify(job);
  }

  private remove(job: number): void {
    if (this.byJob.delete(job)) this.notify(job);
  }

  private notify(job: number): void {
    for (const l of this.jobListeners.get(job) ?? []) l();
    for (const l of this.anyListeners) l();
  }

  get(job: number): Progress | undefined {
    return this.byJob.get(job);
  }

  subscribeJob(job: number, l: () => void): () => void {
    let set = this.jobListeners.get(job);
    if (!set) this.jobListeners.set(job, (set = new Set()));
    set.add(l);
    return () => {
      set.delete(l);
      if (set.size === 0) this.jobListeners.delete(job);
    };
  }

  subscribeAny(l: () => void): () => void {
    this.anyListeners.add(l);
    return () => this.anyListeners.delete(l);
  }

  /** Bytes per second over every transfer that reported in the last 3 seconds (cached for 1 s: a stable number to read). */
  rate(): number {
    const now = Date.now();
    if (now - this.rateCache.at < 1000) return this.rateCache.value;
    let sum = 0;
    for (const p of this.byJob.values()) if (now - p.at < 3000) sum += p.rate;
    this.rateCache = { at: now, value: sum };
    return sum;
  }
}

export const progress = new ProgressStore();

export function useTransferProgress(job: number): Progress | undefined {
  return useSyncExternalStore(
    (l) => progress.subscribeJob(job, l),
    () => progress.get(job),
  );
}

/** The current total throughput in bytes per second. */
export function useThroughput(): number {
  return useSyncExternalStore(
    (l) => progress.subscribeAny(l),
    () => progress.rate(),
  );
}
