import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { afterEach, describe, expect, it } from 'vitest';
import { runFerry, syncJson, type RunResult } from '../helpers/cli';
import { sha256, snapshot } from '../helpers/tree';

/**
 * Dispatch rules end to end: real folders, local destinations, the real `ferry` binary.
 * Configs are written as JSON, which is YAML too.
 */

type Rule = Record<string, unknown> & { name: string; from: string[]; to: string[] };

type Setup = {
  root: string;
  state: string;
  config: string;
  /** Absolute path of a folder or destination by id. */
  dir: (id: string) => string;
  /** Writes a file into a folder (parents created), optionally with a known mtime; returns its bytes. */
  put: (folder: string, rel: string, content: string | Buffer, mtime?: string) => Buffer;
  /** Rewrites the config with these rules (folders and destinations unchanged). */
  rules: (rules: Rule[]) => void;
  cleanup: () => void;
};

type PlanJson = {
  actions: { kind: string; rule: string; destination?: string; folder: string; path: string; remotePath?: string }[];
  problems: { kind: string; rule: string }[];
  inSync: number;
  unmatched: number;
  uncaught: { folder: string; path: string }[];
  belowQuorum: { rule: string; folder: string; path: string; copies: number; needed: number }[];
  destinationErrors: { destination: string }[];
  rule?: string;
  preview?: {
    matches: { folder: string; path: string; size: number; remotePath: string; also: string[] }[];
    total: number;
    unmatched: number;
    shadowed: { count: number; sample: { folder: string; path: string; by: string }[] };
    uncaught: { count: number; sample: { folder: string; path: string }[] };
    collisions: { count: number; sample: unknown[] };
    untyped: number;
  };
};

let current: Setup | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

/**
 * A temp directory with the given folders and local destinations (each an empty directory, unless
 * `destinations` maps an id to an explicit path), a state dir and a config holding `rules`.
 */
function setup(folders: string[], destinations: (string | { id: string; path: string })[], rules: Rule[]): Setup {
  const root = mkdtempSync(join(tmpdir(), 'ferry-dispatch-'));
  const paths = new Map<string, string>();
  for (const id of folders) {
    paths.set(id, join(root, 'folders', id));
    mkdirSync(join(root, 'folders', id), { recursive: true });
  }
  const dests = destinations.map((d) => {
    if (typeof d !== 'string') {
      paths.set(d.id, d.path);
      return { id: d.id, type: 'local', path: d.path };
    }
    const p = join(root, 'destinations', d);
    mkdirSync(p, { recursive: true });
    paths.set(d, p);
    return { id: d, type: 'local', path: p };
  });
  const config = join(root, 'ferry.yml');
  const write = (r: Rule[]) =>
    writeFileSync(
      config,
      JSON.stringify(
        { folders: folders.map((id) => ({ id, path: paths.get(id) })), destinations: dests, rules: r },
        null,
        2,
      ),
    );
  write(rules);
  const dir = (id: string) => {
    const p = paths.get(id);
    if (p === undefined) throw new Error(`no folder or destination ${id}`);
    return p;
  };
  const s: Setup = {
    root,
    state: join(root, 'state'),
    config,
    dir,
    put: (folder, rel, content, mtime) => {
      const abs = join(dir(folder), rel);
      mkdirSync(dirname(abs), { recursive: true });
      const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
      writeFileSync(abs, buf);
      if (mtime !== undefined) utimesSync(abs, new Date(mtime), new Date(mtime));
      return buf;
    },
    rules: write,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  current = s;
  return s;
}

async function plan(s: Setup, extra: string[] = []): Promise<RunResult & { json?: PlanJson }> {
  const r = await runFerry(['plan', '--config', s.config, '--state-dir', s.state, ...extra]);
  if (!extra.includes('--json')) return r;
  try {
    return { ...r, json: JSON.parse(r.stdout) as PlanJson };
  } catch {
    return r;
  }
}

/** What a destination must hold: remote path → SHA-256 of the bytes. */
function expectHolds(dest: string, expected: Record<string, Buffer>): void {
  const want = Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, sha256(v)]));
  expect(Object.fromEntries(snapshot(dest))).toEqual(want);
}

