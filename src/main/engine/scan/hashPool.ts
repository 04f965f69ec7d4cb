import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HashKind } from '../../../shared/hashes';
import type { HashRequest, HashResult } from './hashFile';

export type HashJob = { path: string; size: number; kinds: HashKind[] };

const BATCH_FILES = 64;
const BATCH_BYTES = 16 * 1024 * 1024;
const IN_FLIGHT_PER_WORKER = 2;

/** Where the worker's code is: beside the bundle when built, or the TypeScript source under tests. */
export function resolveHashWorker(): { file: string; eval: boolean } {
  const here = typeof __dirname !== 'undefined' ? __dirname : dirname(fileURLToPath(import.meta.url));
  const built = join(here, 'hashWorker.js');
  if (existsSync(built)) return { file: built, eval: false };
  const source = join(here, 'hashWorker.ts');
  // From source (tests): compile the worker on the fly with tsx's require hook.
  if (existsSync(source)) return { file: `require('tsx/cjs'); require(${JSON.stringify(source)});`, eval: true };
  throw new Error(`hash worker not found beside ${here}: run the build (npm run build:node)`);
}

type Slot = { worker: Worker; inFlight: number };

/**
 * Worker threads that hash files off the main thread, one per core by default. Files are sent in
 * batches (many small files per message) and each worker keeps two batches queued so it never idles.
 */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<number, (r: HashResult) => void>();
  private nextId = 1;
  private closed = false;

  constructor(threads = Math.max(1, Math.min(availableParallelism(), 8))) {
    const { file, eval: isEval } = resolveHashWorker();
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(file, { eval: isEval });
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (results: HashResult[]) => {
        slot.inFlight--;
        for (const r of results) {
          const done = this.waiting.get(r.id);
          this.waiting.delete(r.id);
          done?.(r);
        }
        this.pump();
      });
      worker.on('error', (err) => this.failAll(err));
      this.slots.push(slot);
    }
  }

  private queue: { req: HashRequest; size: number }[] = [];
  private head = 0;

  /** Hashes every job; `onResult` is called as results arrive, in no particular order. */
  hashAll(jobs: readonly HashJob[], onResult: (job: HashJob, result: HashResult) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('hash pool is closed'));
    if (jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = jobs.length;
      for (const job of jobs) {
        const id = this.nextId++;
        this.waiting.set(id, (r) => {
          onResult(job, r);
          if (--left === 0) resolve();
        });
        this.queue.push({ req: { id, path: job.path, kinds: job.kinds }, size: job.size });
      }
      this.pump();
    });
  }

  private pump(): void {
    for (;;) {
      if (this.head >= this.queue.length) {
        this.queue = [];
        this.head = 0;
        return;
      }
      const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (slot.inFlight >= IN_FLIGHT_PER_WORKER) return;
      const batch: HashRequest[] = [];
      let bytes = 0;
      while (this.head < this.queue.length && batch.length < BATCH_FILES && bytes < BATCH_BYTES) {
        const next = this.queue[this.head++] as { req: HashRequest; size: number };
        batch.push(next.req);
        bytes += next.size;
      }
      slot.inFlight++;
      slot.worker.postMessage(batch);
    }
  }

  private failAll(err: Error): void {
    for (const [id, done] of this.waiting) done({ id, ok: false, code: 'EWORKER', message: err.message });
    this.waiting.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
