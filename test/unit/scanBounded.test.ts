import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/engine/events';
import type { HashResult } from '../../src/main/engine/scan/hashFile';
import { SCAN_HASHING_AHEAD, scanFolder } from '../../src/main/engine/scan/scanner';
import type { WalkedFile, WalkResult } from '../../src/main/engine/scan/walk';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers, WALK_CHUNK, WALK_CREDITS, type HashJob } from '../../src/main/engine/workers/fileWorkers';

const FILES = 20_000;
const THREADS = 2;

/**
 * File workers that count the walked entries the main thread holds: a chunk from the moment it is
 * handed over until its consumer is done with it (a whole walk's files until the scan ends), and every
 * file sent to hashing until its result is back. An upper bound of what a scan keeps in hand.
 */
class CountingWorkers extends FileWorkers {
  held = 0;
  peak = 0;

  private hold(n: number): void {
    this.held += n;
    this.peak = Math.max(this.peak, this.held);
  }

  override async walk(
    folder: string,
    root: string,
    patterns: readonly string[],
    only?: readonly string[],
    onFiles?: (files: WalkedFile[]) => Promise<void> | void,
  ): Promise<WalkResult> {
    const counted =
      onFiles &&
      (async (files: WalkedFile[]) => {
        this.hold(files.length);
        try {
          await onFiles(files);
        } finally {
          this.held -= files.length;
        }
      });
    const result = await super.walk(folder, root, patterns, only, counted);
    this.hold(result.files.length);
    return result;
  }

  override hashAll(jobs: readonly HashJob[], onResult: (job: HashJob, result: HashResult) => void): Promise<void> {
    this.hold(jobs.length);
    return super.hashAll(jobs, (job, r) => {
      this.held--;
      onResult(job, r);
    });
  }

  reset(): void {
    this.held = 0;
    this.peak = 0;
  }
}

describe('a whole-folder scan holds a bounded number of walked files, whatever the folder', () => {
  let dir: string;
  let root: string;
  let store: Store;
  let workers: CountingWorkers;
  const folder = () => ({ id: 'f', path: root, ignore: [], paused: false, watch: 'auto' as const });
  const deps = () => ({ index: store.index, workers, events: new EventBus() });
  // Chunks handed over and not yet done with (counted twice while their hashes are sent), and the hashing ahead.
  const bound = THREADS * WALK_CREDITS * WALK_CHUNK * 2 + SCAN_HASHING_AHEAD;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-bounded-'));
    root = join(dir, 'root');
    for (let d = 0; d < FILES / 100; d++) {
      mkdirSync(join(root, `d${d}`), { recursive: true });
      for (let i = 0; i < 100; i++) writeFileSync(join(root, `d${d}`, `f${i}.txt`), `${d}/${i}`);
    }
    store = Store.open(join(dir, 'state'));
    workers = new CountingWorkers(THREADS);
  });
  afterAll(async () => {
    await workers.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(`hashes and indexes ${FILES.toLocaleString('en-US')} new files holding at most ${bound} at once`, async () => {
    expect(bound).toBeLessThan(FILES);
    const scan = await scanFolder(folder(), [], deps());
    expect(scan.complete).toBe(true);
    expect(scan.hashed).toBe(FILES);
    expect(scan.files.size).toBe(FILES);
    expect(scan.files.get('d7/f42.txt')?.size).toBe('7/42'.length);
    expect(store.index.get('f', 'd199/f99.txt')?.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(workers.peak).toBeGreaterThan(0);
    expect(workers.peak).toBeLessThanOrEqual(bound);
  }, 120_000);

  it('rescans the unchanged folder hashing nothing, as bounded, and forgets the files deleted since', async () => {
    workers.reset();
    for (let i = 0; i < 10; i++) unlinkSync(join(root, 'd3', `f${i}.txt`));
    const scan = await scanFolder(folder(), [], deps());
    expect(scan.complete).toBe(true);
    expect(scan.hashed).toBe(0);
    expect(scan.files.size).toBe(FILES - 10);
    expect(store.index.get('f', 'd3/f0.txt')).toBeUndefined();
    expect(store.index.get('f', 'd3/f10.txt')).toBeDefined();
    expect([...store.index.paths('f')].length).toBe(FILES - 10);
    expect(workers.peak).toBeLessThanOrEqual(bound);
  }, 120_000);
});
