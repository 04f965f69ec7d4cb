import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/shared/config';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { WebdavDestination, type WebdavDestinationConfig } from '../../src/main/engine/providers/webdav/webdavProvider';
import { syncJson } from '../helpers/cli';
import { writeConfig } from '../helpers/tree';
import { folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';
import type { DavServer } from '../servers/davServer';
import { startNginxDav } from '../servers/nginxDav';

/**
 * Ferry against nginx's WebDAV (dav + dav_ext), the server people actually run, with its quirks: no
 * getetag, dot-names left out of every PROPFIND listing, 413 above client_max_body_size.
 */
const ENV = { FERRY_TEST_DAV_PASSWORD: 'nginx-secret' };
let nginx: DavServer;
let root: string;
beforeAll(async () => {
  nginx = await startNginxDav({ maxBodySize: '1m' });
  root = mkdtempSync(join(tmpdir(), 'ferry-nginx-it-'));
});
afterAll(async () => {
  await nginx?.stop();
  rmSync(root, { recursive: true, force: true });
});

function side(name: string, hubDir: string, mode: 'mirror' | 'two-way'): TwoWaySide {
  mkdirSync(join(nginx.dataDir, hubDir), { recursive: true });
  const folder = join(root, name);
  mkdirSync(folder);
  const config = writeConfig(
    join(root, `${name}.yml`),
    [
      'folders:',
      `  - { id: work, path: ${JSON.stringify(folder)} }`,
      'destinations:',
      '  - id: hub',
      '    type: webdav',
      `    url: ${JSON.stringify(`${nginx.url}/${hubDir}`)}`,
      `    user: ${nginx.user}`,
      '    password: env:FERRY_TEST_DAV_PASSWORD',
      'rules:',
      `  - { name: ${mode}, from: [work], to: [hub], mode: ${mode} }`,
      '',
    ].join('\n'),
  );
  return { folder, state: join(root, `${name}-state`), config };
}

const sync = (s: TwoWaySide) => syncJson(s.config, s.state, { env: ENV });
const onServer = (hubDir: string, path: string) => readFileSync(join(nginx.dataDir, hubDir, path), 'utf8');

const DOTTED = {
  '.gitignore': 'node_modules/\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
  '.git/refs/heads/main': '0123456789abcdef\n',
  'src/.env.example': 'KEY=value\n',
  'src/app.ts': 'export {};\n',
  'README.md': '# hello\n',
};

describe('dot-names nginx leaves out of its listings', () => {
  it('a mirror pass ships every dotfile once; the next pass ships nothing, and a dotfile deleted here goes there too', async () => {
    const s = side('mirror-dots', 'mirror', 'mirror');
    for (const [p, c] of Object.entries(DOTTED)) putFile(s, p, c);
    const first = await sync(s);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.summary?.stats.done).toBe(6);
    for (const [p, c] of Object.entries(DOTTED)) expect(onServer('mirror', p)).toBe(c);

    const second = await sync(s);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.summary?.stats).toMatchObject({ done: 0, failed: 0 });
    expect(second.summary?.inSync).toBe(6);

    rmSync(join(s.folder, '.gitignore'));
    const third = await sync(s);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.summary?.stats.done).toBe(1);
    expect(existsSync(join(nginx.dataDir, 'mirror', '.gitignore'))).toBe(false);
    expect(onServer('mirror', '.git/HEAD')).toBe(DOTTED['.git/HEAD']);
  }, 120_000);

  it('a two-way pass with nothing changed anywhere moves no dotfile to the trash and ships nothing', async () => {
    const s = side('two-way-dots', 'twoway', 'two-way');
    for (const [p, c] of Object.entries(DOTTED)) putFile(s, p, c);
    const first = await sync(s);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    for (const [p, c] of Object.entries(DOTTED)) expect(onServer('twoway', p)).toBe(c);

    for (let pass = 0; pass < 2; pass++) {
      const again = await sync(s);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(existsSync(join(s.folder, '.ferry-trash'))).toBe(false);
      expect(folderTree(s.folder)).toEqual(DOTTED);
      expect(again.summary?.stats).toMatchObject({ done: 0, failed: 0 });
    }
  }, 120_000);
});