const sortByPath = <T extends { folder: string; path: string }>(xs: T[]): T[] =>
  [...xs].sort((a, b) => `${a.folder}/${a.path}`.localeCompare(`${b.folder}/${b.path}`));

/** A minimal well-formed PDF. */
const PDF = Buffer.from(
  [
    '%PDF-1.4',
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj',
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj',
    'xref',
    '0 4',
    '0000000000 65535 f ',
    '0000000009 00000 n ',
    '0000000058 00000 n ',
    '0000000115 00000 n ',
    'trailer << /Size 4 /Root 1 0 R >>',
    'startxref',
    '188',
    '%%EOF',
    '',
  ].join('\n'),
);

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describe('dispatch rules, end to end through the ferry CLI', () => {
  it('many-to-many: every file lands where each rule that catches it says, on each destination, and nowhere else', async () => {
    const s = setup(
      ['docs', 'photos'],
      ['archive', 'nas', 'cloud'],
      [
        // A stop rule: thumbnails go to the archive only, and no later rule sees them.
        {
          name: 'thumbs-only',
          from: ['photos'],
          to: ['archive'],
          match: ['thumbs/**'],
          stop: true,
          path: 'thumbs/{name}',
        },
        {
          name: 'photos-by-date',
          from: ['photos'],
          to: ['nas', 'cloud'],
          when: { ext: ['jpg', 'jpeg', 'cr2'] },
          path: 'photos/{yyyy}/{mm}/{name}',
        },
        {
          name: 'raw-archive',
          from: ['photos'],
          to: ['archive'],
          when: { all: [{ ext: 'cr2' }, { size: { min: '1KB' } }] },
          path: '{folder}/{stem}.{ext}',
        },
        {
          name: 'docs-pdf',
          from: ['docs'],
          to: ['nas', 'archive'],
          when: { ext: 'pdf' },
          path: '{folder}/{stem}.{ext}',
        },
        {
          name: 'code',
          from: ['docs'],
          to: ['cloud'],
          when: { all: [{ regex: '^src/.+\\.ts$' }, { not: { glob: '**/*.test.ts' } }] },
          path: 'code/{path}',
        },
        {
          name: 'small-text',
          from: ['docs'],
          to: ['cloud'],
          when: { all: [{ ext: 'txt' }, { size: { max: '10KB' } }] },
          path: 'text/{name}',
        },
        {
          name: 'large',
          from: ['docs', 'photos'],
          to: ['archive'],
          when: { any: [{ size: { min: '100KB' } }, { ext: 'tar.gz' }] },
          path: 'large/{folder}/{path}',
        },
      ],
    );
    const d = {
      q1: s.put('docs', 'reports/q1.pdf', '%PDF-1.4 quarter one\n'),
      q2: s.put('docs', 'reports/Q2.PDF', '%PDF-1.4 quarter two\n'),
      todo: s.put('docs', 'notes/todo.txt', 'buy milk\n'),
      medium: s.put('docs', 'notes/medium.txt', 'm'.repeat(20 * 1024)),
      big: s.put('docs', 'notes/big.txt', 'b'.repeat(200 * 1024)),
      main: s.put('docs', 'src/main.ts', 'export const main = 1;\n'),
      util: s.put('docs', 'src/lib/util.ts', 'export const util = 2;\n'),
      mainTest: s.put('docs', 'src/main.test.ts', 'test();\n'),
      site: s.put('docs', 'backups/site.tar.gz', randomBytes(5_000)),
      log: s.put('docs', 'build/out.log', 'log line\n'),
      bak: s.put('docs', '.cache/tmp.bak', 'tmp\n'),
    };
    const p = {
      img1: s.put('photos', '2023/img001.jpg', randomBytes(3_000), '2023-05-17T12:00:00Z'),
      // Same name and date as img001.jpg: without the stop rule it would collide with it on nas and cloud.
      thumb: s.put('photos', 'thumbs/img001.jpg', randomBytes(500), '2023-05-17T12:00:00Z'),
      // Already February in UTC+14 (the TZ Ferry runs with below): dates must come out in UTC.
      img2: s.put('photos', '2024/img002.JPG', randomBytes(2_000), '2024-01-31T20:00:00Z'),
      raw: s.put('photos', 'raw/img003.cr2', randomBytes(4_096), '2022-12-31T23:59:59Z'),
      tinyRaw: s.put('photos', 'raw/tiny.cr2', randomBytes(100), '2022-12-31T23:59:59Z'),
      pano: s.put('photos', '2024/pano.jpg', randomBytes(150 * 1024), '2024-07-04T10:00:00Z'),
      thumbsDb: s.put('photos', 'Thumbs.db', randomBytes(64)),
    };
    const env = { TZ: 'Pacific/Kiritimati' };

    const first = await syncJson(s.config, s.state, { env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.summary?.failures).toEqual([]);
    expect(first.summary?.problems).toEqual([]);

    const datedPhotos = {
      'photos/2023/05/img001.jpg': p.img1,
      'photos/2024/01/img002.JPG': p.img2,
      'photos/2022/12/img003.cr2': p.raw,
      'photos/2022/12/tiny.cr2': p.tinyRaw,
      'photos/2024/07/pano.jpg': p.pano,
    };
    expectHolds(s.dir('archive'), {
      'thumbs/img001.jpg': p.thumb,
      'photos/img003.cr2': p.raw,
      'docs/q1.pdf': d.q1,
      'docs/Q2.PDF': d.q2,
      'large/docs/notes/big.txt': d.big,
      'large/docs/backups/site.tar.gz': d.site,
      'large/photos/2024/pano.jpg': p.pano,
    });
    expectHolds(s.dir('nas'), { ...datedPhotos, 'docs/q1.pdf': d.q1, 'docs/Q2.PDF': d.q2 });
    expectHolds(s.dir('cloud'), {
      ...datedPhotos,
      'code/src/main.ts': d.main,
      'code/src/lib/util.ts': d.util,
      'text/todo.txt': d.todo,
    });
    expect(first.summary?.stats).toMatchObject({ done: 22, failed: 0 });

    const uncaught = [
      { folder: 'docs', path: '.cache/tmp.bak' },
      { folder: 'docs', path: 'build/out.log' },
      { folder: 'docs', path: 'notes/medium.txt' },
      { folder: 'docs', path: 'src/main.test.ts' },
      { folder: 'photos', path: 'Thumbs.db' },
    ];
    expect(sortByPath(first.summary?.uncaught ?? [])).toEqual(uncaught);
    expect(first.summary?.unmatched).toBe(uncaught.length);
    // Sources are left alone: backup mode.
    for (const [rel, buf] of Object.entries({ 'build/out.log': d.log, '.cache/tmp.bak': d.bak }))
      expect(readFileSync(join(s.dir('docs'), rel)).equals(buf)).toBe(true);
    expect(readFileSync(join(s.dir('photos'), 'Thumbs.db')).equals(p.thumbsDb)).toBe(true);

    const text = await plan(s);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${uncaught.length} file(s) no rule catches (left alone):`);
    for (const u of uncaught) expect(text.stdout).toContain(`  ${u.folder}/${u.path}\n`);

    const second = await syncJson(s.config, s.state, { env });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.summary?.stats).toMatchObject({ done: 0, bytes: 0, failed: 0 });
    expect(second.summary?.inSync).toBe(22);
  });

  it('routes by the sniffed content type, not by what the extension claims', async () => {
    const s = setup(
      ['inbox'],
      ['nas'],
      [
        { name: 'pdfs', from: ['inbox'], to: ['nas'], when: { type: 'application/pdf' }, path: 'pdf/{name}' },
        { name: 'images', from: ['inbox'], to: ['nas'], when: { type: 'image/*' }, path: 'images/{name}' },
      ],
    );
    s.put('inbox', 'invoice.jpg', PDF);
    s.put('inbox', 'scan.pdf', PNG);
    s.put('inbox', 'real.pdf', PDF);
    s.put('inbox', 'photo.png', PNG);
    s.put('inbox', 'notes.txt', 'plain words\n');

    const r = await syncJson(s.config, s.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectHolds(s.dir('nas'), {
      'pdf/invoice.jpg': PDF,
      'pdf/real.pdf': PDF,
      'images/scan.pdf': PNG,
      'images/photo.png': PNG,
    });
    expect(r.summary?.uncaught).toEqual([{ folder: 'inbox', path: 'notes.txt' }]);
  });

  it('move with safe_when 2 of 3: the source goes once two destinations hold verified copies, one failing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ferry-dispatch-notdir-'));
    const notADir = join(root, 'a-regular-file');
    writeFileSync(notADir, 'I am not a folder');
    try {
      const s = setup(
        ['inbox'],
        ['left', { id: 'broken', path: notADir }, 'right'],
        [{ name: 'ship-out', from: ['inbox'], to: ['left', 'broken', 'right'], mode: 'move', safe_when: 2 }],
      );
      const a = s.put('inbox', 'a.txt', 'alpha\n');
      const b = s.put('inbox', 'sub/b.bin', randomBytes(300_000));

      const r = await syncJson(s.config, s.state);
      // The broken destination makes the run incomplete, but two verified copies are enough to move.
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.summary?.destinationErrors.map((e) => e.destination)).toEqual(['broken']);
      expect(r.summary?.failures).toEqual([]);
      expect(existsSync(join(s.dir('inbox'), 'a.txt'))).toBe(false);
      expect(existsSync(join(s.dir('inbox'), 'sub/b.bin'))).toBe(false);
      expectHolds(s.dir('left'), { 'a.txt': a, 'sub/b.bin': b });
      expectHolds(s.dir('right'), { 'a.txt': a, 'sub/b.bin': b });
      expect(readFileSync(notADir, 'utf8')).toBe('I am not a folder');
      // After the run every file has its two copies: none is left below quorum.
      expect(r.summary?.belowQuorum).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('move with safe_when 2 of 3: with two destinations failing, the source stays and the run is incomplete', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ferry-dispatch-notdir-'));
    const notADir = join(root, 'a-regular-file');
    writeFileSync(notADir, 'I am not a folder');
    try {
      const s = setup(
        ['inbox'],
        ['left', { id: 'broken', path: notADir }, { id: 'unmounted', path: join(root, 'unmounted/nas') }],
        [{ name: 'ship-out', from: ['inbox'], to: ['left', 'broken', 'unmounted'], mode: 'move', safe_when: 2 }],
      );
      const a = s.put('inbox', 'a.txt', 'alpha\n');

      const r = await syncJson(s.config, s.state);
      expect(r.code, r.stdout + r.stderr).not.toBe(0);
      expect(r.summary?.ok).toBe(false);
      expect(r.summary?.destinationErrors.map((e) => e.destination).sort()).toEqual(['broken', 'unmounted']);
      expect(readFileSync(join(s.dir('inbox'), 'a.txt')).equals(a)).toBe(true);
      expectHolds(s.dir('left'), { 'a.txt': a });
      expect(existsSync(join(root, 'unmounted'))).toBe(false);
      expect(r.summary?.belowQuorum).toBe(1);

      const p = await plan(s, ['--json']);
      expect(p.json?.belowQuorum).toEqual([{ rule: 'ship-out', folder: 'inbox', path: 'a.txt', copies: 1, needed: 2 }]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('compress: gzip and zstd copies hold the exact source bytes, are not re-sent, and follow an edit', async () => {
    const s = setup(
      ['work'],
      ['gz', 'zst'],
      [
        { name: 'gzipped', from: ['work'], to: ['gz'], compress: 'gzip' },
        { name: 'zstded', from: ['work'], to: ['zst'], compress: 'zstd', path: 'z/{path}' },
      ],
    );
    const csv = s.put('work', 'data/report.csv', 'id,value\n'.concat('1,hello\n'.repeat(20_000)));
    const bin = s.put('work', 'blob.bin', randomBytes(20_000));

    const unpacked = () => ({
      gz: Object.fromEntries(
        [...snapshot(s.dir('gz')).keys()].map((k) => [k, sha256(gunzipSync(readFileSync(join(s.dir('gz'), k))))]),
      ),
      zst: Object.fromEntries(
        [...snapshot(s.dir('zst')).keys()].map((k) => [
          k,
          sha256(Buffer.from(zstdDecompress(readFileSync(join(s.dir('zst'), k))))),
        ]),
      ),
    });

    const first = await syncJson(s.config, s.state);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(unpacked()).toEqual({
      gz: { 'data/report.csv.gz': sha256(csv), 'blob.bin.gz': sha256(bin) },
      zst: { 'z/data/report.csv.zst': sha256(csv), 'z/blob.bin.zst': sha256(bin) },
    });
    // Compressed indeed: the repetitive CSV shrinks a lot.
    expect(readFileSync(join(s.dir('gz'), 'data/report.csv.gz')).length).toBeLessThan(csv.length / 10);
    expect(readFileSync(join(s.dir('zst'), 'z/data/report.csv.zst')).length).toBeLessThan(csv.length / 10);

    const second = await syncJson(s.config, s.state);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.summary?.stats).toMatchObject({ done: 0, bytes: 0 });
    expect(second.summary?.inSync).toBe(4);

    const edited = s.put('work', 'data/report.csv', 'id,value\n'.concat('2,changed\n'.repeat(15_000)));
    const third = await syncJson(s.config, s.state);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.summary?.stats).toMatchObject({ done: 2, failed: 0 });
    expect(unpacked()).toEqual({
      gz: { 'data/report.csv.gz': sha256(edited), 'blob.bin.gz': sha256(bin) },
      zst: { 'z/data/report.csv.zst': sha256(edited), 'z/blob.bin.zst': sha256(bin) },
    });
  });

  it('refuses bad rules before shipping anything, naming the rule position and the field (exit 2)', async () => {
    const good: Rule = { name: 'good', from: ['work'], to: ['nas'] };
    const cases: { rule: Partial<Rule>; field: string; says: RegExp }[] = [
      { rule: { to: ['nas', 'nope'] }, field: 'rules[1].to[1]', says: /unknown destination "nope"/ },
      { rule: { match: ['[abc'] }, field: 'rules[1].match[0]', says: /"\[abc" is not a valid glob/ },
      { rule: { exclude: ['{a,b'] }, field: 'rules[1].exclude[0]', says: /"\{a,b" is not a valid glob/ },
      { rule: { when: { glob: ['*.txt', '{a,b'] } }, field: 'rules[1].when.glob[1]', says: /not a valid glob/ },
      { rule: { when: { regex: '(a' } }, field: 'rules[1].when.regex', says: /invalid regular expression "\(a"/ },
      {
        rule: { when: { any: [{ ext: 'txt' }, { not: { regex: '(?=x)' } }] } },
        field: 'rules[1].when.any[1].not.regex',
        says: /lookaround .* not supported/,
      },
      { rule: { path: '{yyyy}/photo.jpg' }, field: 'rules[1].path', says: /gives every file the same name/ },
      { rule: { path: '{nope}/{name}' }, field: 'rules[1].path', says: /unknown placeholder \{nope\}/ },
      { rule: { path: '../{name}' }, field: 'rules[1].path', says: /climbs out of the destination/ },
    ];
    const s = setup(['work'], ['nas'], [good]);
    s.put('work', 'a.txt', 'a\n');
    for (const c of cases) {
      s.rules([good, { name: 'bad', from: ['work'], to: ['nas'], ...c.rule }]);
      const r = await runFerry(['sync', '--once', '--json', '--config', s.config, '--state-dir', s.state]);
      const what = `${JSON.stringify(c.rule)}: ${r.stderr}`;
      expect(r.code, what).toBe(2);
      expect(r.stdout, what).toBe('');
      expect(r.stderr, what).toContain(`${s.config}:`);
      expect(r.stderr, what).toContain(`${c.field}: `);
      expect(r.stderr, what).toMatch(c.says);
      const p = await runFerry(['plan', '--config', s.config, '--state-dir', s.state]);
      expect(p.code, what).toBe(2);
      expect(p.stderr, what).toContain(`${c.field}: `);
    }
    expect(snapshot(s.dir('nas')).size).toBe(0);
  });

  it('a rules change never deletes by itself; a local deletion is mirrored', async () => {
    const mirror: Rule = { name: 'mirror-all', from: ['work'], to: ['nas'], mode: 'mirror' };
    const s = setup(['work'], ['nas'], [mirror]);
    const a = s.put('work', 'a.txt', 'a\n');
    const b = s.put('work', 'b.txt', 'b\n');
    const app = s.put('work', 'app.log', 'app log\n');
    const server = s.put('work', 'sub/server.log', 'server log\n');

    const first = await syncJson(s.config, s.state);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expectHolds(s.dir('nas'), { 'a.txt': a, 'b.txt': b, 'app.log': app, 'sub/server.log': server });

    s.rules([{ ...mirror, exclude: ['**/*.log'] }]);
    const second = await syncJson(s.config, s.state);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.summary?.stats).toMatchObject({ done: 0, failed: 0 });
    expectHolds(s.dir('nas'), { 'a.txt': a, 'b.txt': b, 'app.log': app, 'sub/server.log': server });
    expect(second.summary?.problems).toHaveLength(1);
    expect(second.summary?.problems[0]).toMatchObject({ kind: 'left-behind', rule: 'mirror-all', destination: 'nas' });
    const lb = second.summary?.problems[0] as { count: number; sample: string[] } | undefined;
    expect(lb?.count).toBe(2);
    expect([...(lb?.sample ?? [])].sort()).toEqual(['app.log', 'sub/server.log']);
    // The .log files are no rule's business any more: uncaught, not deleted.
    expect(sortByPath(second.summary?.uncaught ?? [])).toEqual([
      { folder: 'work', path: 'app.log' },
      { folder: 'work', path: 'sub/server.log' },
    ]);

    // Confirming is what would delete them: the plan says so, and does nothing.
    const confirmed = await plan(s, ['--json', '--confirm-deletes']);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.json?.actions.map((x) => `${x.kind} ${x.remotePath}`).sort()).toEqual([
      'delete-remote app.log',
      'delete-remote sub/server.log',
    ]);
    expect(existsSync(join(s.dir('nas'), 'app.log'))).toBe(true);

    unlinkSync(join(s.dir('work'), 'b.txt'));
    const third = await syncJson(s.config, s.state);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.summary?.stats).toMatchObject({ done: 1, failed: 0 });
    expectHolds(s.dir('nas'), { 'a.txt': a, 'app.log': app, 'sub/server.log': server });
    expect(third.summary?.problems.map((x) => x.kind)).toEqual(['left-behind']);

    // A confirmed run removes them (it used to skip each one: "the file is back locally"), except the
    // copy of a file changed since: that copy is the only one of its content, and stays.
    writeFileSync(join(s.dir('work'), 'sub/server.log'), 'server log, edited\n');
    const confirmedRun = await syncJson(s.config, s.state, { extra: ['--confirm-deletes'] });
    expect(confirmedRun.code, confirmedRun.stdout + confirmedRun.stderr).toBe(0);
    expectHolds(s.dir('nas'), { 'a.txt': a, 'sub/server.log': server });
    expect(existsSync(join(s.dir('work'), 'app.log'))).toBe(true);
    expect(confirmedRun.summary?.problems).toEqual([
      expect.objectContaining({ kind: 'left-behind', count: 1, sample: ['sub/server.log'] }),
    ]);
  });

  it('plan --rule lists exactly the files the rule catches with their remote paths and the ones a stop rule shadows', async () => {
    const s = setup(
      ['work'],
      ['nas', 'cloud'],
      [
        { name: 'private', from: ['work'], to: ['nas'], match: ['private/**'], stop: true, path: 'private/{name}' },
        { name: 'pdfs', from: ['work'], to: ['nas', 'cloud'], when: { ext: 'pdf' }, path: 'pdf/{yyyy}/{name}' },
        { name: 'docs', from: ['work'], to: ['cloud'], when: { any: [{ ext: 'txt' }, { glob: 'docs/**' }] } },
      ],
    );
    s.put('work', 'a.pdf', '%PDF-1.4 a\n', '2024-03-01T00:00:00Z');
    s.put('work', 'docs/b.pdf', '%PDF-1.4 bb\n', '2023-11-30T12:00:00Z');
    s.put('work', 'private/secret.pdf', '%PDF-1.4 secret\n', '2024-03-01T00:00:00Z');
    s.put('work', 'docs/readme.txt', 'read me\n');
    s.put('work', 'misc.bin', randomBytes(10));

    const r = await plan(s, ['--rule', 'pdfs', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json;
    expect(j?.rule).toBe('pdfs');
    expect(sortByPath(j?.preview?.matches ?? [])).toEqual([
      { folder: 'work', path: 'a.pdf', size: 11, remotePath: 'pdf/2024/a.pdf', also: [] },
      { folder: 'work', path: 'docs/b.pdf', size: 12, remotePath: 'pdf/2023/b.pdf', also: ['docs'] },
    ]);
    expect(j?.preview?.total).toBe(2);
    expect(j?.preview?.shadowed).toEqual({
      count: 1,
      sample: [{ folder: 'work', path: 'private/secret.pdf', by: 'private' }],
    });
    // Not caught by this rule: the shadowed PDF, the text file and the binary; only the binary by none.
    expect(j?.preview?.unmatched).toBe(3);
    expect(j?.preview?.uncaught).toEqual({ count: 1, sample: [{ folder: 'work', path: 'misc.bin' }] });
    expect(j?.preview?.collisions.count).toBe(0);
    // Only this rule's actions: two files to two destinations.
    expect(j?.actions.map((a) => `${a.rule} ${a.kind} ${a.path} → ${a.destination}:${a.remotePath}`).sort()).toEqual([
      'pdfs upload a.pdf → cloud:pdf/2024/a.pdf',
      'pdfs upload a.pdf → nas:pdf/2024/a.pdf',
      'pdfs upload docs/b.pdf → cloud:pdf/2023/b.pdf',
      'pdfs upload docs/b.pdf → nas:pdf/2023/b.pdf',
    ]);

    const text = await plan(s, ['--rule', 'pdfs']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Rule "pdfs" catches 2 file(s):');
    expect(text.stdout).toContain('work/a.pdf → nas:pdf/2024/a.pdf, cloud:pdf/2024/a.pdf');
    expect(text.stdout).toMatch(/work\/private\/secret\.pdf \(by "private"\)/);

    const unknown = await plan(s, ['--rule', 'nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('no rule named "nope"');
    // Nothing was shipped by planning.
    expect(snapshot(s.dir('nas')).size + snapshot(s.dir('cloud')).size).toBe(0);
  });
});
