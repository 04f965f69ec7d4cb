import * as parcel from '@parcel/watcher';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SUBTREES, NativeTreeWatch } from '../../src/main/engine/watch/nativeTree';

/** NativeTreeWatch on the real @parcel/watcher: what it reports for directories that appear later. */
let root: string | undefined;
let watch: NativeTreeWatch | undefined;
afterEach(async () => {
  await watch?.close();
  watch = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function start() {
  const base = (root = mkdtempSync(join(tmpdir(), 'ferry-native-')));
  const dir = join(base, 'w');
  mkdirSync(dir);
  const seen = new Set<string>();
  const times = new Map<string, number>();
  let fulls = 0;
  watch = new NativeTreeWatch(
    parcel,
    dir,
    (paths) =>
      paths.forEach((p) => {
        seen.add(p);
        times.set(p, (times.get(p) ?? 0) + 1);
      }),
    (err) => {
      throw err;
    },
    () => fulls++,
  );
  await watch.start();
  // A new directory is reported by its event, then again once its own watches are in place.
  const watched = (p: string) => (times.get(p) ?? 0) >= 2;
  return { base, dir, seen, watched, fulls: () => fulls };
}

describe('the native watcher and directories that appear later', () => {
  it('reports writes deep in a tree moved in, under the names they have now', async () => {
    const { base, dir, seen, watched, fulls } = await start();
    mkdirSync(join(base, 'elsewhere/x/y/z'), { recursive: true });
    renameSync(join(base, 'elsewhere/x'), join(dir, 'x'));
    await until('the moved-in tree, watched whole', () => watched(join(dir, 'x')));
    writeFileSync(join(dir, 'x/y/z/new.txt'), 'n');
    await until('the write deep in it', () => seen.has(join(dir, 'x/y/z/new.txt')));
    renameSync(join(dir, 'x'), join(dir, 'x2'));
    await until('the renamed directory, watched whole', () => watched(join(dir, 'x2')));
    writeFileSync(join(dir, 'x2/y/z/after.txt'), 'a');
    await until('the write below the renamed directory', () => seen.has(join(dir, 'x2/y/z/after.txt')));
    // Seen by the subtrees' own watches, not by a rescan of everything.
    expect(fulls()).toBe(0);
  });

  it(`past ${MAX_SUBTREES} new directories at once, watches the folder afresh and asks for a full rescan`, async () => {
    const { dir, seen, fulls } = await start();
    for (let i = 0; i < MAX_SUBTREES + 6; i++) mkdirSync(join(dir, `d${i}/deep/er`), { recursive: true });
    await until('a full rescan to be asked for', () => fulls() === 1);
    writeFileSync(join(dir, 'd3/deep/er/f.txt'), 'f');
    await until('a write deep in one of them', () => seen.has(join(dir, 'd3/deep/er/f.txt')));
    expect(fulls()).toBe(1);
  });
});
