import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, syncJson } from '../helpers/cli';
import { readTree } from '../helpers/model/ops';
import { writeConfig } from '../helpers/tree';
import { startApacheDav, type ApacheDavServer } from '../servers/apacheDav';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { FTP_GID, FTP_UID, startPureFtpd, type FtpServer } from '../servers/pureFtpd';
import { startSshd, type SftpServer } from '../servers/sshd';

/**
 * Versions and restore against real destinations (a local folder, OpenSSH's internal-sftp, Apache
 * mod_dav): what a mirror pass replaces or deletes is kept in the destination's `.ferry-versions/`,
 * `ferry versions` lists it, `ferry restore --at` brings a file and a nested folder back byte for byte,
 * a restore into the folder keeps the bytes it replaces, and versions are pruned by count and by age.
 */
type Place = { yaml: string; env: NodeJS.ProcessEnv; dir: string };
type Kind = { name: string; start: () => Promise<void>; place: (id: string) => Place; stop: () => Promise<void> };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

function localKind(): Kind {
  let base = '';
  return {
    name: 'a local folder',
    start: () => Promise.resolve(void (base = mkdtempSync(join(tmpdir(), 'ferry-versions-local-')))),
    place: (id) => {
      const dir = join(base, id);
      mkdirSync(dir);
      return { yaml: `  - { id: dest, type: local, path: ${JSON.stringify(dir)} }`, env: {}, dir };
    },
    stop: () => Promise.resolve(rmSync(base, { recursive: true, force: true })),
  };
}

function sftpKind(): Kind {
  let s: SftpServer | undefined;
  return {
    name: 'OpenSSH SFTP',
    start: async () => void (s = await startSshd()),
    place: (id) => {
      const server = s as SftpServer;
      return {
        yaml: [
          '  - id: dest',
          '    type: sftp',
          '    host: 127.0.0.1',
          `    port: ${server.port}`,
          `    user: ${server.user}`,
          `    path: ${JSON.stringify(server.dataDir)}`,
          `    prefix: ${id}`,
          `    host_key: ${server.hostKey}`,
          `    private_key: file:${server.clientKeyFile as string}`,
        ].join('\n'),
        env: {},
        dir: join(server.dataDir, id),
      };
    },
    stop: async () => s?.stop(),
  };
}

function ftpKind(): Kind {
  let s: FtpServer | undefined;
  return {
    name: 'pure-ftpd',
    start: async () => void (s = await startPureFtpd()),
    place: (id) => {
      const server = s as FtpServer;
      const dir = join(server.dataDir, id);
      mkdirSync(dir);
      chownSync(dir, FTP_UID, FTP_GID);
      return {
        yaml: [
          '  - id: dest',
          '    type: ftp',
          '    host: 127.0.0.1',
          `    port: ${server.port}`,
          `    user: ${server.user}`,
          `    password: file:${server.passwordFile}`,
          `    path: /${id}`,
          '    tls: explicit',
          `    ca_file: ${JSON.stringify(server.certFile)}`,
        ].join('\n'),
        env: {},
        dir,
      };
    },
    stop: async () => s?.stop(),
  };
}

