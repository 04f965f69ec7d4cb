import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { writeConfig } from '../helpers/tree';
import { folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';
import { startApacheDav, type ApacheDavServer } from '../servers/apacheDav';

/**
 * Ferry through the CLI against Apache httpd's mod_dav, Basic and Digest (`auth: auto` learns which
 * from the challenge): it works, and keeps working.
 */
const servers: ApacheDavServer[] = [];
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-apache-it-'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(root, { recursive: true, force: true });
});

function side(s: ApacheDavServer, name: string, mode: 'mirror' | 'two-way'): TwoWaySide {
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
      `    url: ${JSON.stringify(s.url)}`,
      `    user: ${s.user}`,
      '    password: env:FERRY_TEST_DAV_PASSWORD',
      'rules:',
      `  - { name: ${mode}, from: [work], to: [hub], mode: ${mode} }`,
      '',
    ].join('\n'),
  );
  return { folder, state: join(root, `${name}-state`), config };
}

const FILES = { '.gitignore': 'out/\n', 'docs/a b.txt': 'spaces', 'docs/café.txt': 'accent', 'empty.txt': '' };

for (const auth of ['basic', 'digest'] as const)
  describe(`Apache mod_dav with ${auth} authentication`, () => {
    let s: ApacheDavServer;
    beforeAll(async () => {
      s = await startApacheDav({ auth });
      servers.push(s);
    });
    const env = () => ({ FERRY_TEST_DAV_PASSWORD: s.pass });

    it('a mirror pass ships every file (dotfiles too), the next ships nothing', async () => {
      const m = side(s, `${auth}-mirror`, 'mirror');
      for (const [p, c] of Object.entries(FILES)) putFile(m, p, c);
      const first = await syncJson(m.config, m.state, { env: env() });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.summary?.stats.done).toBe(4);
      expect(folderTree(s.dataDir)).toEqual(FILES);
      const second = await syncJson(m.config, m.state, { env: env() });
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.summary?.stats.done).toBe(0);
      expect(second.summary?.inSync).toBe(4);
    }, 120_000);

    it('a wrong password is reported as refused credentials for that destination', async () => {
      const m = side(s, `${auth}-wrong`, 'mirror');
      putFile(m, 'x.txt', 'x');
      const r = await syncJson(m.config, m.state, { env: { FERRY_TEST_DAV_PASSWORD: 'not-it' } });
      expect(r.code).not.toBe(0);
      expect(r.summary?.destinationErrors).toContainEqual(
        expect.objectContaining({ destination: 'hub', error: expect.objectContaining({ code: 'auth-failed' }) }),
      );
    }, 60_000);

    it('two-way: an edit made on the server comes home', async () => {
      mkdirSync(join(s.dataDir, 'tw'));
      s.own();
      const t = side(s, `${auth}-tw`, 'two-way');
      // Its own folder on the server.
      writeFileSync(
        t.config,
        readFileSync(t.config, 'utf8').replace(
          `url: ${JSON.stringify(s.url)}`,
          `url: ${JSON.stringify(`${s.url}/tw`)}`,
        ),
      );
      putFile(t, 'notes.txt', 'base v0');
      expect((await syncJson(t.config, t.state, { env: env() })).code).toBe(0);
      writeFileSync(join(s.dataDir, 'tw', 'notes.txt'), 'else v0');
      s.own();
      const r = await syncJson(t.config, t.state, { env: env() });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(folderTree(t.folder)).toEqual({ 'notes.txt': 'else v0' });
    }, 120_000);
  });
