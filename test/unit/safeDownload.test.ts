import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { TempNames } from '../../src/main/engine/providers/tempNames';
import { downloadInto, unsafeLocalPath } from '../../src/main/engine/transfer/safeDownload';

const temp = new TempNames();
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

const workers = new FileWorkers(1);
afterAll(() => workers.close());

let dir: string;
let remoteRoot: string;
let root: string;
let dest: LocalDestination;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-dl-'));
  remoteRoot = join(dir, 'remote');
  root = join(dir, 'local');
  mkdirSync(remoteRoot);
  mkdirSync(root);
  dest = new LocalDestination({ id: 'nas', path: remoteRoot }, workers);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const opts = () => ({ signal: new AbortController().signal });
const conflictPath = (p: string) => `${p}.conflict`;
const noTemp = (d: string) => expect(readdirSync(d).filter((n) => n.startsWith('.ferrytmp'))).toEqual([]);

function remote(path: string, content: string, mtime = new Date('2024-05-06T07:08:09Z')): void {
  const abs = join(remoteRoot, path);
  mkdirSync(join(abs, '..'), { recursive: true });
  writeFileSync(abs, content);
  utimesSync(abs, mtime, mtime);
}

describe('downloads for two-way sync', () => {
  it("land byte-identical, flushed, with the remote's mtime, and leave no temporary file", async () => {
    remote('docs/a.txt', 'alpha');
    const got = await downloadInto({
      temp,
      dest,
      remotePath: 'docs/a.txt',
      root,
      path: 'docs/a.txt',
      replaces: null,
      conflictPath,
      opts: opts(),
    });
    expect(got).toMatchObject({ path: 'docs/a.txt', conflicted: false, size: 5, hashes: { sha256: sha('alpha') } });
    expect(readFileSync(join(root, 'docs', 'a.txt'), 'utf8')).toBe('alpha');
    expect(statSync(join(root, 'docs', 'a.txt')).mtime.toISOString()).toBe('2024-05-06T07:08:09.000Z');
    noTemp(join(root, 'docs'));
  });

  it('refuse a remote name that would leave the folder, writing nothing', async () => {
    for (const bad of ['../escape.txt', 'a/../../escape.txt', '/etc/passwd', 'a//b', 'C:\\x', './a', 'x\0y'])
      expect(unsafeLocalPath(bad), bad).toBeDefined();
    expect(unsafeLocalPath('ok/name with spaces.txt')).toBeUndefined();
    remote('x.txt', 'x');
    const err = await downloadInto({
      temp,
      dest,
      remotePath: 'x.txt',
      root,
      path: '../x.txt',
      replaces: null,
      conflictPath,
      opts: opts(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).kind).toBe('invalid-name');
    expect(readdirSync(dir).sort()).toEqual(['local', 'remote']);
  });

  it('refuse to follow a link inside the folder that points outside it', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'link'));
    remote('link/x.txt', 'x');
    const err = await downloadInto({
      temp,
      dest,
      remotePath: 'link/x.txt',
      root,
      path: 'link/x.txt',
      replaces: null,
      conflictPath,
      opts: opts(),
    }).catch((e: unknown) => e);
    expect((err as FerryError).code).toBe('unsafe-remote-name');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('keep a local file edited since the plan, landing as a conflicted copy beside it', async () => {
    remote('a.txt', 'theirs');
    writeFileSync(join(root, 'a.txt'), 'mine, edited');
    const got = await downloadInto({
      temp,
      dest,
      remotePath: 'a.txt',
      root,
      path: 'a.txt',
      replaces: sha('mine'),
      conflictPath,
      opts: opts(),
    });
    expect(got).toMatchObject({ path: 'a.txt.conflict', conflicted: true });
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('mine, edited');
    expect(readFileSync(join(root, 'a.txt.conflict'), 'utf8')).toBe('theirs');
  });

  it('replace the local file when it is still what the plan saw', async () => {
    remote('a.txt', 'theirs');
    writeFileSync(join(root, 'a.txt'), 'mine');
    const got = await downloadInto({
      temp,
      dest,
      remotePath: 'a.txt',
      root,
      path: 'a.txt',
      replaces: sha('mine'),
      conflictPath,
      opts: opts(),
    });
    expect(got.conflicted).toBe(false);
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('theirs');
  });

  it('publish nothing when the bytes do not match what the destination listed', async () => {
    remote('a.txt', 'theirs');
    const err = await downloadInto({
      temp,
      dest,
      remotePath: 'a.txt',
      root,
      path: 'a.txt',
      replaces: null,
      conflictPath,
      opts: opts(),
      expect: { hashes: { sha256: sha('something else') } },
    }).catch((e: unknown) => e);
    expect((err as FerryError).code).toBe('verify-failed');
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('downloads where a folder of the same name stands', () => {
  const get = () =>
    downloadInto({ temp, dest, remotePath: 'p', root, path: 'p', replaces: null, conflictPath, opts: opts() });

  it('take the place of a folder that holds no file (its files went to the trash; empty folders are not synced)', async () => {
    remote('p', 'now a file');
    mkdirSync(join(root, 'p', 'q', 'r'), { recursive: true });
    mkdirSync(join(root, 'p', '.hidden'));
    const got = await get();
    expect(got.path).toBe('p');
    expect(readFileSync(join(root, 'p'), 'utf8')).toBe('now a file');
  });

  it('never touch a folder with a file in it, and say so', async () => {
    remote('p', 'now a file');
    mkdirSync(join(root, 'p', 'q'), { recursive: true });
    writeFileSync(join(root, 'p', 'q', 'keep.txt'), 'mine');
    const err = await get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).message).toContain('p is a folder here');
    expect(readFileSync(join(root, 'p', 'q', 'keep.txt'), 'utf8')).toBe('mine');
    noTemp(root);
  });
});
