import { useSyncExternalStore } from 'react';
import { IDLE_PROGRESS, type ProgressSnapshot } from '../../../shared/progress';
import { onEvent } from './bridge';
import { useRequest } from './query';

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
  /** The engine's one progress model, as its latest 'progress' event said. */
  private overall: ProgressSnapshot | undefined;

  constructor() {
    onEvent('transfer:progress', (p) =>
      this.set(p.jobId, { bytes: p.bytes, total: p.total, rate: p.rate, at: Date.now() }),
    );
    const end = (p: { jobId: number }) => this.remove(p.jobId);
    onEvent('transfer:done', end);
    onEvent('transfer:failed', end);
    onEvent('transfer:stopped', end);
    onEvent('transfer:started', (p) => this.set(p.jobId, { bytes: 0, total: p.size, rate: 0, at: Date.now() }));
    onEvent('progress', (p) => {
      this.overall = p;
      for (const l of this.anyListeners) l();
    });
  }

  latestOverall(): ProgressSnapshot | undefined {
    return this.overall;
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
}

export const progress = new ProgressStore();

export function useTransferProgress(job: number): Progress | undefined {
  return useSyncExternalStore(
    (l) => progress.subscribeJob(job, l),
    () => progress.get(job),
  );
}

/**
 * How far the queued work has come: the engine's one progress model (shared/progress.ts), the same
 * figures the tray shows, from its live event or the status, whichever is newer.
 */
export function useOverallProgress(): ProgressSnapshot {
  const status = useRequest('status:get', {});
  const live = useSyncExternalStore(
    (l) => progress.subscribeAny(l),
    () => progress.latestOverall(),
  );
  const polled = status.data?.progress;
  if (live && (!polled || live.at >= polled.at)) return live;
  return polled ?? IDLE_PROGRESS;
}
