import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/engine/events';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

describe('the hash cache and edits that keep size and mtime', () => {
  let dir: string;
  let root: string;
  let store: Store;
  let workers: FileWorkers;
  const folder = () => ({ id: 'f', path: root, ignore: [], paused: false, watch: 'auto' as const });
  const deps = () => ({ index: store.index, workers, events: new EventBus() });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-ctime-'));
    root = join(dir, 'root');
    mkdirSync(root);
    store = Store.open(join(dir, 'state'));
    workers = new FileWorkers(1);
  });
  afterAll(async () => {
    await workers.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hashes again a file rewritten in place with the same size and its old mtime put back (cp -p, touch -r)', async () => {
    const file = join(root, 'report.txt');
    // A whole-millisecond mtime, as a download or `touch -d` leaves it: one that can be put back exactly.
    const mtime = new Date('2026-11-30T10:00:00.123Z');
    writeFileSync(file, 'version one');
    utimesSync(file, mtime, mtime);
    const first = await scanFolder(folder(), [], deps());
    writeFileSync(file, 'version two'); // same length, same inode
    utimesSync(file, mtime, mtime);
    expect(statSync(file, { bigint: true }).mtimeNs).toBe(first.files.get('report.txt')?.mtimeNs);
    const next = await scanFolder(folder(), [], deps());
    expect(next.hashed).toBe(1);
    expect(next.files.get('report.txt')?.hashes.sha256).not.toBe(first.files.get('report.txt')?.hashes.sha256);
    // And nothing changed: nothing hashed.
    expect((await scanFolder(folder(), [], deps())).hashed).toBe(0);
  });

  it('trusts an entry indexed before change times were kept once, and keeps its change time from then on', async () => {
    const file = join(root, 'old.txt');
    const mtime = new Date('2026-11-30T10:00:00.456Z');
    writeFileSync(file, 'indexed by an older build');
    utimesSync(file, mtime, mtime);
    await scanFolder(folder(), [], deps());
    // As an older build left it: no change time recorded.
    store.db.prepare('UPDATE files SET ctime_ns = NULL').run();
    const upgraded = await scanFolder(folder(), [], deps());
    expect(upgraded.hashed).toBe(0);
    expect(store.index.get('f', 'old.txt')?.ctimeNs).toBe(statSync(file, { bigint: true }).ctimeNs);
    writeFileSync(file, 'indexed by a newer build');
    utimesSync(file, mtime, mtime);
    expect((await scanFolder(folder(), [], deps())).hashed).toBe(1);
  });
});
