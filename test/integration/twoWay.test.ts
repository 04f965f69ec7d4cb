import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnFerry, syncJson } from '../helpers/cli';
import { prng, writeConfig } from '../helpers/tree';
import { converge as convergeBoth, folderTree, putFile } from '../helpers/twoWay';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { s3DestinationYaml, startS3rver, S3RVER_KEY, type S3rver } from '../servers/s3rver';

/**
 * Two Ferry instances (two state directories, two folders) keep their folders equal through one
 * local destination with `mode: two-way`, each run by the real `ferry sync --once`.
 */
type Side = { name: string; folder: string; state: string; config: string };
let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** Where both instances meet: a local folder, or a bucket of a real S3 server (s3rver). */
type Hub = { name: string; yaml: (root: string) => string; env: NodeJS.ProcessEnv };
const S3_ENV = { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY };
let s3: S3rver | undefined;
let dropbox: DropboxEmulator | undefined;
let hubKind: Hub;
beforeAll(async () => {
  s3 = await startS3rver(['two-way']);
  dropbox = await startDropboxEmulator();
});
afterAll(async () => {
  await s3?.stop();
  await dropbox?.close();
});
const HUBS: Hub[] = [
  {
    name: 'a local folder',
    yaml: (r) => `  - { id: hub, type: local, path: ${JSON.stringify(join(r, 'hub'))} }`,
    env: {},
  },
  {
    name: 'S3 (s3rver)',
    yaml: (r) =>
      s3DestinationYaml('hub', {
        bucket: 'two-way',
        endpoint: (s3 as S3rver).url,
        prefix: r.slice(r.lastIndexOf('-') + 1),
      }),
    env: S3_ENV,
  },
  {
    name: 'Dropbox (emulator)',
    yaml: (r) =>
      [
        '  - id: hub',
        '    type: dropbox',
        '    app_key: ferry-test-app',
        '    refresh_token: env:FERRY_TEST_DBX_TOKEN',
        `    endpoint: ${(dropbox as DropboxEmulator).url}`,
        `    root: /two-way-${r.slice(r.lastIndexOf('-') + 1)}`,
      ].join('\n'),
    get env() {
      return { FERRY_TEST_DBX_TOKEN: (dropbox as DropboxEmulator).issueRefreshToken() };
    },
  },
];

