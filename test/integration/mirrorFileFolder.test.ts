import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { readTree } from '../helpers/model/ops';
import { startTarget, type Place, type Target, type TargetName } from '../helpers/model/targets';
import { writeConfig } from '../helpers/tree';

/**
 * A mirror whose folder replaces a file by a folder of the same name, or a folder by a file: the old
 * one must leave the destination before the new one can be written there, so the pass that sees the
 * change carries it over (it failed, or skipped the deletion as "the file is back", on every pass).
 */
const TARGETS: TargetName[] = ['local', 'sftp'];
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-mirror-kind-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(TARGETS)('a mirror to %s: a name that changes from file to folder or back', (name) => {
  let target: Target;
  let places: Place[] = [];
  beforeAll(async () => {
    target = await startTarget(name);
    places = [1, 2].map((i) => target.place(`${name}-${i}`));
  }, 60_000);
  afterAll(() => target?.stop());

  function mirror(): { folder: string; run: () => Promise<number>; dest: () => Promise<Map<string, string>> } {
    const place = places.shift() as Place;
    const base = join(root, `${name}-${2 - places.length}`);
    const folder = join(base, 'work');
    mkdirSync(folder, { recursive: true });
    const config = writeConfig(
      join(base, 'ferry.yml'),
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(folder)} }`,
        'destinations:',
        place.yaml,
        'rules:',
        '  - { name: mirror, from: [work], to: [dest], mode: mirror }',
        '',
      ].join('\n'),
    );
    const run = async () => {
      const r = await syncJson(config, join(base, 'state'), { env: place.env });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return r.summary?.stats.done ?? 0;
    };
    const dest = async () =>
      new Map(
        [...(await place.snapshot())].filter(
          ([p]) => !p.startsWith('.ferry-trash/') && !p.startsWith('.ferry-versions/'),
        ),
      );
    return { folder, run, dest };
  }
  const put = (folder: string, path: string, content: string) => {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  };
  const folderKeys = (folder: string) => [...readTree(folder).keys()].sort();

  it('a file replaced by a folder of its name is carried over in one pass', async () => {
    const m = mirror();
    put(m.folder, 'p', 'the file p');
    await m.run();
    unlinkSync(join(m.folder, 'p'));
    put(m.folder, 'p/x.txt', 'now a folder');
    await m.run();
    expect([...(await m.dest()).keys()].sort()).toEqual(folderKeys(m.folder));
    expect(await m.run()).toBe(0);
  }, 60_000);

  it('a folder replaced by a file of its name is carried over in one pass', async () => {
    const m = mirror();
    put(m.folder, 'p/x.txt', 'one');
    put(m.folder, 'p/q/y.txt', 'two');
    await m.run();
    rmSync(join(m.folder, 'p'), { recursive: true });
    put(m.folder, 'p', 'now a file');
    await m.run();
    expect([...(await m.dest()).keys()].sort()).toEqual(['p']);
    expect(await m.run()).toBe(0);
  }, 60_000);
});
