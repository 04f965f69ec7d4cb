import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openToAll, RUN_AS_NOBODY, syncJson } from '../helpers/cli';
import { sha256, snapshot, writeConfig } from '../helpers/tree';
import { converge, folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';
import { s3DestinationYaml, S3RVER_KEY, startS3rver, type S3rver } from '../servers/s3rver';
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

/** Every file below `dir`, its name's bytes in hex (`/` kept) → its content: names compared as bytes. */
/** Every file below `dir`, keyed by the hex of its path's bytes; a destination's kept versions left out. */
function rawTree(dir: Buffer, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir, { encoding: 'buffer' })) {
    if (rel === '' && name.toString() === '.ferry-versions') continue;
    const abs = Buffer.concat([dir, Buffer.from('/'), name]);
    const r = rel === '' ? name.toString('hex') : `${rel}/${name.toString('hex')}`;
    if (lstatSync(abs).isDirectory()) for (const [k, v] of rawTree(abs, r)) out.set(k, v);
    else out.set(r, readFileSync(abs, 'utf8'));
  }
  return out;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Writes a file whose path is given as bytes (its folders made, opened to the test user). */
function putRaw(root: string, rel: Buffer, body: string): void {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++)
    if (i === rel.length || rel[i] === 0x2f) {
      parts.push(rel.subarray(start, i));
      start = i + 1;
    }
  let abs = Buffer.from(root);
  for (const [i, part] of parts.entries()) {
    abs = Buffer.concat([abs, Buffer.from('/'), part]);
    if (i < parts.length - 1) {
      mkdirSync(abs, { recursive: true });
      if (RUN_AS_NOBODY) chmodSync(abs, 0o777);
    } else writeFileSync(abs, body);
  }
}

describe('names that are not UTF-8 (a Latin-1 archive)', () => {
  const files: [Buffer, string][] = [
    [latin1('caf\xe9.txt'), 'latin-1 name'],
    [latin1('l\xe9gacy/inner.txt'), 'in a latin-1 folder'],
    [Buffer.from('café.txt'), 'the UTF-8 twin'],
  ];
  const expected = new Map(files.map(([k, v]) => [k.toString('hex').replace(/2f/g, '/'), v]));
  let s3: S3rver | undefined;
  beforeAll(async () => {
    s3 = await startS3rver(['names']);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('mirror to a local folder: shipped under their exact bytes, nothing to do next, deleted with the source', async () => {
    const w = setUp([{ mode: 'mirror' }], {});
    for (const [k, v] of files) putRaw(w.src, k, v);
    const r = await syncJson(w.config, w.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.scanIssues).toEqual([]);
    expect(rawTree(Buffer.from(w.dest))).toEqual(expected);
    const again = await syncJson(w.config, w.state);
    expect(again.code).toBe(0);
    expect(again.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    unlinkSync(Buffer.concat([Buffer.from(`${w.src}/`), latin1('caf\xe9.txt')]));
    const third = await syncJson(w.config, w.state);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    const left = new Map(expected);
    left.delete(latin1('caf\xe9.txt').toString('hex'));
    expect(rawTree(Buffer.from(w.dest))).toEqual(left);
    // What the mirror deleted is kept, under the same bytes of its name (versions, on by default).
    const kept = readdirSync(Buffer.from(join(w.dest, '.ferry-versions')), { encoding: 'buffer' });
    expect(kept).toHaveLength(1);
    expect(kept[0]?.subarray(0, 9).equals(latin1('caf\xe9.txt@'))).toBe(true);
  });

  it('move to a local folder: every source goes once its bytes are there under its own name', async () => {
    const w = setUp([{ mode: 'move' }], {});
    for (const [k, v] of files) putRaw(w.src, k, v);
    const r = await syncJson(w.config, w.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(rawTree(Buffer.from(w.dest))).toEqual(expected);
    expect([...rawTree(Buffer.from(w.src)).keys()]).toEqual([]);
  });

  it('a destination that holds names as text fails each such file by name, bytes shown; the rest is shipped', async () => {
    const server = s3 as S3rver;
    ws = workspace({
      rules: [{ mode: 'move', to: ['bucket'] }],
      extraDestinations: s3DestinationYaml('bucket', { bucket: 'names', endpoint: server.url, prefix: 'p' }),
    });
    const w = ws;
    for (const [k, v] of files) putRaw(w.src, k, v);
    const r = await syncJson(w.config, w.state, { env: { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY } });
    expect(r.code).not.toBe(0);
    expect(r.summary?.scanIssues).toEqual([]);
    const failures = r.summary?.failures ?? [];
    expect(failures.map((f) => f.error.message).sort()).toEqual([
      expect.stringContaining('caf\\xe9.txt'),
      expect.stringContaining('l\\xe9gacy/inner.txt'),
    ]);
    for (const f of failures) expect(f.error.kind).toBe('invalid-name');
    // Only the UTF-8 file was moved; the two others stay where they are.
    const left = new Map(expected);
    left.delete(Buffer.from('café.txt').toString('hex'));
    expect(rawTree(Buffer.from(w.src))).toEqual(left);
  });
});
