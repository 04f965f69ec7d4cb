import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { startTarget, type Place, type Target, type TargetName } from '../helpers/model/targets';
import { writeConfig } from '../helpers/tree';

/**
 * Backup and move rules keep what they delivered. When a name changes kind in the folder (a file
 * replaced by a folder of its name, or the reverse), the kept copy stands where the new one must go:
 * every pass failed ("a file and a folder want the same name"). The kept copy now moves aside at the
 * destination under a name that says why, and the new one takes the name, in the pass that sees it.
 */
const TARGETS: TargetName[] = ['local', 'sftp', 'ftp', 'webdav', 'dropbox', 's3'];
const today = (): string => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-kept-aside-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(TARGETS)('backup and move to %s: a name that changes kind keeps the old copy', (name) => {
  let target: Target;
  let places: Place[] = [];
  let n = 0;
  beforeAll(async () => {
    target = await startTarget(name);
    places = [1, 2, 3, 4, 5].map((i) => target.place(`${name}-${i}`));
  }, 60_000);
  afterAll(() => target?.stop());

  function rule(mode: 'backup' | 'move') {
    const place = places.shift() as Place;
    const base = join(root, `${name}-${++n}`);
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
        `  - { name: keep, from: [work], to: [dest], mode: ${mode} }`,
        '',
      ].join('\n'),
    );
    const run = async () => {
      const r = await syncJson(config, join(base, 'state'), { env: place.env });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return r.summary?.stats.done ?? 0;
    };
    // Path → content, for the files Ferry keeps there (its trash aside).
    const dest = async () => {
      const byHash = new Map([...written].map((c) => [sha(c), c]));
      const snap = [...(await place.snapshot())].filter(
        ([p]) => !p.startsWith('.ferry-trash/') && !p.startsWith('.ferry-versions/'),
      );
      return Object.fromEntries(snap.sort().map(([p, h]) => [p, byHash.get(h) ?? h]));
    };
    return { folder, run, dest };
  }
  const written = new Set<string>();
  const put = (folder: string, path: string, content: string) => {
    written.add(content);
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  };

  it('backup: a file renamed onto a name whose old copy is there holds the renamed content there', async () => {
    const m = rule('backup');
    put(m.folder, 'a.txt', 'old a');
    put(m.folder, 'b.txt', 'the b');
    await m.run();
    unlinkSync(join(m.folder, 'a.txt'));
    renameSync(join(m.folder, 'b.txt'), join(m.folder, 'a.txt'));
    // A server-side copy from b.txt where the server will copy over a file; the bytes otherwise (Dropbox).
    await m.run();
    expect(await m.dest()).toEqual({ 'a.txt': 'the b', 'b.txt': 'the b' });
    expect(await m.run()).toBe(0);
  }, 60_000);

  for (const mode of ['backup', 'move'] as const) {
    it(`${mode}: a file replaced by a folder of its name — the old file kept beside it, the folder sent in one pass`, async () => {
      const m = rule(mode);
      put(m.folder, 'notes.txt', 'the file');
      await m.run();
      if (mode === 'backup') unlinkSync(join(m.folder, 'notes.txt'));
      put(m.folder, 'notes.txt/x.txt', 'now a folder');
      await m.run();
      // On an object store a key and a prefix of one name live side by side: nothing moves there.
      const kept = name === 's3' ? 'notes.txt' : `notes (replaced by a folder ${today()}).txt`;
      expect(await m.dest()).toEqual({ [kept]: 'the file', 'notes.txt/x.txt': 'now a folder' });
      expect(await m.run()).toBe(0);
    }, 60_000);

    it(`${mode}: a folder replaced by a file of its name — the old folder kept beside it, the file sent in one pass`, async () => {
      const m = rule(mode);
      put(m.folder, 'p/x.txt', 'one');
      put(m.folder, 'p/q/y.txt', 'two');
      await m.run();
      // A move leaves the emptied folders behind: gone either way.
      rmSync(join(m.folder, 'p'), { recursive: true, force: true });
      put(m.folder, 'p', 'now a file');
      await m.run();
      const kept = name === 's3' ? 'p' : `p (replaced by a file ${today()})`;
      expect(await m.dest()).toEqual({ [`${kept}/q/y.txt`]: 'two', [`${kept}/x.txt`]: 'one', p: 'now a file' });
      expect(await m.run()).toBe(0);
    }, 60_000);
  }
});
