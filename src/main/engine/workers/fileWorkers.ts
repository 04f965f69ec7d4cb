import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HashKind } from '../../../shared/hashes';
import type { CopyRequest, CopyResult } from '../providers/local/copyVerified';
import type { HashRequest, HashResult } from '../scan/hashFile';
import type { WalkedFile, WalkMode, WalkResult } from '../scan/walk';
import { currentInstanceTag } from '../scan/ignoreRules';
import type { CompressRequest, CompressResult } from './compressFile';
import type { CompressItem, CompressReply, WalkReply, WalkRequest, WorkerMessage, WorkerTask } from './fileWorker';

/** With `sniff`, the result also carries the content type sniffed from the file's first bytes. */
export type HashJob = { path: string; size: number; kinds: HashKind[]; sniff?: boolean; headOnly?: boolean };
export type CopyJob = Omit<CopyRequest, 'id' | 'cancelSlot'>;

const BATCH_FILES = 64;
const BATCH_BYTES = 16 * 1024 * 1024;
const IN_FLIGHT_PER_WORKER = 2;
const CANCEL_SLOTS = 4096;
/** A streamed walk's files come this many at a time, at most WALK_CREDITS chunks ahead per thread. */
export const WALK_CHUNK = 1000;
export const WALK_CREDITS = 2;

/** Where the worker's code is: beside the bundle when built, or the TypeScript source under tests. */
export function resolveFileWorker(): { code: string; eval: boolean } {
  // Bundled as CommonJS, __dirname is the bundle's folder; run from source as ESM, import.meta.url is the file.
  const dirs: string[] = [];
  if (typeof __dirname === 'string' && isAbsolute(__dirname)) dirs.push(__dirname);
  const url = (import.meta as { url?: string }).url;
  if (url?.startsWith('file:')) dirs.push(dirname(fileURLToPath(url)));
  for (const here of dirs) {
    const built = join(here, 'fileWorker.js');
    if (existsSync(built)) return { code: built, eval: false };
    const source = join(here, 'fileWorker.ts');
    // From source (tests, benches): compile the worker on the fly with tsx's require hook.
    if (existsSync(source)) return { code: `require('tsx/cjs'); require(${JSON.stringify(source)});`, eval: true };
  }
  throw new Error(`the file worker is missing beside ${dirs.join(' or ')}: run the build (npm run build:node)`);
}

type Slot = { worker: Worker; inFlight: number };
type Task = {
  kind: Exclude<WorkerTask['kind'], 'walk-credit'>;
  items: (HashRequest | CopyRequest | WalkRequest | CompressItem)[];
  done: (results: (HashResult | CopyResult | WalkReply | CompressReply)[]) => void;
  /** A streamed walk: it goes to this thread, and takes none of its room for other tasks (it mostly waits). */
  streamedOn?: number;
};

/**
 * Worker threads for file work, one per core by default: hashing for the index and verified local
 * copies. The main thread (the window's, in the app) never blocks on file I/O or hashing. Work goes
 * in batches (many small files per message) and each worker keeps two queued so it never idles.
 */
export class FileWorkers {
  private slots: Slot[] = [];
  private readonly code: string;
  private readonly isEval: boolean;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly tasks: Task[] = [];
  private readonly inFlight = new Map<number, Task>();
  private readonly progress = new Map<number, (bytes: number) => void>();
  /** Streamed walks' consumers, by request id. */
  private readonly walkSinks = new Map<number, (files: WalkedFile[]) => Promise<void> | void>();
  private readonly cancelFlags = new Int32Array(new SharedArrayBuffer(CANCEL_SLOTS * 4));
  private readonly freeSlots: number[] = Array.from({ length: CANCEL_SLOTS }, (_, i) => i);
  private nextId = 1;
  private closed = false;

  /**
   * Threads start with the first task. With `idleMs`, they stop after that long without work (a daemon
   * that sits idle gives their memory back) and start again with the next task, in some 40 ms.
   */
  constructor(
    private readonly threads = Math.max(1, Math.min(availableParallelism(), 8)),
    private readonly idleMs = Infinity,
  ) {
    const { code, eval: isEval } = resolveFileWorker();
    this.code = code;
    this.isEval = isEval;
  }

