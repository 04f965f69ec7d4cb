import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ruleSchema, type RuleConfig } from '../../src/shared/config';
import { FerryError } from '../../src/shared/errors';
import type { Action } from '../../src/shared/models';
import { EventBus } from '../../src/main/engine/events';
import { MemoryDestination } from '../../src/main/engine/providers/memory/memoryProvider';
import type { RemoteEntry, TransferOpts, UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { Store } from '../../src/main/engine/store/store';
import { Bandwidth } from '../../src/main/engine/transfer/bandwidth';
import { Dispatcher } from '../../src/main/engine/rules/dispatch';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { TransferPool } from '../../src/main/engine/transfer/pool';

/** The in-memory reference destination, failing the first uploads with a chosen error. */
class FlakyDestination extends MemoryDestination {
  attempts = 0;
  constructor(private readonly failures: FerryError[]) {
    super('flaky');
  }
  override async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    this.attempts++;
    const next = this.failures.shift();
    if (next) throw next;
    return super.upload(path, source, opts);
  }
}

let dir: string;
let store: Store;
const workers = new FileWorkers(1);
afterAll(() => workers.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-pool-'));
  store = Store.open(join(dir, 'state'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function queueUpload(name: string, content: string): Action {
  const abs = join(dir, name);
  writeFileSync(abs, content);
  const hashes = new MultiHash().update(Buffer.from(content)).digest();
  store.index.putMany([{ folder: 'f', path: name, size: content.length, mtimeNs: 1_000_000n, ino: 1n, hashes }]);
  return {
    kind: 'upload',
    rule: 'r',
    destination: 'flaky',
    folder: 'f',
    path: name,
    remotePath: name,
    size: content.length,
    sha256: hashes.sha256,
    reason: 'new',
  };
}

function poolFor(dest: MemoryDestination, events = new EventBus(), retries = 3, rules: RuleConfig[] = []) {
  return new TransferPool(
    store,
    {
      store,
      destinations: new Map([[dest.id, dest]]),
      folders: new Map([['f', { id: 'f', path: dir, ignore: [], paused: false, watch: 'auto' as const }]]),
      dispatcher: new Dispatcher(rules.map(compileRule)),
      workers,
      stagingDir: store.stagingDir,
      rehash: async () => undefined,
    },
    events,
    { concurrency: 2, retries, bandwidth: new Bandwidth(0), backoff: { baseMs: 1, maxMs: 4 } },
  );
}

describe('transfer pool', () => {
  it('retries a transient failure with backoff and records one done transfer', async () => {
    const dest = new FlakyDestination([
      new FerryError('retryable', 'EIO', 'flaky disk'),
      new FerryError('rate-limited', 'too_many_requests', 'slow down', { retryAfterMs: 5 }),
    ]);
    store.jobs.replacePlan([queueUpload('a.txt', 'hello')]);
    const events = new EventBus();
    const retries: number[] = [];
    events.on('transfer:retry', (r) => retries.push(r.delayMs));
    const stats = await poolFor(dest, events).drain(new AbortController().signal);
    expect(stats).toMatchObject({ done: 1, failed: 0 });
    expect(dest.attempts).toBe(3);
    expect(retries[1]).toBe(5);
    expect(dest.files.get('a.txt')?.data.toString()).toBe('hello');
    expect(store.history.recent().map((h) => h.outcome)).toEqual(['done']);
    expect(store.jobs.counts()).toMatchObject({ pending: 0, failed: 0 });
  });

  it('does not retry a permanent failure, and keeps the failed job with its error', async () => {
    const dest = new FlakyDestination([new FerryError('permanent', 'EACCES', 'permission denied')]);
    store.jobs.replacePlan([queueUpload('b.txt', 'x')]);
    const stats = await poolFor(dest).drain(new AbortController().signal);
    expect(stats.failed).toBe(1);
    expect(dest.attempts).toBe(1);
    const [failed] = store.jobs.list('failed');
    expect(failed?.lastError?.code).toBe('EACCES');
    expect(store.history.recent()[0]?.error?.message).toBe('permission denied');
  });

  it("carries the rule's tags to a destination that keeps metadata, and into history", async () => {
    const dest = new FlakyDestination([]);
    const rule = ruleSchema.parse({ name: 'r', from: ['f'], to: ['flaky'], tags: ['finance', 'q3'] });
    store.jobs.replacePlan([queueUpload('t.txt', 'tagged')]);
    await poolFor(dest, new EventBus(), 3, [rule]).drain(new AbortController().signal);
    expect((await dest.stat('t.txt'))?.tags).toEqual(['finance', 'q3']);
    expect(store.history.recent()[0]?.tags).toEqual(['finance', 'q3']);
    expect(store.history.query({ offset: 0, limit: 10, search: 'q3' }).total).toBe(1);
  });

  it('compresses before upload, verifies the compressed bytes and records the encoding', async () => {
    const dest = new FlakyDestination([]);
    const rule = ruleSchema.parse({ name: 'r', from: ['f'], to: ['flaky'], compress: 'gzip' });
    const text = 'compress me '.repeat(1000);
    const action = queueUpload('big.txt', text);
    store.jobs.replacePlan([{ ...action, remotePath: 'big.txt.gz', encoding: 'gzip' }]);
    const stats = await poolFor(dest, new EventBus(), 3, [rule]).drain(new AbortController().signal);
    expect(stats).toMatchObject({ done: 1, failed: 0 });
    const stored = dest.files.get('big.txt.gz')?.data as Buffer;
    expect(gunzipSync(stored).toString()).toBe(text);
    expect(store.shipped.get('flaky', 'big.txt.gz')).toMatchObject({
      encoding: 'gzip',
      size: stored.length,
      sha256: action.sha256,
    });
    expect(stats.bytes).toBe(stored.length);
  });

  it('gives a destination that asked to slow down no new work until its Retry-After has passed', async () => {
    const dest = new FlakyDestination([
      new FerryError('rate-limited', 'too_many_requests', 'slow down', { retryAfterMs: 300 }),
    ]);
    const starts: number[] = [];
    const events = new EventBus();
    events.on('transfer:started', () => starts.push(Date.now()));
    store.jobs.replacePlan(['r1.txt', 'r2.txt', 'r3.txt', 'r4.txt'].map((n) => queueUpload(n, n)));
    const t0 = Date.now();
    const stats = await poolFor(dest, events, 3).drain(new AbortController().signal);
    expect(stats).toMatchObject({ done: 4, failed: 0 });
    // Two ran at once; the first answered 429: the others started only once the 300 ms had passed.
    const late = starts.filter((t) => t - t0 >= 250).length;
    expect(starts.length).toBe(5);
    expect(late).toBeGreaterThanOrEqual(3);
  });

  it('gives up after the configured number of retries', async () => {
    const dest = new FlakyDestination(
      Array.from({ length: 10 }, () => new FerryError('retryable', 'EIO', 'still flaky')),
    );
    store.jobs.replacePlan([queueUpload('c.txt', 'x')]);
    const stats = await poolFor(dest, new EventBus(), 2).drain(new AbortController().signal);
    expect(stats.failed).toBe(1);
    expect(dest.attempts).toBe(3);
  });

  it('leaves the job queued, not failed, when the run is shut down', async () => {
    const dest = new FlakyDestination([]);
    store.jobs.replacePlan([queueUpload('d.txt', 'x')]);
    const shutdown = new AbortController();
    shutdown.abort(new Error('quit'));
    const stats = await poolFor(dest).drain(shutdown.signal);
    expect(stats).toMatchObject({ done: 0, failed: 0 });
    expect(store.jobs.counts().pending).toBe(1);
  });

  it('runs renames before uploads before deletions', async () => {
    const dest = new MemoryDestination('flaky');
    const order: string[] = [];
    const events = new EventBus();
    events.on('transfer:started', (t) => order.push(t.kind));
    await dest
      .upload(
        'old.txt',
        { absPath: join(dir, 'seed'), size: 0, mtimeMs: 0, hashes: new MultiHash().digest() },
        { signal: new AbortController().signal },
      )
      .catch(() => undefined);
    const up = queueUpload('new.txt', 'n');
    store.jobs.replacePlan([
      { ...up, kind: 'delete-remote', path: 'gone.txt', remotePath: 'gone.txt' },
      up,
      { ...up, kind: 'copy-remote', path: 'x.txt', remotePath: 'x.txt', fromRemotePath: 'nowhere.txt' },
    ]);
    await poolFor(dest, events).drain(new AbortController().signal);
    expect(order).toEqual(['copy-remote', 'upload', 'delete-remote']);
  });
});

describe('closing the intake (a graceful quit)', () => {
  it('lets running transfers finish, starts nothing new, and leaves the rest queued', async () => {
    /** Uploads that wait until released, so the test can close the intake while two are running. */
    class GatedDestination extends MemoryDestination {
      started: string[] = [];
      release: () => void = () => undefined;
      private readonly gate = new Promise<void>((r) => (this.release = r));
      override async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
        this.started.push(path);
        await this.gate;
        return super.upload(path, source, opts);
      }
    }
    const dest = new GatedDestination('flaky');
    store.jobs.replacePlan(['a', 'b', 'c', 'd'].map((n) => queueUpload(`${n}.txt`, `content ${n}`)));
    const pool = poolFor(dest);
    const drained = pool.drain(new AbortController().signal);
    while (dest.started.length < 2) await new Promise((r) => setTimeout(r, 5));
    pool.closeIntake();
    dest.release();
    await drained;
    expect(dest.started).toHaveLength(2);
    expect([...dest.files.keys()].sort()).toEqual([...dest.started].sort());
    expect(store.jobs.counts().pending).toBe(2);
  });
});
