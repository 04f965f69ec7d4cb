import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openToAll, RUN_AS_NOBODY, syncJson } from '../helpers/cli';
import { sha256, snapshot, writeConfig } from '../helpers/tree';
import { converge, folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';
import { workspace, type RuleSpec, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

function put(root: string, rel: string, body: string): void {
  const abs = join(root, ...rel.split('/'));
  mkdirSync(join(abs, '..'), { recursive: true });
  writeFileSync(abs, body);
}

function setUp(rules: RuleSpec[], files: Record<string, string>): Workspace {
  ws = workspace({ rules });
  for (const [rel, body] of Object.entries(files)) put(ws.src, rel, body);
  return ws;
}

describe('a backslash is a character of a name, not a separator', () => {
  const files = { 'back\\slash.txt': 'the backslash file', 'back/slash.txt': 'the real file' };

  it('mirror: each file lands at its own path with its own bytes', async () => {
    const w = setUp([{ mode: 'mirror' }], files);
    const r = await syncJson(w.config, w.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const dest = snapshot(w.dest);
    expect(dest.get('back\\slash.txt')).toBe(sha256('the backslash file'));
    expect(dest.get('back/slash.txt')).toBe(sha256('the real file'));
    expect(dest.size).toBe(2);
    const again = await syncJson(w.config, w.state);
    expect(again.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
  });

  it('move: both sources go only once their own bytes are at their own paths', async () => {
    const w = setUp([{ mode: 'move' }], files);
    const r = await syncJson(w.config, w.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(snapshot(w.src).size).toBe(0);
    const dest = snapshot(w.dest);
    expect(dest.get('back\\slash.txt')).toBe(sha256('the backslash file'));
    expect(dest.get('back/slash.txt')).toBe(sha256('the real file'));
  });

  it('a template that expands a backslash keeps it in the name', async () => {
    const w = setUp([{ mode: 'mirror', path: 'x/{name}' }], { 'a\\b.txt': 'ab', 'a/b.txt': 'nested' });
    const r = await syncJson(w.config, w.state);
    // {name} of both is different ("a\\b.txt" and "b.txt"): nothing collides, nothing is rewritten.
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(snapshot(w.dest)).toEqual(
      new Map([
        ['x/a\\b.txt', sha256('ab')],
        ['x/b.txt', sha256('nested')],
      ]),
    );
  });
});

describe('two files on one remote path', () => {
  it('move: the collision is reported, the file that lost keeps its source, the other is moved', async () => {
    const w = setUp([{ mode: 'move', path: '{name}' }], { 'a/x.txt': 'from a', 'b/x.txt': 'from b' });
    const r = await syncJson(w.config, w.state);
    expect(r.code).not.toBe(0);
    expect(r.summary?.problems).toContainEqual(
      expect.objectContaining({ kind: 'collision', path: 'b/x.txt', remotePath: 'x.txt' }),
    );
    expect(snapshot(w.dest)).toEqual(new Map([['x.txt', sha256('from a')]]));
    // b/x.txt's bytes are nowhere else: it stays.
    expect(snapshot(w.src)).toEqual(new Map([['b/x.txt', sha256('from b')]]));
    // Pass after pass, the same file keeps the path (whatever order a listing gives) and b stays.
    const again = await syncJson(w.config, w.state);
    expect(again.code).not.toBe(0);
    expect(snapshot(w.dest)).toEqual(new Map([['x.txt', sha256('from a')]]));
    expect(snapshot(w.src)).toEqual(new Map([['b/x.txt', sha256('from b')]]));
  });
});

describe('conflicted copies of long names', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it('keeps a conflicted copy of a file whose name is near 255 bytes, its stem shortened', async () => {
    root = mkdtempSync(join(tmpdir(), 'ferry-names-'));
    const r = root;
    mkdirSync(join(r, 'hub'));
    if (RUN_AS_NOBODY) openToAll(r);
    const side = (name: string): TwoWaySide => {
      const folder = join(r, name);
      mkdirSync(folder);
      if (RUN_AS_NOBODY) openToAll(folder);
      const config = writeConfig(
        join(r, `${name}.yml`),
        [
          'folders:',
          `  - { id: work, path: ${JSON.stringify(folder)} }`,
          'destinations:',
          `  - { id: hub, type: local, path: ${JSON.stringify(join(r, 'hub'))} }`,
          'rules:',
          '  - { name: both-ways, from: [work], to: [hub], mode: two-way }',
          '',
        ].join('\n'),
      );
      return { folder, state: join(r, `${name}-state`), config };
    };
    const a = side('a');
    const b = side('b');
    if (RUN_AS_NOBODY) openToAll(join(r, 'hub'));
    const long = `${'\u00e9'.repeat(120)}.txt`; // 244 bytes: with the suffix it would be over 255
    putFile(a, long, 'shared');
    await converge(a, b);
    putFile(a, long, 'mine, from a');
    putFile(b, long, 'theirs, from b');
    await converge(a, b);
    const final = folderTree(a.folder);
    expect(final).toEqual(folderTree(b.folder));
    const copies = Object.keys(final).filter((p) => p.includes(' (conflicted copy from '));
    expect(copies).toHaveLength(1);
    const copy = copies[0] as string;
    expect(Buffer.byteLength(copy)).toBeLessThanOrEqual(255);
    expect(copy.endsWith('.txt')).toBe(true);
    expect(new Set([final[long], final[copy]])).toEqual(new Set(['mine, from a', 'theirs, from b']));
  });
});
