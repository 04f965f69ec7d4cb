import { linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/engine/events';
import { scanPaths } from '../../src/main/engine/live/scanPaths';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import { statementsRun } from '../../src/main/engine/store/db';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

describe("the live path's scan of hinted paths", () => {
  let dir: string;
  let store: Store;
  let workers: FileWorkers;
  let folder: { id: string; path: string; ignore: string[]; paused: boolean; watch: 'auto' };
  const deps = () => ({ index: store.index, workers, events: new EventBus() });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-paths-'));
    const root = join(dir, 'root');
    mkdirSync(join(root, 'docs/deep'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(join(root, 'docs', `f${i}.txt`), `file ${i}`);
    writeFileSync(join(root, 'docs/deep/a.txt'), 'a');
    writeFileSync(join(root, 'docs/deep/b.txt'), 'b');
    folder = { id: 'f', path: root, ignore: [], paused: false, watch: 'auto' };
    store = Store.open(join(dir, 'state'));
    workers = new FileWorkers(1);
    await scanFolder(folder, [], deps());
  });
  afterAll(async () => {
    await workers.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the index by key and key range only: a folder hint removes what is no longer below it', async () => {
    rmSync(join(folder.path, 'docs/deep/b.txt'));
    writeFileSync(join(folder.path, 'docs/deep/c.txt'), 'c');
    const before = statementsRun(store.db);
    const ps = await scanPaths(folder, [], deps(), ['docs/deep'], false);
    const rows = statementsRun(store.db).rows - before.rows;
    expect(ps?.gone).toEqual(['docs/deep/b.txt']);
    expect([...(ps?.present.keys() ?? [])].sort()).toEqual(['docs/deep/a.txt', 'docs/deep/c.txt']);
    expect(ps?.read).toBe(1); // c.txt only: a.txt is known to the index
    // The rows below docs/deep (a, b), and c's file id looked up: never the 50 files beside them.
    expect(rows).toBeLessThan(6);
    expect(store.index.get('f', 'docs/deep/b.txt')).toBeUndefined();
  });

  it('confirms the old name of a moved file gone when the watcher named only the new one', async () => {
    renameSync(join(folder.path, 'docs/f1.txt'), join(folder.path, 'moved.txt'));
    const ps = await scanPaths(folder, [], deps(), ['moved.txt'], false);
    expect(ps?.gone).toEqual(['docs/f1.txt']);
    expect([...(ps?.present.keys() ?? [])]).toEqual(['moved.txt']);
  });

  it('keeps a second name of the same file (a hard link) that is still there', async () => {
    linkSync(join(folder.path, 'docs/f2.txt'), join(folder.path, 'linked.txt'));
    const ps = await scanPaths(folder, [], deps(), ['linked.txt'], false);
    expect(ps?.gone).toEqual([]);
    expect(store.index.get('f', 'docs/f2.txt')).toBeDefined();
  });
});
