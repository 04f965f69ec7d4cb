import { parentPort, workerData } from 'node:worker_threads';
import { copyToTemp, type CopyRequest, type CopyResult, type PendingCopy } from '../providers/local/copyVerified';
import { publishBatch } from '../providers/local/groupCommit';
import { hashFile, newBuffers, type HashRequest, type HashResult } from '../scan/hashFile';
import { compressFile, type CompressRequest, type CompressResult } from './compressFile';
import { releaseMemory } from '../diagnostics/memory';
import { setInstanceTag } from '../scan/ignoreRules';
import { walkInChunks, type WalkedFile, type WalkMode, type WalkPart, type WalkResult } from '../scan/walk';

/**
 * Worker thread entry for file work off the main thread: walking folders, hashing files for the
 * index, verified local copies (a batch of small files is made durable as a group: groupCommit.ts; big
 * files report progress) and compressed copies for rules that compress (see compressFile.ts).
 */
export type WalkRequest = {
  id: number;
  folder: string;
  root: string;
  patterns: string[];
  part: WalkPart;
  only?: string[];
  mode?: WalkMode;
  /**
   * Streamed: files are sent `chunk` at a time as `walk-files` messages, at most `credits` ahead of the
   * `walk-credit` messages that say the main thread is done with one: the walk waits for those.
   */
  stream?: { chunk: number; credits: number };
};
export type WalkReply = WalkResult & { id: number };
export type CompressItem = CompressRequest & { id: number };
export type CompressReply = CompressResult & { id: number };
export type WorkerTask =
  | { kind: 'hash'; tag: number; items: HashRequest[] }
  | { kind: 'copy'; tag: number; items: CopyRequest[] }
  | { kind: 'compress'; tag: number; items: CompressItem[] }
  | { kind: 'walk'; tag: number; items: WalkRequest[] }
  | { kind: 'walk-credit'; id: number };
export type WorkerMessage =
  | { kind: 'done'; tag: number; results: (HashResult | CopyResult | WalkReply | CompressReply)[] }
  | { kind: 'progress'; id: number; bytes: number }
  | { kind: 'walk-files'; id: number; files: WalkedFile[] };

const bufs = newBuffers();
const data = workerData as { cancel: SharedArrayBuffer; instanceTag: string };
const cancelFlags = new Int32Array(data.cancel);
// Its temporary names must carry the same tag as the main thread's, or a restart would not sweep them.
setInstanceTag(data.instanceTag);
const port = parentPort;
if (!port) throw new Error('fileWorker must run as a worker thread');

// Tasks that read take turns: they share the read buffers, and a hash task awaiting a read must not
// have another task write into the same memory. A copy's fsync-and-rename needs no buffer, so it
// finishes in the background while the next task reads.
let turn: Promise<void> = Promise.resolve();

function walkTask(task: Extract<WorkerTask, { kind: 'walk' }>): void {
  const results = task.items.map((w) => ({ id: w.id, ...walkWhole(w) }));
  const walked = results.reduce((n, r) => n + r.files.length, 0);
  port?.postMessage({ kind: 'done', tag: task.tag, results } satisfies WorkerMessage);
  // A big walk leaves a big heap in this thread too; nothing else would collect it while idle.
  if (walked >= 10_000) setTimeout(releaseMemory, 1000);
}

function walkWhole(w: WalkRequest): WalkResult {
  const walk = walkInChunks(w.folder, w.root, w.patterns, w.part, w.only, Infinity, w.mode);
  for (;;) {
    const step = walk.next();
    if (step.done) return step.value;
  }
}

/** Streamed walks waiting for credit: each resumes when the main thread is done with a chunk. */
const streaming = new Map<number, { credits: number; step: () => void }>();

/**
 * A streamed walk runs beside the other tasks, not in their turn: while it waits for credit this thread
 * hashes the files the main thread found changed (the credit may wait on exactly that).
 */
