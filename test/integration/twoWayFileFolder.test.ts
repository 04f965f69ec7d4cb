import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { startTarget, type Place, type Target, type TargetName } from '../helpers/model/targets';
import { writeConfig } from '../helpers/tree';
import { folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';

/**
 * A name that is a file on one side and a folder on the other: two instances meet two-way through a
 * local folder and real servers (OpenSSH's sftp, pure-ftpd, rclone's WebDAV). Neither side can hold
 * both, so the folder keeps the name and the file is kept beside it under a conflicted-copy name, on
 * both sides, in the pass that meets the clash; a file replaced by a folder (or the reverse) on one
 * side is carried over in one pass. Every pass exits 0.
 */
const TARGETS: TargetName[] = ['local', 'sftp', 'ftp', 'webdav'];
/** Where every case runs; elsewhere the clash itself and a folder replaced by a file (the CI budget). */
const EVERY_CASE: readonly TargetName[] = ['local', 'sftp'];
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-2way-clash-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(TARGETS)('two-way through %s: a file and a folder of one name', (name) => {
  let target: Target;
  let places: Place[] = [];
  beforeAll(async () => {
    target = await startTarget(name);
    // Made before any pass lists the server (rclone's WebDAV caches the listing of its root).
    places = [1, 2, 3, 4, 5].map((i) => target.place(`${name}-${i}`));
  }, 60_000);
  afterAll(() => target?.stop());

  /** Two instances on a fresh place of the destination. */
  function pair(): { a: TwoWaySide; b: TwoWaySide; env: NodeJS.ProcessEnv } {
    const place = places.shift() as Place;
    const id = `${name}-${5 - places.length}`;
    const side = (s: string): TwoWaySide => {
      const folder = join(root, id, s);
      mkdirSync(folder, { recursive: true });
      const config = writeConfig(
        join(root, id, `${s}.yml`),
        [
          'folders:',
          `  - { id: work, path: ${JSON.stringify(folder)} }`,
          'destinations:',
          place.yaml,
          'rules:',
          '  - { name: both-ways, from: [work], to: [dest], mode: two-way }',
          '',
        ].join('\n'),
      );
      return { folder, state: join(root, id, `${s}-state`), config };
    };
    return { a: side('a'), b: side('b'), env: place.env };
  }

  /** One pass; it must exit 0. Returns how many jobs it did. */
  async function pass(side: TwoWaySide, env: NodeJS.ProcessEnv): Promise<number> {
    const r = await syncJson(side.config, side.state, { env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return r.summary?.stats.done ?? 0;
  }

  const aside = (tree: Record<string, string>) =>
    Object.keys(tree).filter((p) => p.startsWith('p (conflicted copy from '));

  it.each([
    ['the file reached the destination first', 'a', 'b'],
    ['the folder reached the destination first', 'b', 'a'],
  ] as const)(
    'one side made the file p, the other the folder p/: the folder keeps the name, the file is kept beside it (%s)',
    async (_, first, second) => {
      const { a, b, env } = pair();
      putFile(a, 'p', 'a file named p, from a');
      putFile(b, 'p/x.txt', 'in the folder p, from b');
      const sides = { a, b };
      await pass(sides[first], env);
      // The pass that meets the clash resolves it on both sides: the other side's next pass brings
      // everything home, and then nothing is left to do anywhere.
      await pass(sides[second], env);
      await pass(sides[first], env);
      const final = folderTree(a.folder);
      expect(final).toEqual(folderTree(b.folder));
      expect(final['p/x.txt']).toBe('in the folder p, from b');
      const copies = aside(final);
      expect(copies).toHaveLength(1);
      expect(final[copies[0] as string]).toBe('a file named p, from a');
      expect(await pass(sides[second], env)).toBe(0);
      expect(await pass(sides[first], env)).toBe(0);
    },
    60_000,
  );

  it.runIf(EVERY_CASE.includes(name))(
    'a file replaced by a folder of the same name on one side is carried over in one pass',
    async () => {
      const { a, b, env } = pair();
      putFile(a, 'p', 'the file p');
      await pass(a, env);
      await pass(b, env);
      unlinkSync(join(a.folder, 'p'));
      putFile(a, 'p/x.txt', 'now a folder');
      await pass(a, env);
      await pass(b, env);
      expect(folderTree(b.folder)).toEqual({ 'p/x.txt': 'now a folder' });
      expect(folderTree(a.folder)).toEqual({ 'p/x.txt': 'now a folder' });
      // The file the other side held went to its trash, not to oblivion.
      expect(
        (readdirSync(join(b.folder, '.ferry-trash'), { recursive: true }) as string[]).some((p) => p.endsWith('p')),
      ).toBe(true);
      expect(await pass(a, env)).toBe(0);
      expect(await pass(b, env)).toBe(0);
    },
    60_000,
  );

  it('a folder replaced by a file of the same name on one side is carried over in one pass', async () => {
    const { a, b, env } = pair();
    putFile(a, 'p/x.txt', 'one');
    putFile(a, 'p/q/y.txt', 'two');
    await pass(a, env);
    await pass(b, env);
    rmSync(join(a.folder, 'p'), { recursive: true });
    putFile(a, 'p', 'now a file');
    await pass(a, env);
    await pass(b, env);
    expect(folderTree(b.folder)).toEqual({ p: 'now a file' });
    expect(folderTree(a.folder)).toEqual({ p: 'now a file' });
    expect(await pass(a, env)).toBe(0);
    expect(await pass(b, env)).toBe(0);
  }, 60_000);

  it.runIf(EVERY_CASE.includes(name))(
    'a file changed on one side while the other replaced it by a folder: both kept',
    async () => {
      const { a, b, env } = pair();
      putFile(a, 'p', 'v1');
      await pass(a, env);
      await pass(b, env);
      putFile(a, 'p', 'v2, edited on a');
      unlinkSync(join(b.folder, 'p'));
      putFile(b, 'p/x.txt', 'folder from b');
      await pass(b, env);
      await pass(a, env);
      await pass(b, env);
      const final = folderTree(a.folder);
      expect(final).toEqual(folderTree(b.folder));
      expect(final['p/x.txt']).toBe('folder from b');
      const copies = aside(final);
      expect(copies.map((c) => final[c])).toEqual(['v2, edited on a']);
      expect(await pass(a, env)).toBe(0);
      expect(await pass(b, env)).toBe(0);
    },
    60_000,
  );
});

describe('two-way through S3 (s3rver): a file the server will not rename', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget('s3');
  }, 60_000);
  afterAll(() => target?.stop());

  // s3rver decodes a copy source with decodeURI, so a key with ";" is "not found" to CopyObject
  // (real S3 decodes it): the file still moves aside, its bytes through this computer.
  it('still moves aside where a folder needs its name, and both sides end equal', async () => {
    const place = target.place('s3-semi');
    const side = (s: string): TwoWaySide => {
      const folder = join(root, 's3-semi', s);
      mkdirSync(folder, { recursive: true });
      const config = writeConfig(
        join(root, 's3-semi', `${s}.yml`),
        [
          'folders:',
          `  - { id: work, path: ${JSON.stringify(folder)} }`,
          'destinations:',
          place.yaml,
          'rules:',
          '  - { name: both-ways, from: [work], to: [dest], mode: two-way }',
          '',
        ].join('\n'),
      );
      return { folder, state: join(root, 's3-semi', `${s}-state`), config };
    };
    const a = side('a');
    const b = side('b');
    const pass = async (s: TwoWaySide) => {
      const r = await syncJson(s.config, s.state, { env: place.env });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return r.summary?.stats.done ?? 0;
    };
    putFile(a, 'semi;colon', 'a file, from a');
    putFile(b, 'semi;colon/x.txt', 'in a folder, from b');
    await pass(a);
    await pass(b);
    await pass(a);
    const final = folderTree(a.folder);
    expect(final).toEqual(folderTree(b.folder));
    expect(final['semi;colon/x.txt']).toBe('in a folder, from b');
    expect(Object.entries(final).filter(([p]) => p.startsWith('semi;colon (conflicted copy from '))).toMatchObject([
      [expect.any(String), 'a file, from a'],
    ]);
    expect(await pass(b)).toBe(0);
    expect(await pass(a)).toBe(0);
  }, 90_000);
});