describe('no getetag: the weakest version', () => {
  it('a same-size edit made on the server between passes survives a local edit of the same size, as a conflict', async () => {
    const s = side('weak', 'weak', 'two-way');
    putFile(s, 'notes.txt', 'base v0');
    const first = await sync(s);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // Someone edits the file on the server itself, same size, same modification time: no listing can tell.
    const there = join(nginx.dataDir, 'weak', 'notes.txt');
    const { mtime } = statSync(there);
    writeFileSync(there, 'else v0');
    utimesSync(there, mtime, mtime);
    putFile(s, 'notes.txt', 'mine v1');

    const r = await sync(s);
    expect(r.summary?.failures).toContainEqual(
      expect.objectContaining({ path: 'notes.txt', error: expect.objectContaining({ kind: 'conflict' }) }),
    );
    expect(onServer('weak', 'notes.txt')).toBe('else v0');

    // The next passes keep both versions, here and there.
    for (let pass = 0; pass < 3; pass++) await sync(s);
    const final = folderTree(s.folder);
    expect(Object.values(final).sort()).toEqual(['else v0', 'mine v1']);
    const last = await sync(s);
    expect(last.code, last.stdout + last.stderr).toBe(0);
    expect(last.summary?.stats.done).toBe(0);
  }, 120_000);
});

describe('no getetag: size and time as the version', () => {
  it('a same-size edit made on the server comes home on the next two-way pass, and the pass after does nothing', async () => {
    const s = side('pull', 'pull', 'two-way');
    putFile(s, 'config.ini', 'colour=red\n');
    const first = await sync(s);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const there = join(nginx.dataDir, 'pull', 'config.ini');
    const later = new Date(statSync(there).mtimeMs + 10_000);
    writeFileSync(there, 'colour=tan\n');
    utimesSync(there, later, later);

    const pull = await sync(s);
    expect(pull.code, pull.stdout + pull.stderr).toBe(0);
    expect(readFileSync(join(s.folder, 'config.ini'), 'utf8')).toBe('colour=tan\n');
    const after = await sync(s);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.summary?.stats.done).toBe(0);
  }, 120_000);
});

describe('client_max_body_size', () => {
  it('a file above the server’s upload limit fails by name as too large for this server, with the fix; the rest ships', async () => {
    const s = side('limit', 'limit', 'mirror');
    putFile(s, 'small.txt', 'fits');
    const big = join(s.folder, 'big.bin');
    mkdirSync(dirname(big), { recursive: true });
    writeFileSync(big, randomBytes(3 * 1024 * 1024));
    const r = await sync(s);
    expect(r.code).not.toBe(0);
    expect(onServer('limit', 'small.txt')).toBe('fits');
    expect(existsSync(join(nginx.dataDir, 'limit', 'big.bin'))).toBe(false);
    const failure = r.summary?.failures.find((f) => f.path === 'big.bin');
    expect(failure?.error).toMatchObject({ kind: 'permanent', code: 'too-large' });
    expect(failure?.error.message).toBe(
      `big.bin (3.1 MB) is larger than 127.0.0.1:${nginx.port} accepts in one upload (HTTP 413)`,
    );
    expect((failure?.error as { hint?: string } | undefined)?.hint).toMatch(
      /upload limit \(nginx: client_max_body_size;/,
    );
    expect(r.summary?.failures).toHaveLength(1);
  }, 120_000);
});

describe('the provider on nginx', () => {
  it('uploads on a fresh connection, before any check: the root is asked for as a collection (`/dav/`, not `/dav`)', async () => {
    const cfg = configSchema.parse({
      destinations: [{ id: 'hub', type: 'webdav', url: nginx.url, user: nginx.user, password: 'env:UNUSED' }],
    }).destinations[0] as WebdavDestinationConfig;
    const d = new WebdavDestination(cfg, { secret: () => nginx.pass });
    const file = join(root, 'fresh.txt');
    writeFileSync(file, 'fresh');
    const e = await d.upload(
      'fresh.txt',
      {
        absPath: file,
        size: 5,
        mtimeMs: statSync(file).mtimeMs,
        hashes: new MultiHash().update(Buffer.from('fresh')).digest(),
      },
      { signal: new AbortController().signal },
    );
    expect(e.size).toBe(5);
    expect(readFileSync(join(nginx.dataDir, 'fresh.txt'), 'utf8')).toBe('fresh');
    await d.close();
  });
});
