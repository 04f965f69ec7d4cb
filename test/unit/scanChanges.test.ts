import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/engine/events';
import { scanChanges, scanFolder, type FolderScan } from '../../src/main/engine/scan/scanner';
import { topmost } from '../../src/main/engine/scan/walk';
import { nameFromBytes } from '../../src/main/engine/scan/rawNames';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

describe('scoped rescans after watcher hints', () => {
  let dir: string;
  let store: Store;
  let workers: FileWorkers;
  let folder: { id: string; path: string; ignore: string[]; paused: boolean; watch: 'auto' };
  const deps = () => ({ index: store.index, workers, events: new EventBus() });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-scoped-'));
    const root = join(dir, 'root');
    mkdirSync(join(root, 'docs/old'), { recursive: true });
    mkdirSync(join(root, 'build'), { recursive: true });
    writeFileSync(join(root, 'a.txt'), 'a');
    writeFileSync(join(root, 'docs/b.txt'), 'b');
    writeFileSync(join(root, 'docs/old/c.txt'), 'c');
    writeFileSync(join(root, 'docs/old/d.txt'), 'd');
    writeFileSync(join(root, '.ferryignore'), 'build/\n');
    folder = { id: 'f', path: root, ignore: ['*.tmp'], paused: false, watch: 'auto' };
    store = Store.open(join(dir, 'state'));
    workers = new FileWorkers(1);
  });
  afterAll(async () => {
    await workers.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sees a new file whose name is not UTF-8 from the watcher's lossy hint (U+FFFD), by its exact bytes", async () => {
    const root = folder.path;
    const before = await scanFolder(folder, [], deps());
    writeFileSync(Buffer.from(`${root}/docs/caf\xe9.txt`, 'latin1'), 'latin-1');
    // What a watcher reports for it: the name decoded as UTF-8, the bad byte replaced.
    const next = await scanChanges(folder, [], deps(), ['docs/caf\uFFFD.txt'], before);
    const found = [...next.files.keys()].filter((p) => !before.files.has(p));
    expect(found).toEqual([nameFromBytes(Buffer.from('docs/caf\xe9.txt', 'latin1'))]);
    expect(next.issues).toEqual([]);
    rmSync(Buffer.from(`${root}/docs/caf\xe9.txt`, 'latin1'));
    await scanFolder(folder, [], deps());
  });

  it('looks only at the paths named, and keeps the rest as it was', async () => {
    const root = folder.path;
    const first = await scanFolder(folder, [], deps());
    expect([...first.files.keys()].sort()).toEqual([
      '.ferryignore',
      'a.txt',
      'docs/b.txt',
      'docs/old/c.txt',
      'docs/old/d.txt',
    ]);

    writeFileSync(join(root, 'a.txt'), 'a, edited');
    writeFileSync(join(root, 'new.txt'), 'n');
    writeFileSync(join(root, 'scratch.tmp'), 'ignored by pattern');
    writeFileSync(join(root, 'build/out.bin'), 'ignored by .ferryignore');
    renameSync(join(root, 'docs/old'), join(root, 'docs/archive'));
    rmSync(join(root, 'docs/b.txt'));
    const hints = ['a.txt', 'new.txt', 'scratch.tmp', 'build/out.bin', 'docs/old', 'docs/archive', 'docs/b.txt'];
    const next: FolderScan = await scanChanges(folder, [], deps(), hints, first);
    expect([...next.files.keys()].sort()).toEqual([
      '.ferryignore',
      'a.txt',
      'docs/archive/c.txt',
      'docs/archive/d.txt',
      'new.txt',
    ]);
    expect(next.files.get('a.txt')?.hashes.sha256).not.toBe(first.files.get('a.txt')?.hashes.sha256);
    // Moved files keep their content hash: rename detection relies on it.
    expect(next.files.get('docs/archive/c.txt')?.hashes.sha256).toBe(first.files.get('docs/old/c.txt')?.hashes.sha256);
    expect(next.hashed).toBe(4);
    // The index agrees with a full scan.
    const full = await scanFolder(folder, [], deps());
    expect([...full.files.keys()].sort()).toEqual([...next.files.keys()].sort());
    expect(full.hashed).toBe(0);
  });

  it('keeps only the topmost of nested paths', () => {
    expect(topmost(['a/b', 'a', 'c/d', 'c/de', 'a/b/c', ''])).toEqual(['a', 'c/d', 'c/de']);
  });
});