  private ensureStarted(): void {
    if (this.slots.length > 0) return;
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(this.code, {
        eval: this.isEval,
        workerData: { cancel: this.cancelFlags.buffer, instanceTag: currentInstanceTag() },
      });
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.kind === 'progress') {
          this.progress.get(msg.id)?.(msg.bytes);
          return;
        }
        if (msg.kind === 'walk-files') {
          const sink = this.walkSinks.get(msg.id);
          // The walk goes on once its consumer is done with these (whatever became of them).
          const credit = () => worker.postMessage({ kind: 'walk-credit', id: msg.id } satisfies WorkerTask);
          Promise.resolve()
            .then(() => sink?.(msg.files))
            .then(credit, credit);
          return;
        }
        const task = this.inFlight.get(msg.tag);
        if (task?.streamedOn === undefined) slot.inFlight--;
        this.inFlight.delete(msg.tag);
        task?.done(msg.results);
        this.pump();
      });
      worker.on('error', (err) => this.failAll(err));
      this.slots.push(slot);
    }
  }

  private scheduleIdleStop(): void {
    if (!Number.isFinite(this.idleMs) || this.tasks.length > 0 || this.inFlight.size > 0 || this.slots.length === 0)
      return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.tasks.length > 0 || this.inFlight.size > 0) return;
      const stopping = this.slots;
      this.slots = [];
      for (const s of stopping) void s.worker.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Hashes every job; `onResult` is called as results arrive, in no particular order. */
  hashAll(jobs: readonly HashJob[], onResult: (job: HashJob, result: HashResult) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('file workers are closed'));
    if (jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = jobs.length;
      let batch: HashRequest[] = [];
      let batchJobs: HashJob[] = [];
      let bytes = 0;
      const flush = () => {
        const jobsOf = batchJobs;
        this.tasks.push({
          kind: 'hash',
          items: batch,
          done: (results) => {
            results.forEach((r, i) => onResult(jobsOf[i] as HashJob, r as HashResult));
            left -= results.length;
            if (left === 0) resolve();
          },
        });
        batch = [];
        batchJobs = [];
        bytes = 0;
      };
      for (const job of jobs) {
        batch.push({
          id: this.nextId++,
          path: job.path,
          kinds: job.kinds,
          ...(job.sniff ? { sniff: true } : {}),
          ...(job.headOnly ? { headOnly: true } : {}),
        });
        batchJobs.push(job);
        bytes += job.headOnly ? 0 : job.size;
        if (batch.length >= BATCH_FILES || bytes >= BATCH_BYTES) flush();
      }
      if (batch.length > 0) flush();
      this.pump();
    });
  }

  /**
   * Copies a batch of files (verified, fsynced, renamed into place: see copyVerified.ts) in one
   * worker. Results come back in the order given.
   */
  copy(
    jobs: readonly CopyJob[],
    opts: { signal?: AbortSignal; onProgress?: (index: number, bytes: number) => void } = {},
  ): Promise<CopyResult[]> {
    if (this.closed) return Promise.reject(new Error('file workers are closed'));
    const items: CopyRequest[] = jobs.map((job, i) => {
      const id = this.nextId++;
      const cancelSlot = this.freeSlots.pop() ?? 0;
      const report = opts.onProgress;
      if (report) this.progress.set(id, (bytes) => report(i, bytes));
      return { ...job, id, cancelSlot };
    });
    const onAbort = () => {
      for (const it of items) Atomics.store(this.cancelFlags, it.cancelSlot, 1);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    return new Promise((resolve) => {
      this.tasks.push({
        kind: 'copy',
        items,
        done: (results) => {
          opts.signal?.removeEventListener('abort', onAbort);
          for (const it of items) {
            this.progress.delete(it.id);
            Atomics.store(this.cancelFlags, it.cancelSlot, 0);
            this.freeSlots.push(it.cancelSlot);
          }
          const byId = new Map(results.map((r) => [r.id, r as CopyResult]));
          resolve(
            items.map(
              (it) =>
                byId.get(it.id) ?? { id: it.id, ok: false, code: 'EWORKER', message: 'no result from the file worker' },
            ),
          );
        },
      });
      this.pump();
    });
  }

  /**
   * Compresses one file into a staging file (see compressFile.ts) in a worker: the source's SHA-256 and
   * size come back with the hashes of the compressed bytes, which are what the destination verifies.
   */
  compress(req: CompressRequest): Promise<CompressResult> {
    if (this.closed) return Promise.reject(new Error('file workers are closed'));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.tasks.push({
        kind: 'compress',
        items: [{ ...req, id }],
        done: (results) => {
          const r = results.find((x) => x.id === id) as CompressReply | undefined;
          if (!r) return resolve({ ok: false, code: 'EWORKER', message: 'no result from the file worker' });
          const { id: _id, ...result } = r;
          resolve(result);
        },
      });
      this.pump();
    });
  }

  /**
   * Walks a folder in every worker at once, each taking a share of its top-level entries, so the
   * stat calls run on all cores and never on the main thread.
   */
  walk(
    folder: string,
    root: string,
    patterns: readonly string[],
    only?: readonly string[],
    /**
     * Streamed: the files are handed to `onFiles` a chunk at a time as the walk goes (the result's
     * `files` then holds none), and each thread's walk waits while WALK_CREDITS chunks are not yet done
     * with (the promise `onFiles` returns): the files held at once are bounded, whatever the folder.
     */
    onFiles?: (files: WalkedFile[]) => Promise<void> | void,
    mode: WalkMode = 'scan',
  ): Promise<WalkResult> {
    if (this.closed) return Promise.reject(new Error('file workers are closed'));
    // A scoped rescan (a few paths) is one worker's job; a whole folder is shared out.
    const of = only ? 1 : this.threads;
    const ids: number[] = [];
    const parts = Array.from(
      { length: of },
      (_, index) =>
        new Promise<WalkReply>((resolve) => {
          const id = this.nextId++;
          ids.push(id);
          if (onFiles) this.walkSinks.set(id, onFiles);
          this.tasks.push({
            kind: 'walk',
            items: [
              {
                id,
                folder,
                root,
                patterns: [...patterns],
                part: { index, of },
                mode,
                ...(only ? { only: [...only] } : {}),
                ...(onFiles ? { stream: { chunk: WALK_CHUNK, credits: WALK_CREDITS } } : {}),
              },
            ],
            done: (results) => resolve(results[0] as WalkReply),
            ...(onFiles ? { streamedOn: index } : {}),
          });
        }),
    );
    this.pump();
    return Promise.all(parts).then((replies) => {
      for (const id of ids) this.walkSinks.delete(id);
      const seen = new Set<string>();
      const issues = replies
        .flatMap((r) => r.issues)
        .filter((i) => {
          // Every part checks the root: report its problems once.
          const key = `${i.code}\u0000${i.path}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
      return {
        files: replies.flatMap((r) => r.files),
        gone: replies.flatMap((r) => r.gone),
        issues,
        complete: replies.every((r) => r.complete),
        looked: replies.reduce((n, r) => n + (r.looked ?? 0), 0),
      };
    });
  }

  private tag = 1;

  private pump(): void {
    if (this.tasks.length > 0) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.ensureStarted();
    }
    while (this.tasks.length > 0) {
      const next = this.tasks[0] as Task;
      const slot =
        next.streamedOn !== undefined
          ? (this.slots[next.streamedOn % this.slots.length] as Slot)
          : this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (next.streamedOn === undefined && slot.inFlight >= IN_FLIGHT_PER_WORKER) return;
      const task = this.tasks.shift() as Task;
      const tag = this.tag++;
      this.inFlight.set(tag, task);
      if (task.streamedOn === undefined) slot.inFlight++;
      slot.worker.postMessage({ kind: task.kind, tag, items: task.items } as WorkerTask);
    }
    this.scheduleIdleStop();
  }

  private failAll(err: Error): void {
    const pending = [...this.inFlight.values(), ...this.tasks.splice(0)];
    this.inFlight.clear();
    for (const task of pending)
      task.done(
        task.items.map((it): HashResult | WalkReply =>
          task.kind === 'walk'
            ? {
                id: it.id,
                files: [],
                gone: [],
                complete: false,
                issues: [
                  {
                    folder: (it as WalkRequest).folder,
                    path: '',
                    code: 'unreadable',
                    message: `the scan failed: ${err.message}`,
                    blocking: true,
                  },
                ],
              }
            : { id: it.id, ok: false, code: 'EWORKER', message: err.message },
        ),
      );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}