function apacheKind(): Kind {
  let s: ApacheDavServer | undefined;
  return {
    name: 'Apache mod_dav',
    start: async () => void (s = await startApacheDav()),
    place: (id) => {
      const server = s as ApacheDavServer;
      const dir = join(server.dataDir, id);
      mkdirSync(dir);
      chownSync(dir, 65534, 65534);
      return {
        yaml: [
          '  - id: dest',
          '    type: webdav',
          `    url: ${JSON.stringify(server.url)}`,
          `    prefix: ${id}`,
          `    user: ${server.user}`,
          '    password: env:FERRY_TEST_DAV_PASSWORD',
        ].join('\n'),
        env: { FERRY_TEST_DAV_PASSWORD: server.pass },
        dir,
      };
    },
    stop: async () => s?.stop(),
  };
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-versions-it-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

type VersionsJson = {
  path: string;
  current: { sha256: string } | null;
  versions: { keptAt: string; sha256: string | null; cause: string; location: string; size: number }[];
}[];

describe.each([localKind(), sftpKind(), ftpKind(), apacheKind()].map((k) => [k.name, k] as const))(
  'versions and restore at %s',
  (_name, kind) => {
    beforeAll(() => kind.start(), 60_000);
    afterAll(() => kind.stop());
    let n = 0;

    function setup(versions?: string) {
      const id = `p${++n}`;
      const place = kind.place(id);
      const base = join(root, `${kind.name.replace(/\W+/g, '-')}-${id}`);
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
          `  - { name: m, from: [work], to: [dest], mode: mirror${versions ? `, versions: ${versions}` : ''} }`,
          '',
        ].join('\n'),
      );
      const state = join(base, 'state');
      const ferry = (args: string[], env: NodeJS.ProcessEnv = {}) =>
        runFerry([...args, '--config', config, '--state-dir', state], { env: { ...place.env, ...env } });
      const sync = async (env: NodeJS.ProcessEnv = {}) => {
        const r = await syncJson(config, state, { env: { ...place.env, ...env } });
        expect(r.code, r.stderr + r.stdout).toBe(0);
        return r;
      };
      const put = (p: string, content: string | Buffer) => {
        mkdirSync(dirname(join(folder, p)), { recursive: true });
        writeFileSync(join(folder, p), content);
      };
      const area = () => [...readTree(join(place.dir, '.ferry-versions'), [])].map(([p]) => p).sort();
      const held = () => new Map([...readTree(place.dir, [])].filter(([p]) => !p.startsWith('.ferry-versions/')));
      return { base, folder, place, config, state, ferry, sync, put, area, held };
    }

    it('keeps what a mirror replaces or deletes; versions lists it; restore --at brings a file and a nested folder back byte for byte', async () => {
      const t = setup();
      const before = {
        'a.txt': Buffer.from('first a'),
        'docs/m.txt': Buffer.from('m, deleted later'),
        'docs/deep/n.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)),
      };
      for (const [p, c] of Object.entries(before)) t.put(p, c);
      await t.sync();
      await new Promise((r) => setTimeout(r, 20));
      const moment = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 20));
      t.put('a.txt', 'second a');
      t.put('docs/deep/n.bin', 'n replaced');
      unlinkSync(join(t.folder, 'docs/m.txt'));
      const second = await t.sync();
      expect(second.summary?.stats.done).toBe(3);

      // Gone from the mirror's paths, kept in the area, the area itself never synced back nor deleted.
      expect([...t.held().keys()].sort()).toEqual(['a.txt', 'docs/deep/n.bin']);
      expect(t.area().map((p) => p.replace(/@[^/]*$/, ''))).toEqual(['a.txt', 'docs/deep/n.bin', 'docs/m.txt']);

      const listed = await t.ferry(['versions', join(t.folder), '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const json = JSON.parse(listed.stdout) as VersionsJson;
      const byPath = new Map(json.map((f) => [f.path, f]));
      for (const [p, c] of Object.entries(before)) {
        const v = byPath.get(p)?.versions ?? [];
        expect(v, p).toHaveLength(1);
        expect(v[0]?.sha256, p).toBe(sha(c));
        expect(v[0]?.cause, p).toBe(p === 'docs/m.txt' ? 'deleted' : 'replaced');
      }
      expect(byPath.get('docs/m.txt')?.current).toBeNull();

      // Into another folder: a file and a nested folder, as they were.
      const out = join(t.base, 'restored');
      const r = await t.ferry([
        'restore',
        '--at',
        moment,
        '--to',
        out,
        join(t.folder, 'a.txt'),
        join(t.folder, 'docs'),
      ]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(readTree(out, [])).toEqual(new Map(Object.entries(before)));
      // The folder itself untouched by a restore --to.
      expect(readFileSync(join(t.folder, 'a.txt'), 'utf8')).toBe('second a');

      // Into the folder: the current bytes are kept as a version first, then the pass ships the old ones back.
      const inPlace = await t.ferry(['restore', '--at', moment, join(t.folder, 'docs')]);
      expect(inPlace.code, inPlace.stderr + inPlace.stdout).toBe(0);
      expect(readTree(join(t.folder, 'docs'), [])).toEqual(
        new Map([
          ['m.txt', before['docs/m.txt']],
          ['deep/n.bin', before['docs/deep/n.bin']],
        ]),
      );
      const after = JSON.parse(
        (await t.ferry(['versions', join(t.folder, 'docs/deep/n.bin'), '--json'])).stdout,
      ) as VersionsJson;
      const kept = after[0]?.versions.find((v) => v.cause === 'restore');
      expect(kept?.sha256).toBe(sha(Buffer.from('n replaced')));
      await t.sync();
      expect(t.held()).toEqual(readTree(t.folder, []));
      // The area is the destination's: a pass lists none of it as a file of the mirror, deletes none of it.
      expect(t.area()).toHaveLength(4);
    }, 180_000);

    it('keeps at most max versions per file and prunes versions older than keep (injected clock)', async () => {
      const t = setup('{ keep: 2d, max: 2 }');
      t.put('a.txt', 'v1');
      t.put('b.txt', 'b1');
      await t.sync();
      for (const v of ['v2', 'v3', 'v4']) {
        t.put('a.txt', v);
        await t.sync();
      }
      // v1, v2, v3 were replaced; max: 2 keeps the newest two.
      const kept = JSON.parse((await t.ferry(['versions', join(t.folder, 'a.txt'), '--json'])).stdout) as VersionsJson;
      expect(kept[0]?.versions.map((v) => v.sha256)).toEqual([sha(Buffer.from('v3')), sha(Buffer.from('v2'))]);
      expect(t.area().filter((p) => p.startsWith('a.txt@'))).toHaveLength(2);
      // Three days later, keeping a version of another file prunes a.txt's, older than keep.
      t.put('b.txt', 'b2');
      await t.sync({ FERRY_CLOCK_SHIFT_MS: String(3 * DAY) });
      expect(t.area().map((p) => p.replace(/@[^/]*$/, ''))).toEqual(['b.txt']);
      const later = JSON.parse((await t.ferry(['versions', join(t.folder, 'a.txt'), '--json'])).stdout) as VersionsJson;
      expect(later[0]?.versions).toEqual([]);
    }, 180_000);

    it('keep: 0 keeps nothing: a deletion is a deletion', async () => {
      const t = setup('{ keep: 0 }');
      t.put('a.txt', 'a');
      await t.sync();
      unlinkSync(join(t.folder, 'a.txt'));
      await t.sync();
      expect(existsSync(join(t.place.dir, '.ferry-versions'))).toBe(false);
      expect(t.held().size).toBe(0);
    }, 120_000);

    it('a version the state database lost (its last commits gone with the power) is found again from the area', async () => {
      const t = setup();
      t.put('docs/a.txt', 'old a');
      await t.sync();
      await new Promise((r) => setTimeout(r, 20));
      const moment = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 20));
      t.put('docs/a.txt', 'new a');
      await t.sync();
      const db = new Database(join(t.state, 'state.db'));
      db.prepare('DELETE FROM versions').run();
      db.close();
      const listed = JSON.parse((await t.ferry(['versions', join(t.folder, 'docs'), '--json'])).stdout) as VersionsJson;
      expect(listed[0]?.versions).toHaveLength(1);
      expect(listed[0]?.versions[0]?.location).toMatch(/^\.ferry-versions\/docs\/a\.txt@/);
      const out = join(t.base, 'found');
      const r = await t.ferry(['restore', '--at', moment, '--to', out, join(t.folder, 'docs')]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(readFileSync(join(out, 'docs/a.txt'), 'utf8')).toBe('old a');
    }, 120_000);

    it.each(['version-recorded', 'version-moved'])(
      'a crash at %s loses no version: it is found again, and restore brings the old bytes back',
      async (point) => {
        const t = setup();
        t.put('a.txt', 'old bytes');
        await t.sync();
        await new Promise((r) => setTimeout(r, 20));
        const moment = new Date().toISOString();
        await new Promise((r) => setTimeout(r, 20));
        t.put('a.txt', 'new bytes');
        const killed = await runFerry(['sync', '--once', '--config', t.config, '--state-dir', t.state], {
          env: { ...t.place.env, FERRY_KILL_POINT: `${point}:a.txt` },
        });
        expect(killed.signal, killed.stderr).toBe('SIGKILL');
        await t.sync();
        const listed = JSON.parse(
          (await t.ferry(['versions', join(t.folder, 'a.txt'), '--json'])).stdout,
        ) as VersionsJson;
        expect(listed[0]?.versions.map((v) => v.sha256)).toEqual([sha(Buffer.from('old bytes'))]);
        expect(t.area()).toHaveLength(1);
        expect(t.held().get('a.txt')?.toString()).toBe('new bytes');
        const out = join(t.base, 'back');
        const r = await t.ferry(['restore', '--at', moment, '--to', out, join(t.folder, 'a.txt')]);
        expect(r.code, r.stderr + r.stdout).toBe(0);
        expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('old bytes');
      },
      120_000,
    );
  },
);