function streamWalk(task: Extract<WorkerTask, { kind: 'walk' }>): void {
  const w = task.items[0] as WalkRequest & { stream: { chunk: number; credits: number } };
  const walk = walkInChunks(w.folder, w.root, w.patterns, w.part, w.only, w.stream.chunk, w.mode);
  let walked = 0;
  const state = { credits: w.stream.credits, step: () => undefined as void };
  state.step = () => {
    try {
      while (state.credits > 0) {
        const next = walk.next();
        if (next.done) {
          streaming.delete(w.id);
          walked += next.value.files.length;
          port?.postMessage({
            kind: 'done',
            tag: task.tag,
            results: [{ id: w.id, ...next.value }],
          } satisfies WorkerMessage);
          if (walked >= 10_000) setTimeout(releaseMemory, 1000);
          return;
        }
        state.credits--;
        walked += next.value.length;
        port?.postMessage({ kind: 'walk-files', id: w.id, files: next.value } satisfies WorkerMessage);
      }
    } catch (err) {
      streaming.delete(w.id);
      fail(task, err);
    }
  };
  streaming.set(w.id, state);
  state.step();
}

function fail(task: WorkerTask, err: unknown): void {
  if (task.kind === 'walk-credit') return;
  const message = (err as Error).message ?? String(err);
  if (task.kind === 'walk') {
    // A walk that could not run is an incomplete scan: nothing may be deleted on its strength.
    const results = task.items.map((w) => ({
      id: w.id,
      files: [],
      gone: [],
      complete: false,
      issues: [
        {
          folder: w.folder,
          path: '',
          code: 'unreadable' as const,
          message: `the scan failed: ${message}`,
          blocking: true,
        },
      ],
    }));
    port?.postMessage({ kind: 'done', tag: task.tag, results } satisfies WorkerMessage);
    return;
  }
  const results = task.items.map((it) => ({ id: it.id, ok: false as const, code: 'EWORKER', message }));
  port?.postMessage({ kind: 'done', tag: task.tag, results } satisfies WorkerMessage);
}

async function hashTask(task: Extract<WorkerTask, { kind: 'hash' }>): Promise<void> {
  const results: HashResult[] = [];
  for (const req of task.items) results.push(await hashFile(req, bufs));
  port?.postMessage({ kind: 'done', tag: task.tag, results } satisfies WorkerMessage);
}

async function compressTask(task: Extract<WorkerTask, { kind: 'compress' }>): Promise<void> {
  const results: CompressReply[] = [];
  for (const req of task.items) results.push({ ...(await compressFile(req, bufs)), id: req.id });
  port?.postMessage({ kind: 'done', tag: task.tag, results } satisfies WorkerMessage);
}

function copyTask(task: Extract<WorkerTask, { kind: 'copy' }>): void {
  const results: CopyResult[] = [];
  const pending: PendingCopy[] = [];
  for (const req of task.items) {
    const r = copyToTemp(
      req,
      bufs[0],
      () => Atomics.load(cancelFlags, req.cancelSlot) !== 0,
      (bytes) => port?.postMessage({ kind: 'progress', id: req.id, bytes } satisfies WorkerMessage),
    );
    if ('fd' in r) pending.push(r);
    else results.push(r);
  }
  publishBatch(pending).then(
    (published) =>
      port?.postMessage({ kind: 'done', tag: task.tag, results: [...results, ...published] } satisfies WorkerMessage),
    (err: unknown) => fail(task, err),
  );
}

port.on('message', (task: WorkerTask) => {
  if (task.kind === 'walk-credit') {
    const walk = streaming.get(task.id);
    if (walk) {
      walk.credits++;
      walk.step();
    }
    return;
  }
  if (task.kind === 'walk' && task.items.length === 1 && task.items[0]?.stream) return streamWalk(task);
  turn = turn
    .then(() => {
      switch (task.kind) {
        case 'hash':
          return hashTask(task);
        case 'copy':
          return copyTask(task);
        case 'compress':
          return compressTask(task);
        case 'walk':
          return walkTask(task);
      }
    })
    .catch((err: unknown) => fail(task, err));
});
