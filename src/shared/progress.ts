import type { FerryEvents } from './events';

/** What is left in the queue, per folder: every pending job (running ones whole), and the bytes of its uploads. */
export type QueuedWork = { folder: string; files: number; bytes: number };

/** One running transfer by the same measure: its rate and time left agree with the whole's. */
export type TransferProgress = { jobId: number; sent: number; size: number; rate: number; etaSec: number | null };

export type FolderProgress = {
  folder: string;
  filesLeft: number;
  bytesLeft: number;
  /** Since the folder's queue was last empty. */
  filesDone: number;
  bytesDone: number;
  /** Floored, and never 100 while something is left; null when nothing is queued. */
  percent: number | null;
};

/**
 * One account of how far the work has come: the Status page, the Queue page and the tray all show
 * this, so they cannot disagree. Running transfers count by what they have still to send.
 */
export type ProgressSnapshot = {
  at: number;
  filesLeft: number;
  bytesLeft: number;
  filesDone: number;
  bytesDone: number;
  percent: number | null;
  /** Bytes per second actually sent over the last few seconds (all transfers together). */
  rate: number;
  /** Seconds until `bytesLeft` is sent at `rate`; null when nothing moves or nothing is left. */
  etaSec: number | null;
  /** Transfers running now. */
  running: number;
  folders: FolderProgress[];
  /** Each running transfer, by job id. */
  transfers: TransferProgress[];
};

/** The rate is the bytes sent over this window (or since the work began, when that is shorter, but at least 1 s). */
export const RATE_WINDOW_MS = 3000;

export const IDLE_PROGRESS: ProgressSnapshot = {
  at: 0,
  filesLeft: 0,
  bytesLeft: 0,
  filesDone: 0,
  bytesDone: 0,
  percent: null,
  rate: 0,
  etaSec: null,
  running: 0,
  folders: [],
  transfers: [],
};

/** "45": floored, so 100 is only ever shown once nothing is left. */
export function percentOf(done: number, left: number): number | null {
  if (left <= 0) return null;
  return Math.min(99, Math.floor((done / (done + left)) * 100));
}

type Running = { folder: string; sent: number; size: number; upload: boolean; startedAt: number };

/**
 * The progress model, fed the engine's events and asked for snapshots. Pure (a clock and the queue's
 * figures are given), so the engine, the daemon and the desktop app share it and it is unit-tested.
 */
export class ProgressModel {
  private readonly running = new Map<number, Running>();
  private readonly done = new Map<string, { files: number; bytes: number }>();
  /** Bytes sent, as (instant, bytes) samples, oldest first, for the rate: each counts for the time before it. */
  private samples: { at: number; bytes: number; jobId: number }[] = [];
  /** When the current stretch of work began (the queue was empty before), for a rate that starts honest. */
  private since: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  private sent(jobId: number, bytes: number): void {
    if (bytes <= 0) return;
    const at = this.now();
    this.since ??= at;
    this.samples.push({ at, bytes, jobId });
    const cut = at - RATE_WINDOW_MS;
    while ((this.samples[0]?.at ?? Infinity) < cut) this.samples.shift();
  }

  started(p: FerryEvents['transfer:started']): void {
    const at = this.now();
    this.running.set(p.jobId, { folder: p.folder, sent: 0, size: p.size, upload: p.kind === 'upload', startedAt: at });
    this.since ??= at;
  }

  progress(p: FerryEvents['transfer:progress']): void {
    const r = this.running.get(p.jobId) ?? {
      folder: p.folder,
      sent: 0,
      size: p.total,
      upload: p.kind === 'upload',
      startedAt: this.now(),
    };
    // A retry starts over at 0: only what goes beyond what was counted is new.
    const grown = Math.max(0, p.bytes - r.sent);
    this.sent(p.jobId, grown);
    this.running.set(p.jobId, { ...r, sent: p.bytes });
  }

  finished(p: FerryEvents['transfer:done']): void {
    const r = this.running.get(p.jobId);
    this.running.delete(p.jobId);
    if (p.outcome === 'done' && p.kind === 'upload') this.sent(p.jobId, p.bytes - (r?.sent ?? 0));
    const d = this.done.get(p.folder) ?? { files: 0, bytes: 0 };
    this.done.set(p.folder, { files: d.files + 1, bytes: d.bytes + (p.kind === 'upload' ? p.size : 0) });
  }

  /** A transfer that failed, is retried later or was cancelled: it is queued (or failed) again, not done. */
  stopped(jobId: number): void {
    this.running.delete(jobId);
  }