describe('restore refuses bad input, writing nothing', () => {
  const kind = localKind();
  beforeAll(() => kind.start());
  afterAll(() => kind.stop());

  it('a time before any version, a path never synced, a path outside the folders, a bad time, an offline destination, a tampered version', async () => {
    const place = kind.place('bad');
    const base = join(root, 'bad');
    const folder = join(base, 'work');
    mkdirSync(join(folder, 'docs'), { recursive: true });
    const config = writeConfig(
      join(base, 'ferry.yml'),
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(folder)} }`,
        'destinations:',
        place.yaml,
        'rules:',
        '  - { name: m, from: [work], to: [dest], mode: mirror }',
        '',
      ].join('\n'),
    );
    const state = join(base, 'state');
    const ferry = (args: string[]) => runFerry([...args, '--config', config, '--state-dir', state]);
    writeFileSync(join(folder, 'docs/a.txt'), 'a1');
    writeFileSync(join(folder, 'docs/b.txt'), 'b1');
    expect((await syncJson(config, state)).code).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    const moment = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(folder, 'docs/a.txt'), 'a2');
    writeFileSync(join(folder, 'docs/b.txt'), 'b2');
    expect((await syncJson(config, state)).code).toBe(0);
    const out = join(base, 'out');
    const nothingWritten = () => {
      expect(existsSync(out) ? readTree(out, []).size : 0).toBe(0);
      expect(readTree(folder, [])).toEqual(
        new Map([
          ['docs/a.txt', Buffer.from('a2')],
          ['docs/b.txt', Buffer.from('b2')],
        ]),
      );
    };

    const early = await ferry(['restore', '--at', '2001-01-01T00:00:00Z', '--to', out, join(folder, 'docs')]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /"docs" in folder "work" did not exist at 2001-01-01T00:00:00.000Z.*the earliest moment kept is/,
    );
    nothingWritten();

    const never = await ferry(['restore', '--at', moment, join(folder, 'never.txt')]);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain(
      '"never.txt" in folder "work": Ferry never shipped it to "dest", so it has no versions',
    );

    const outside = await ferry(['restore', '--at', moment, base]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('not inside a synced folder');

    const badTime = await ferry(['restore', '--at', 'last tuesday', join(folder, 'docs')]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--at "last tuesday": not a time; give ISO 8601');

    const away = `${place.dir}.away`;
    renameSync(place.dir, away);
    const offline = await ferry(['restore', '--at', moment, join(folder, 'docs')]);
    renameSync(away, place.dir);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/destination "dest" cannot be reached: .*nothing was restored or changed/);
    nothingWritten();

    // One version's bytes changed at the destination: the other file is not written either.
    const bVersion = readTree(join(place.dir, '.ferry-versions'), []);
    const tampered = [...bVersion.keys()].find((p) => p.startsWith('docs/b.txt@')) as string;
    writeFileSync(join(place.dir, '.ferry-versions', tampered), 'b!');
    const bad = await ferry(['restore', '--at', moment, '--to', out, join(folder, 'docs')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('are not the ones recorded');
    nothingWritten();
    const inPlace = await ferry(['restore', '--at', moment, join(folder, 'docs')]);
    expect(inPlace.code).toBe(1);
    nothingWritten();
  }, 120_000);
});

describe("versions and restore at Dropbox (the project's emulator): its own revisions, nothing moved", () => {
  let emu: DropboxEmulator;
  beforeAll(async () => {
    emu = await startDropboxEmulator();
  });
  afterAll(() => emu?.close());

  it('notes the revisions a mirror replaces or deletes; restore --at reads them back by revision, byte for byte', async () => {
    const base = join(root, 'dropbox');
    const folder = join(base, 'work');
    mkdirSync(join(folder, 'docs', 'deep'), { recursive: true });
    const config = writeConfig(
      join(base, 'ferry.yml'),
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(folder)} }`,
        'destinations:',
        '  - id: dest',
        '    type: dropbox',
        '    app_key: ferry-test-app',
        '    refresh_token: env:FERRY_TEST_DBX_TOKEN',
        `    endpoint: ${emu.url}`,
        '    root: /mirror',
        'rules:',
        '  - { name: m, from: [work], to: [dest], mode: mirror }',
        '',
      ].join('\n'),
    );
    const state = join(base, 'state');
    const env = { FERRY_TEST_DBX_TOKEN: emu.issueRefreshToken() };
    const ferry = (args: string[]) => runFerry([...args, '--config', config, '--state-dir', state], { env });
    const before = {
      'a.txt': Buffer.from('first a'),
      'docs/m.txt': Buffer.from('m, deleted later'),
      'docs/deep/n.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)),
    };
    for (const [p, c] of Object.entries(before)) writeFileSync(join(folder, p), c);
    expect((await syncJson(config, state, { env })).code).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    const moment = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(folder, 'a.txt'), 'second a');
    writeFileSync(join(folder, 'docs/deep/n.bin'), 'n replaced');
    unlinkSync(join(folder, 'docs/m.txt'));
    const second = await syncJson(config, state, { env });
    expect(second.code, second.stderr + second.stdout).toBe(0);
    // Nothing moved aside: the mirror holds exactly the folder; Dropbox keeps the rest as revisions.
    expect([...emu.files().keys()].sort()).toEqual(['mirror/a.txt', 'mirror/docs/deep/n.bin']);
    const json = JSON.parse((await ferry(['versions', folder, '--json'])).stdout) as VersionsJson;
    const byPath = new Map(json.map((f) => [f.path, f]));
    for (const [p, c] of Object.entries(before)) {
      const v = byPath.get(p)?.versions ?? [];
      expect(v, p).toHaveLength(1);
      expect(v[0]?.sha256, p).toBe(sha(c));
      expect(v[0]?.location, p).toMatch(/^rev:[0-9a-f]{9,}$/);
    }
    const out = join(base, 'restored');
    const r = await ferry(['restore', '--at', moment, '--to', out, join(folder, 'a.txt'), join(folder, 'docs')]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readTree(out, [])).toEqual(new Map(Object.entries(before)));
    // Into the folder: the current copy (Dropbox holds it) is noted as a version first.
    const inPlace = await ferry(['restore', '--at', moment, join(folder, 'docs')]);
    expect(inPlace.code, inPlace.stderr + inPlace.stdout).toBe(0);
    expect(readFileSync(join(folder, 'docs/deep/n.bin'))).toEqual(before['docs/deep/n.bin']);
    const after = JSON.parse(
      (await ferry(['versions', join(folder, 'docs/deep/n.bin'), '--json'])).stdout,
    ) as VersionsJson;
    expect(after[0]?.versions.find((v) => v.cause === 'restore')?.sha256).toBe(sha(Buffer.from('n replaced')));
  }, 120_000);
});