function setup(): { a: Side; b: Side; hub: string } {
  root = mkdtempSync(join(tmpdir(), 'ferry-2way-'));
  const hub = join(root, 'hub');
  mkdirSync(hub);
  const side = (name: string): Side => {
    const folder = join(root as string, name);
    mkdirSync(folder);
    const config = writeConfig(
      join(root as string, `${name}.yml`),
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(folder)} }`,
        'destinations:',
        hubKind.yaml(root as string),
        'rules:',
        '  - { name: both-ways, from: [work], to: [hub], mode: two-way }',
        '',
      ].join('\n'),
    );
    return { name, folder, state: join(root as string, `${name}-state`), config };
  };
  return { a: side('a'), b: side('b'), hub };
}

const tree = folderTree;

/** Every file below `dir` (trashes and the hub included) that holds exactly `content`. */
function findContent(dir: string, content: string): string[] {
  const out: string[] = [];
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const abs = join(dir, rel);
    try {
      if (readFileSync(abs, 'utf8') === content) out.push(rel);
    } catch {
      // a folder
    }
  }
  return out;
}

const put = (side: Side, path: string, content: string): void => putFile(side, path, content);

async function sync(side: Side, extra: string[] = []) {
  return syncJson(side.config, side.state, { extra, env: hubKind.env });
}

const converge = (a: Side, b: Side): Promise<void> => convergeBoth(a, b, hubKind.env);

describe.each(HUBS)('two-way sync between two instances through $name', (hub) => {
  beforeAll(() => {
    hubKind = hub;
  });

  it('brings new files, edits, renames and deletions across, both ways', async () => {
    const { a, b } = setup();
    put(a, 'docs/plan.txt', 'plan v1');
    put(a, 'docs/old-name.txt', 'renamed later');
    put(b, 'photos/cat.jpg', 'meow');
    await converge(a, b);
    expect(tree(a.folder)).toEqual(tree(b.folder));
    expect(tree(b.folder)['docs/plan.txt']).toBe('plan v1');

    put(b, 'docs/plan.txt', 'plan v2, edited on b');
    renameSync(join(a.folder, 'docs', 'old-name.txt'), join(a.folder, 'docs', 'new-name.txt'));
    unlinkSync(join(b.folder, 'photos', 'cat.jpg'));
    await converge(a, b);
    const final = tree(a.folder);
    expect(final).toEqual(tree(b.folder));
    expect(final).toEqual({ 'docs/plan.txt': 'plan v2, edited on b', 'docs/new-name.txt': 'renamed later' });
    // A deletion made elsewhere lands in the folder's trash, not in oblivion.
    const trashed = readdirSync(join(a.folder, '.ferry-trash'), { recursive: true }) as string[];
    expect(trashed.some((p) => p.endsWith('cat.jpg'))).toBe(true);
    // And at the destination: a local folder keeps it as a version (the rule's versions, on by default
    // for two-way), Dropbox in its deleted files.
    if (hub.name === 'a local folder') {
      const kept = readdirSync(join(dirname(a.folder), 'hub', '.ferry-versions'), { recursive: true }) as string[];
      expect(kept.some((p) => /^photos\/cat\.jpg@/.test(p))).toBe(true);
    }
    if (hub.name.startsWith('Dropbox'))
      expect((dropbox as DropboxEmulator).deleted().some((p) => p.endsWith('/photos/cat.jpg'))).toBe(true);
  });

  it('brings a change made elsewhere home in a live daemon, at the poll interval', async () => {
    const { a, b } = setup();
    writeFileSync(b.config, `${readFileSync(b.config, 'utf8')}settings:\n  remote_poll: 5\n`);
    const daemon = spawnFerry(['daemon', '--config', b.config, '--state-dir', b.state, '--port', '0', '--no-webapp'], {
      env: hubKind.env,
    });
    try {
      put(a, 'from-a.txt', 'hello b');
      const first = await sync(a);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const until = Date.now() + 30_000;
      while (!existsSync(join(b.folder, 'from-a.txt')) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 200));
      expect(readFileSync(join(b.folder, 'from-a.txt'), 'utf8')).toBe('hello b');
      // And a change made under the daemon goes out, without echoing back.
      put(b, 'from-b.txt', 'hello a');
      const back = Date.now() + 30_000;
      while (!existsSync(join(a.folder, 'from-b.txt')) && Date.now() < back) {
        const r = await sync(a);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(readFileSync(join(a.folder, 'from-b.txt'), 'utf8')).toBe('hello a');
    } finally {
      const closed = new Promise((r) => daemon.once('close', r));
      daemon.kill('SIGTERM');
      await closed;
    }
  });

  // Only Dropbox announces changes (the others are polled): the test exists for that hub alone.
  if (hub.name.startsWith('Dropbox'))
    it('Dropbox: a change made elsewhere arrives within seconds through longpoll, with polling set to 10 minutes', async () => {
      const { a, b } = setup();
      writeFileSync(b.config, `${readFileSync(b.config, 'utf8')}settings:\n  remote_poll: 600\n`);
      const daemon = spawnFerry(
        ['daemon', '--config', b.config, '--state-dir', b.state, '--port', '0', '--no-webapp'],
        {
          env: hubKind.env,
        },
      );
      try {
        // Let the daemon finish its first pass and open its longpoll.
        await new Promise((r) => setTimeout(r, 3000));
        put(a, 'pushed.txt', 'within seconds');
        const r = await sync(a);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const sent = Date.now();
        while (!existsSync(join(b.folder, 'pushed.txt')) && Date.now() - sent < 20_000)
          await new Promise((r) => setTimeout(r, 100));
        expect(readFileSync(join(b.folder, 'pushed.txt'), 'utf8')).toBe('within seconds');
        expect(Date.now() - sent).toBeLessThan(15_000);
      } finally {
        const closed = new Promise((r) => daemon.once('close', r));
        daemon.kill('SIGTERM');
        await closed;
      }
    });

  it('keeps both versions of a file changed on both sides, as a conflicted copy', async () => {
    const { a, b } = setup();
    put(a, 'notes.md', 'shared');
    await converge(a, b);
    put(a, 'notes.md', 'mine, from a');
    put(b, 'notes.md', 'theirs, from b');
    await converge(a, b);
    const final = tree(a.folder);
    expect(final).toEqual(tree(b.folder));
    const copies = Object.keys(final).filter((p) => p.startsWith('notes (conflicted copy from '));
    expect(copies).toHaveLength(1);
    expect(new Set([final['notes.md'], final[copies[0] as string]])).toEqual(
      new Set(['mine, from a', 'theirs, from b']),
    );
  });

  it('sends a conflicted copy to the destination in the pass that makes it', async () => {
    const { a, b } = setup();
    put(a, 'notes.md', 'shared');
    await converge(a, b);
    put(a, 'notes.md', 'mine, from a');
    put(b, 'notes.md', 'theirs, from b');
    expect((await sync(a)).code).toBe(0);
    // b meets the conflict: both versions must be at the destination when its pass says all is well.
    const conflicted = await sync(b);
    expect(conflicted.code, conflicted.stdout + conflicted.stderr).toBe(0);
    const copies = Object.keys(tree(b.folder)).filter((p) => p.startsWith('notes (conflicted copy from '));
    expect(copies).toHaveLength(1);
    // So one pass of a brings both home, and b has nothing left to do.
    expect((await sync(a)).code).toBe(0);
    expect(tree(a.folder)).toEqual(tree(b.folder));
    const again = await sync(b);
    expect(again.code).toBe(0);
    expect(again.summary?.stats.done).toBe(0);
  });

  it('tells two edits of one size made in the same millisecond on both sides apart, and keeps both', async () => {
    const { a, b } = setup();
    put(a, 'status.txt', 'base v0');
    await converge(a, b);
    // Same size, same mtime: only the content differs (the hub keeps each upload's mtime).
    const at = new Date('2026-11-23T10:00:00.123Z');
    put(a, 'status.txt', 'a v142');
    put(b, 'status.txt', 'b v143');
    utimesSync(join(a.folder, 'status.txt'), at, at);
    utimesSync(join(b.folder, 'status.txt'), at, at);
    await converge(a, b);
    const final = tree(a.folder);
    expect(final).toEqual(tree(b.folder));
    expect(new Set(Object.values(final))).toEqual(new Set(['a v142', 'b v143']));
  });

  it('stops a pass that would delete most files, until it is confirmed', async () => {
    const { a, b } = setup();
    for (let i = 0; i < 10; i++) put(a, `f${i}.txt`, `file ${i}`);
    await converge(a, b);
    for (let i = 0; i < 8; i++) unlinkSync(join(a.folder, `f${i}.txt`));
    const braked = await sync(a);
    expect(braked.code).not.toBe(0);
    expect(braked.summary?.problems).toContainEqual(
      expect.objectContaining({ kind: 'delete-brake', rule: 'both-ways', deletes: 8, total: 10 }),
    );
    await sync(b);
    expect(Object.keys(tree(b.folder))).toHaveLength(10);
    const confirmed = await sync(a, ['--confirm-deletes']);
    expect(confirmed.code, confirmed.stdout).toBe(0);
    // The other instance's brake guards its own folder against a mass deletion arriving from the hub.
    const arriving = await sync(b);
    expect(arriving.code).not.toBe(0);
    expect(arriving.summary?.problems).toContainEqual(
      expect.objectContaining({ kind: 'delete-brake', deletes: 8, total: 10, destination: 'folder work' }),
    );
    expect(Object.keys(tree(b.folder))).toHaveLength(10);
    expect((await sync(b, ['--confirm-deletes'])).code).toBe(0);
    await converge(a, b);
    expect(Object.keys(tree(b.folder)).sort()).toEqual(['f8.txt', 'f9.txt']);
  });

  // 200 steps per hub in npm test (the model-based runs in modelRandom.*.test.ts and `npm run soak` go wider and longer).
  it('converges after a seeded random run of 200 edits, renames, deletions and killed syncs on both sides, losing nothing', async () => {
    const { a, b } = setup();
    const rand = prng(20261123);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const names = Array.from({ length: 12 }, (_, i) => `d${i % 3}/n${i}.txt`);
    // The ledger: every content ever written, until a side deletes or overwrites a file that holds it
    // (then it was removed on purpose, by someone who had it in front of them).
    const live = new Set<string>();
    const removedOnPurpose = (side: Side, path: string) => live.delete(readFileSync(join(side.folder, path), 'utf8'));
    let version = 0;
    let killed = 0;
    for (let i = 0; i < 200; i++) {
      const side = rand() < 0.5 ? a : b;
      const present = Object.keys(tree(side.folder));
      const r = rand();
      if (r < 0.4 || present.length === 0) {
        const path = pick(names);
        if (existsSync(join(side.folder, path))) removedOnPurpose(side, path);
        const content = `${side.name} v${++version}`;
        put(side, path, content);
        live.add(content);
      } else if (r < 0.55) {
        const from = pick(present);
        const to = pick(names);
        if (!existsSync(join(side.folder, to))) {
          mkdirSync(dirname(join(side.folder, to)), { recursive: true });
          renameSync(join(side.folder, from), join(side.folder, to));
        }
      } else if (r < 0.65) {
        const victim = pick(present);
        removedOnPurpose(side, victim);
        unlinkSync(join(side.folder, victim));
      } else if (r < 0.75) {
        // A sync killed at a random moment (SIGKILL): the next one must finish the job, nothing lost.
        const child = spawnFerry(
          ['sync', '--once', '--json', '--confirm-deletes', '--config', side.config, '--state-dir', side.state],
          {
            env: hubKind.env,
          },
        );
        const closed = new Promise((res) => child.once('close', res));
        await new Promise((res) => setTimeout(res, 100 + Math.floor(rand() * 900)));
        child.kill('SIGKILL');
        await closed;
        killed++;
      } else {
        const res = await sync(side, ['--confirm-deletes']);
        expect(res.code, res.stdout + res.stderr).toBe(0);
      }
    }
    await converge(a, b);
    const final = tree(a.folder);
    expect(final).toEqual(tree(b.folder));
    expect(killed).toBeGreaterThan(8);
    const contents = new Set(Object.values(final));
    const lost = [...live].filter((c) => !contents.has(c));
    // Where a lost content still is (a trash, the hub), to tell a wrong decision from a wrong deletion.
    const traces = lost.map((c) => `${c}: ${findContent(root as string, c).join(', ') || 'nowhere'}`);
    expect(lost, `contents written and never removed on purpose, missing at the end (${traces.join('; ')})`).toEqual(
      [],
    );
    // Every conflicted copy holds a version someone wrote.
    for (const [path, content] of Object.entries(final))
      if (path.includes('(conflicted copy from ')) expect(content).toMatch(/^[ab] v\d+$/);
  }, 600_000);
});