  /** Feeds any engine event; the ones that say nothing of progress are ignored. */
  observe<K extends keyof FerryEvents>(name: K, payload: FerryEvents[K]): void {
    if (name === 'transfer:started') this.started(payload as FerryEvents['transfer:started']);
    else if (name === 'transfer:progress') this.progress(payload as FerryEvents['transfer:progress']);
    else if (name === 'transfer:done') this.finished(payload as FerryEvents['transfer:done']);
    else if (name === 'transfer:failed' || name === 'transfer:retry' || name === 'transfer:stopped')
      this.stopped((payload as FerryEvents['transfer:failed']).jobId);
  }

  /**
   * Bytes per second sent over the last RATE_WINDOW_MS (or since the work began, at least 1 s): by
   * every transfer, or by one.
   */
  rate(jobId?: number): number {
    const now = this.now();
    const cut = now - RATE_WINDOW_MS;
    let bytes = 0;
    for (const s of this.samples) if (s.at > cut && (jobId === undefined || s.jobId === jobId)) bytes += s.bytes;
    // The whole's stretch of work is never younger than a transfer still running in it (a snapshot
    // taken between a job's claim and its start may have begun the stretch afresh).
    let since = jobId === undefined ? this.since : this.running.get(jobId)?.startedAt;
    if (jobId === undefined)
      for (const r of this.running.values()) if (since === undefined || r.startedAt < since) since = r.startedAt;
    if (bytes === 0 || since === undefined) return 0;
    const window = Math.max(1000, Math.min(RATE_WINDOW_MS, now - since));
    return (bytes * 1000) / window;
  }

  /**
   * Where things stand, given what the queue holds now (pending jobs per folder, running ones whole).
   * A folder whose queue is empty starts counting afresh; so does the whole once nothing is queued.
   */
  snapshot(queued: readonly QueuedWork[]): ProgressSnapshot {
    const at = this.now();
    const byFolder = new Map(queued.map((q) => [q.folder, q]));
    for (const r of this.running.values())
      if (!byFolder.has(r.folder)) byFolder.set(r.folder, { folder: r.folder, files: 0, bytes: 0 });
    const folders: FolderProgress[] = [];
    for (const q of byFolder.values()) {
      if (q.files === 0 && ![...this.running.values()].some((r) => r.folder === q.folder)) continue;
      let inFlight = 0;
      for (const r of this.running.values())
        if (r.folder === q.folder && r.upload) inFlight += Math.min(r.sent, r.size);
      const done = this.done.get(q.folder) ?? { files: 0, bytes: 0 };
      const bytesLeft = Math.max(0, q.bytes - inFlight);
      const bytesDone = done.bytes + Math.min(inFlight, q.bytes);
      const filesLeft = Math.max(q.files, 0);
      folders.push({
        folder: q.folder,
        filesLeft,
        bytesLeft,
        filesDone: done.files,
        bytesDone,
        percent: bytesLeft > 0 ? percentOf(bytesDone, bytesLeft) : percentOf(done.files, filesLeft),
      });
    }
    // Folders with nothing queued any more start afresh next time.
    for (const f of [...this.done.keys()]) if (!folders.some((x) => x.folder === f)) this.done.delete(f);
    folders.sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
    const sum = (k: 'filesLeft' | 'bytesLeft' | 'filesDone' | 'bytesDone') => folders.reduce((n, f) => n + f[k], 0);
    const filesLeft = sum('filesLeft');
    const bytesLeft = sum('bytesLeft');
    const filesDone = sum('filesDone');
    const bytesDone = sum('bytesDone');
    const rate = this.rate();
    if (filesLeft === 0 && this.running.size === 0) {
      this.since = undefined;
      this.samples = [];
    }
    return {
      at,
      filesLeft,
      bytesLeft,
      filesDone,
      bytesDone,
      percent: bytesLeft > 0 ? percentOf(bytesDone, bytesLeft) : percentOf(filesDone, filesLeft),
      rate,
      etaSec: bytesLeft > 0 && rate > 0 ? Math.ceil(bytesLeft / rate) : null,
      running: this.running.size,
      folders,
      transfers: [...this.running].map(([jobId, r]) => {
        const jobRate = this.rate(jobId);
        const left = Math.max(0, r.size - r.sent);
        return {
          jobId,
          sent: r.sent,
          size: r.size,
          rate: jobRate,
          etaSec: left > 0 && jobRate > 0 ? Math.ceil(left / jobRate) : null,
        };
      }),
    };
  }
}
