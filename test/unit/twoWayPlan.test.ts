import { describe, expect, it } from 'vitest';
import type { Hashes } from '../../src/shared/hashes';
import type { LocalFile } from '../../src/shared/models';
import type { RemoteEntry } from '../../src/main/engine/providers/types';
import {
  conflictName,
  parseConflictName,
  planTwoWay,
  remotePathProblem,
  type BaseEntry,
  type TwoWayAction,
  type TwoWayInput,
} from '../../src/main/engine/plan/twoWay';

// ---- Builders --------------------------------------------------------------------------------------

/** The base's content: SHA-256 "base", 10 bytes, version "v0" at the destination. */
const BASE = { sha256: 'base', size: 10, version: 'v0' };

function lf(path: string, sha256 = BASE.sha256, size = BASE.size, more: Partial<Hashes> = {}): LocalFile {
  return { folder: 'f', path, size, mtimeNs: 1n, ino: 1n, hashes: { ...more, sha256 } };
}

function re(path: string, over: Partial<RemoteEntry> = {}): RemoteEntry {
  return { path, size: BASE.size, version: BASE.version, hashes: { sha256: BASE.sha256 }, ...over };
}

function be(path: string, over: Partial<BaseEntry> = {}): BaseEntry {
  return { path, sha256: BASE.sha256, size: BASE.size, remoteVersion: BASE.version, ...over };
}

const NOW = new Date(2026, 10, 23, 12);

type Over = Partial<Omit<TwoWayInput, 'local' | 'remote' | 'base' | 'localUnreadable' | 'localUncaught'>> & {
  local?: LocalFile[];
  remote?: RemoteEntry[] | null;
  base?: BaseEntry[];
  unreadable?: string[];
  uncaught?: string[];
};

function input(o: Over = {}): TwoWayInput {
  const { local = [], remote = [], base = [], unreadable = [], uncaught, ...rest } = o;
  return {
    rule: 'r',
    folder: 'f',
    destination: 'd',
    local: new Map(local.map((f) => [f.path, f])),
    localUnreadable: new Set(unreadable),
    ...(uncaught ? { localUncaught: new Set(uncaught) } : {}),
    localComplete: true,
    remote: remote === null ? undefined : new Map(remote.map((e) => [e.path, e])),
    base: new Map(base.map((b) => [b.path, b])),
    excluded: () => false,
    catches: () => true,
    host: 'laptop',
    now: NOW,
    maxDeleteShare: 0.5,
    minDeletes: 5,
    confirmDeletes: false,
    platform: 'linux',
    ...rest,
  };
}

/** One line per action: `kind path` or `kind from -> to`. */
const kinds = (actions: readonly TwoWayAction[]): string[] =>
  actions.map((a) => ('from' in a ? `${a.kind} ${a.from} -> ${a.to}` : `${a.kind} ${a.path}`));

const run = (o: Over): string[] => kinds(planTwoWay(input(o)).actions);

// ---- The table -------------------------------------------------------------------------------------

type Side = 'absent' | 'same' | 'changed';
/** "same": the base's content (equal to the other side's when both are "same"); "changed": new content. */
const localOf = (s: Side, p: string): LocalFile[] =>
  s === 'absent' ? [] : s === 'same' ? [lf(p)] : [lf(p, 'local-edit', 12)];
const remoteOf = (s: Side, p: string): RemoteEntry[] =>
  s === 'absent'
    ? []
    : s === 'same'
      ? [re(p)]
      : [re(p, { size: 11, version: 'v1', hashes: { sha256: 'remote-edit' } })];

describe('two-way planner: every combination of local × remote × base', () => {
  // Without a base, "same" only means "the content the base would have had": a present file is new.
  const table: [Side, Side, 'base' | 'no base', string[]][] = [
    ['absent', 'absent', 'base', ['forget a.txt']],
    ['absent', 'same', 'base', ['delete-remote a.txt']],
    ['absent', 'changed', 'base', ['download a.txt']],
    ['same', 'absent', 'base', ['delete-local a.txt']],
    ['same', 'same', 'base', []],
    ['same', 'changed', 'base', ['download a.txt']],
    ['changed', 'absent', 'base', ['upload a.txt']],
    ['changed', 'same', 'base', ['upload a.txt']],
    ['changed', 'changed', 'base', ['conflict a.txt']],
    ['absent', 'absent', 'no base', []],
    ['absent', 'same', 'no base', ['download a.txt']],
    ['absent', 'changed', 'no base', ['download a.txt']],
    ['same', 'absent', 'no base', ['upload a.txt']],
    ['same', 'same', 'no base', ['record a.txt']],
    ['same', 'changed', 'no base', ['conflict a.txt']],
    ['changed', 'absent', 'no base', ['upload a.txt']],
    ['changed', 'same', 'no base', ['conflict a.txt']],
    ['changed', 'changed', 'no base', ['conflict a.txt']],
  ];
  it.each(table)('local %s, remote %s, %s → %j', (l, r, b, expected) => {
    const p = planTwoWay(
      input({ local: localOf(l, 'a.txt'), remote: remoteOf(r, 'a.txt'), base: b === 'base' ? [be('a.txt')] : [] }),
    );
    expect(kinds(p.actions)).toEqual(expected);
    expect(p.problems).toEqual([]);
    expect(p.brake).toBeUndefined();
  });

  it('says why, and carries what the executor needs', () => {
    const edited = re('a.txt', { size: 11, version: 'v1', hashes: { sha256: 'remote-edit', md5: 'm' } });
    expect(planTwoWay(input({ local: [lf('a.txt')], remote: [edited], base: [be('a.txt')] })).actions).toEqual([
      {
        kind: 'download',
        path: 'a.txt',
        size: 11,
        remoteVersion: 'v1',
        expect: { sha256: 'remote-edit', md5: 'm' },
        reason: 'changed at the destination',
      },
    ]);
    expect(planTwoWay(input({ remote: [re('a.txt', { hashes: undefined, version: undefined })] })).actions).toEqual([
      { kind: 'download', path: 'a.txt', size: 10, remoteVersion: null, reason: 'new at the destination' },
    ]);
    expect(
      planTwoWay(input({ local: [lf('a.txt', 'edit', 12)], remote: [re('a.txt')], base: [be('a.txt')] })).actions,
    ).toEqual([{ kind: 'upload', path: 'a.txt', sha256: 'edit', size: 12, reason: 'changed locally' }]);
    expect(planTwoWay(input({ remote: [re('a.txt')], base: [be('a.txt')] })).actions).toEqual([
      { kind: 'delete-remote', path: 'a.txt', remoteVersion: 'v0', reason: 'deleted locally' },
    ]);
    expect(planTwoWay(input({ local: [lf('a.txt')], base: [be('a.txt')] })).actions).toEqual([
      { kind: 'delete-local', path: 'a.txt', sha256: 'base', reason: 'deleted at the destination' },
    ]);
    expect(planTwoWay(input({ local: [lf('a.txt', 'edit', 12)], base: [be('a.txt')] })).actions).toEqual([
      expect.objectContaining({ reason: 'changed locally, deleted at the destination: the change wins' }),
    ]);
    expect(planTwoWay(input({ remote: [edited], base: [be('a.txt')] })).actions).toEqual([
      expect.objectContaining({ reason: 'changed at the destination, deleted locally: the change wins' }),
    ]);
    expect(planTwoWay(input({ local: [lf('a.txt')], remote: [re('a.txt')] })).actions).toEqual([
      { kind: 'record', path: 'a.txt', sha256: 'base', size: 10, remoteVersion: 'v0' },
    ]);
    expect(
      planTwoWay(input({ local: [lf('a.txt', 'edit', 12)], remote: [edited], base: [be('a.txt')] })).actions,
    ).toEqual([
      {
        kind: 'conflict',
        path: 'a.txt',
        conflictPath: 'a (conflicted copy from laptop 2026-11-23).txt',
        localSha256: 'edit',
        remoteVersion: 'v1',
        reason: 'changed on both sides, contents differ',
      },
    ]);
  });
});

describe('two-way planner: telling a remote change from the base', () => {
  const plan = (entry: RemoteEntry, local: LocalFile = lf('a.txt'), base = be('a.txt')) =>
    planTwoWay(input({ local: [local], remote: [entry], base: [base] })).actions;

  it('uses the version token when the listing has no comparable hash', () => {
    expect(kinds(plan(re('a.txt', { hashes: undefined, version: 'v1' })))).toEqual(['download a.txt']);
    expect(plan(re('a.txt', { hashes: undefined }))).toEqual([]);
  });

  it('without a version token nor a hash, compares sizes', () => {
    expect(
      plan(re('a.txt', { hashes: undefined, version: undefined }), lf('a.txt'), be('a.txt', { remoteVersion: null })),
    ).toEqual([]);
    expect(
      kinds(
        plan(
          re('a.txt', { hashes: undefined, version: undefined, size: 11 }),
          lf('a.txt'),
          be('a.txt', { remoteVersion: null }),
        ),
      ),
    ).toEqual(['download a.txt']);
  });

  it('a different size is a change whatever the token says', () => {
    expect(kinds(plan(re('a.txt', { hashes: undefined, size: 11 })))).toEqual(['download a.txt']);
  });

  it('the same content under a new version token only moves the base along', () => {
    expect(plan(re('a.txt', { version: 'v9' }))).toEqual([
      { kind: 'record', path: 'a.txt', sha256: 'base', size: 10, remoteVersion: 'v9' },
    ]);
    // The base was recorded without a token; the listing now has one.
    expect(plan(re('a.txt', { hashes: undefined }), lf('a.txt'), be('a.txt', { remoteVersion: null }))).toEqual([
      { kind: 'record', path: 'a.txt', sha256: 'base', size: 10, remoteVersion: 'v0' },
    ]);
  });

  it('compares the other hash kinds through the unchanged local file', () => {
    const local = lf('a.txt', 'base', 10, { md5: 'md5-base' });
    expect(plan(re('a.txt', { version: 'v9', hashes: { md5: 'md5-base' } }), local)).toEqual([
      { kind: 'record', path: 'a.txt', sha256: 'base', size: 10, remoteVersion: 'v9' },
    ]);
    expect(kinds(plan(re('a.txt', { version: 'v0', hashes: { md5: 'md5-other' } }), local))).toEqual([
      'download a.txt',
    ]);
  });
});

describe('two-way planner: both sides changed', () => {
  it('records when the listing shows the same content', () => {
    const p = planTwoWay(
      input({
        local: [lf('a.txt', 'same-edit', 12)],
        remote: [re('a.txt', { size: 12, version: 'v1', hashes: { sha256: 'same-edit' } })],
        base: [be('a.txt')],
      }),
    );
    expect(p.actions).toEqual([{ kind: 'record', path: 'a.txt', sha256: 'same-edit', size: 12, remoteVersion: 'v1' }]);
  });

  it('compares by the strongest hash both know (a Dropbox content hash)', () => {
    const p = planTwoWay(
      input({
        local: [lf('a.txt', 'edit', 12, { dropbox: 'dbx' })],
        remote: [re('a.txt', { size: 12, version: 'v1', hashes: { dropbox: 'dbx' } })],
      }),
    );
    expect(kinds(p.actions)).toEqual(['record a.txt']);
  });

  it('is a conflict when the listing cannot tell, and says so', () => {
    const p = planTwoWay(
      input({
        local: [lf('a.txt', 'edit', 12)],
        remote: [re('a.txt', { size: 12, version: 'v1', hashes: undefined })],
      }),
    );
    expect(p.actions).toEqual([
      {
        kind: 'conflict',
        path: 'a.txt',
        conflictPath: 'a (conflicted copy from laptop 2026-11-23).txt',
        localSha256: 'edit',
        remoteVersion: 'v1',
        reason: 'new on both sides, the listing cannot tell whether they differ',
      },
    ]);
  });

  it('is a conflict when the hashes match but the sizes do not', () => {
    const p = planTwoWay(
      input({ local: [lf('a.txt', 'x', 12)], remote: [re('a.txt', { size: 13, hashes: { sha256: 'x' } })] }),
    );
    expect(kinds(p.actions)).toEqual(['conflict a.txt']);
  });

  it('names the conflicted copy so that it takes no name either side holds', () => {
    const taken = 'a (conflicted copy from laptop 2026-11-23).txt';
    const p = planTwoWay(
      input({
        local: [lf('a.txt', 'edit', 12), lf(taken, 'other')],
        remote: [
          re('a.txt', { size: 11, version: 'v1', hashes: { sha256: 'r' } }),
          re(taken, { hashes: { sha256: 'other' } }),
        ],
        base: [be('a.txt'), be(taken, { sha256: 'other' })],
      }),
    );
    expect(p.actions).toEqual([
      expect.objectContaining({ kind: 'conflict', conflictPath: 'a (conflicted copy from laptop 2026-11-23 2).txt' }),
    ]);
  });
});

describe('two-way planner: renames', () => {
  it('a local rename becomes a server-side move, not an upload and a deletion', () => {
    const p = planTwoWay(input({ local: [lf('new/a.txt')], remote: [re('a.txt')], base: [be('a.txt')] }));
    expect(p.actions).toEqual([
      { kind: 'move-remote', from: 'a.txt', to: 'new/a.txt', sha256: 'base', reason: 'renamed locally' },
    ]);
  });

  it('a local rename with an edit is an upload and a deletion', () => {
    expect(run({ local: [lf('b.txt', 'edit')], remote: [re('a.txt')], base: [be('a.txt')] })).toEqual([
      'delete-remote a.txt',
      'upload b.txt',
    ]);
  });

  it('a local rename whose old path changed remotely: the change comes back, the new name is uploaded', () => {
    expect(
      run({
        local: [lf('b.txt')],
        remote: [re('a.txt', { size: 11, version: 'v1', hashes: { sha256: 'remote-edit' } })],
        base: [be('a.txt')],
      }),
    ).toEqual(['download a.txt', 'upload b.txt']);
  });

  it('two identical files renamed: each old path paired once, the same file name first', () => {
    // Path order alone would pair c/a.txt with x/b.txt.
    const p = planTwoWay(
      input({
        local: [lf('c/a.txt'), lf('c/b.txt')],
        remote: [re('x/b.txt'), re('y/a.txt')],
        base: [be('x/b.txt'), be('y/a.txt')],
      }),
    );
    expect(kinds(p.actions)).toEqual(['move-remote x/b.txt -> c/b.txt', 'move-remote y/a.txt -> c/a.txt']);
  });

  it('one file renamed and copied: one move, one upload', () => {
    expect(run({ local: [lf('b.txt'), lf('c.txt')], remote: [re('a.txt')], base: [be('a.txt')] })).toEqual([
      'move-remote a.txt -> b.txt',
      'upload c.txt',
    ]);
  });

  it('falls back to any name when no same-named old path is left', () => {
    expect(run({ local: [lf('d/x.txt')], remote: [re('a.txt')], base: [be('a.txt')] })).toEqual([
      'move-remote a.txt -> d/x.txt',
    ]);
  });

  it('a local new path that already exists remotely is no rename', () => {
    expect(
      run({
        local: [lf('b.txt')],
        remote: [re('a.txt'), re('b.txt', { hashes: { sha256: 'other' } })],
        base: [be('a.txt')],
      }),
    ).toEqual(['delete-remote a.txt', 'conflict b.txt']);
  });

  it('infers no local rename from an incomplete scan', () => {
    expect(run({ local: [lf('b.txt')], remote: [re('a.txt')], base: [be('a.txt')], localComplete: false })).toEqual([
      'upload b.txt',
    ]);
  });

  it('a remote rename becomes a local move when the listing gives a comparable hash', () => {
    const p = planTwoWay(input({ local: [lf('a.txt')], remote: [re('dir/a.txt')], base: [be('a.txt')] }));
    expect(p.actions).toEqual([
      { kind: 'move-local', from: 'a.txt', to: 'dir/a.txt', reason: 'renamed at the destination' },
    ]);
    // A Dropbox content hash, compared with the hashes of the local file that still holds the base.
    expect(
      run({
        local: [lf('a.txt', 'base', 10, { dropbox: 'dbx' })],
        remote: [re('b.txt', { hashes: { dropbox: 'dbx' } })],
        base: [be('a.txt')],
      }),
    ).toEqual(['move-local a.txt -> b.txt']);
  });

  it('a version or size match is not enough for a remote rename', () => {
    expect(run({ local: [lf('a.txt')], remote: [re('b.txt', { hashes: undefined })], base: [be('a.txt')] })).toEqual([
      'delete-local a.txt',
      'download b.txt',
    ]);
  });

  it('a remote rename with an edit is a download and a deletion', () => {
    expect(
      run({ local: [lf('a.txt')], remote: [re('b.txt', { hashes: { sha256: 'remote-edit' } })], base: [be('a.txt')] }),
    ).toEqual(['delete-local a.txt', 'download b.txt']);
  });

  it('a remote rename whose old path changed locally: the change goes back up, the new name comes down', () => {
    expect(run({ local: [lf('a.txt', 'edit', 12)], remote: [re('b.txt')], base: [be('a.txt')] })).toEqual([
      'upload a.txt',
      'download b.txt',
    ]);
  });

  it('two identical files renamed remotely: paired once each, the same file name first', () => {
    expect(
      run({
        local: [lf('x/b.txt'), lf('y/a.txt')],
        remote: [re('c/a.txt'), re('c/b.txt')],
        base: [be('x/b.txt'), be('y/a.txt')],
      }),
    ).toEqual(['move-local x/b.txt -> c/b.txt', 'move-local y/a.txt -> c/a.txt']);
  });

  it('holds the old file when the new remote name cannot be written here', () => {
    // Incomplete scan: whether c.txt exists locally is unknown.
    expect(run({ local: [lf('a.txt')], remote: [re('c.txt')], base: [be('a.txt')], localComplete: false })).toEqual([]);
    // Unreadable at the new name.
    expect(run({ local: [lf('a.txt')], remote: [re('c.txt')], base: [be('a.txt')], unreadable: ['c.txt'] })).toEqual(
      [],
    );
    // A name Windows refuses.
    const p = planTwoWay(
      input({ local: [lf('a.txt')], remote: [re('c?.txt')], base: [be('a.txt')], platform: 'win32' }),
    );
    expect(p.actions).toEqual([]);
    expect(p.problems).toEqual([{ path: 'c?.txt', message: expect.stringContaining('"?"') as string }]);
  });

  it('renames both ways in one pass', () => {
    expect(
      run({
        local: [lf('l-new.txt', 's1'), lf('r-old.txt', 's2')],
        remote: [re('l-old.txt', { hashes: { sha256: 's1' } }), re('r-new.txt', { hashes: { sha256: 's2' } })],
        base: [be('l-old.txt', { sha256: 's1' }), be('r-old.txt', { sha256: 's2' })],
      }),
    ).toEqual(['move-remote l-old.txt -> l-new.txt', 'move-local r-old.txt -> r-new.txt']);
  });
});

describe('conflictName', () => {
  const none = () => false;

  it('puts host and local date before the last extension', () => {
    expect(conflictName('a.txt', 'h', NOW, none)).toBe('a (conflicted copy from h 2026-11-23).txt');
    expect(conflictName('dir/sub/a.tar.gz', 'h', NOW, none)).toBe(
      'dir/sub/a.tar (conflicted copy from h 2026-11-23).gz',
    );
    expect(conflictName('.bashrc', 'h', NOW, none)).toBe('.bashrc (conflicted copy from h 2026-11-23)');
    expect(conflictName('d/.config.json', 'h', NOW, none)).toBe('d/.config (conflicted copy from h 2026-11-23).json');
    expect(conflictName('Makefile', 'h', NOW, none)).toBe('Makefile (conflicted copy from h 2026-11-23)');
    expect(conflictName('v1.2/notes', 'h', NOW, none)).toBe('v1.2/notes (conflicted copy from h 2026-11-23)');
  });

  it('shortens the stem of a long name to 255 bytes, keeping suffix and extension, never cutting a character', () => {
    const bytes = (s: string) => Buffer.byteLength(s);
    for (const stem of [
      'a'.repeat(251),
      '\u00e9'.repeat(125),
      '\u{1f600}'.repeat(62),
      `${'x'.repeat(200)}\u00e9\u00e9`,
    ]) {
      const made = conflictName(`dir/${stem}.txt`, 'h', NOW, none);
      const name = made.slice('dir/'.length);
      expect(bytes(name)).toBeLessThanOrEqual(255);
      expect(name.endsWith(' (conflicted copy from h 2026-11-23).txt')).toBe(true);
      const kept = name.slice(0, -' (conflicted copy from h 2026-11-23).txt'.length);
      expect(stem.startsWith(kept)).toBe(true);
      expect(kept.length).toBeGreaterThan(0);
      // A whole character: the UTF-8 round trip changes nothing (a cut sequence would become U+FFFD).
      expect(Buffer.from(name, 'utf8').toString('utf8')).toBe(name);
      expect(parseConflictName(made)?.host).toBe('h');
    }
    // The numbered copies stay within the limit too, and a name made of raw bytes counts them one each.
    const taken = new Set([conflictName(`${'b'.repeat(250)}.md`, 'h', NOW, none)]);
    expect(bytes(conflictName(`${'b'.repeat(250)}.md`, 'h', NOW, (p) => taken.has(p)))).toBeLessThanOrEqual(255);
    // An extension too long to keep is cut as part of the name; a long host name is cut too.
    expect(bytes(conflictName(`a.${'e'.repeat(250)}`, 'h', NOW, none))).toBeLessThanOrEqual(255);
    expect(bytes(conflictName(`${'c'.repeat(100)}.txt`, 'h'.repeat(300), NOW, none))).toBeLessThanOrEqual(255);
  });

  it('numbers the copy inside the parenthesis when the name is taken', () => {
    const taken = new Set(['a (conflicted copy from h 2026-11-23).txt', 'a (conflicted copy from h 2026-11-23 2).txt']);
    expect(conflictName('a.txt', 'h', NOW, (p) => taken.has(p))).toBe('a (conflicted copy from h 2026-11-23 3).txt');
  });

  it('dates in the local time zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Pacific/Auckland';
    try {
      // 20:00 UTC on the 23rd is the morning of the 24th in Auckland.
      expect(conflictName('a.txt', 'h', new Date('2026-11-23T20:00:00Z'), none)).toBe(
        'a (conflicted copy from h 2026-11-24).txt',
      );
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    expect(conflictName('a.txt', 'h', new Date(2026, 0, 5, 23, 59), none)).toBe(
      'a (conflicted copy from h 2026-01-05).txt',
    );
  });

  it('keeps separators and reserved characters of the host name out', () => {
    expect(conflictName('a.txt', 'my/host:1', NOW, none)).toBe('a (conflicted copy from my-host-1 2026-11-23).txt');
  });
});

describe('remote paths this folder cannot hold', () => {
  const everywhere = ['', '/etc/passwd', '../x', 'a/../../b', 'a/..', 'a//b', 'a/', './a', 'a\u0000b'];
  const portable = [
    'a:b',
    'CON',
    'con.txt',
    'Lpt9.log',
    'x<y',
    'q?',
    'star*',
    'pipe|',
    'say"',
    'trail.',
    'trail ',
    'ctl\u0001',
  ];

  it('on Linux, refuses only what escapes or aliases', () => {
    for (const p of everywhere) expect(remotePathProblem(p, 'linux'), JSON.stringify(p)).toBeDefined();
    for (const p of [...portable, 'back\\slash', 'console.txt', 'COM10'])
      expect(remotePathProblem(p, 'linux'), p).toBeUndefined();
  });

  it('on Windows and macOS, also refuses what is not portable', () => {
    for (const platform of ['win32', 'darwin'] as const) {
      for (const p of [...everywhere, ...portable, `dir/${portable[0] ?? ''}/x`])
        expect(remotePathProblem(p, platform), `${platform} ${JSON.stringify(p)}`).toBeDefined();
      for (const p of ['console.txt', 'COM10', 'a b.txt', '.hidden', 'dir/ok.txt'])
        expect(remotePathProblem(p, platform), `${platform} ${p}`).toBeUndefined();
    }
    expect(remotePathProblem('..\\..\\x', 'win32')).toBeDefined();
    expect(remotePathProblem('back\\slash', 'darwin')).toBeUndefined();
  });

  it('says why', () => {
    expect(remotePathProblem('a/../../b', 'linux')).toBe('a ".." segment would lead out of the folder');
    expect(remotePathProblem('/etc/passwd', 'linux')).toBe('the path is absolute');
    expect(remotePathProblem('d/CON.txt', 'win32')).toBe('"CON.txt" is a reserved name on Windows');
  });

  it('plans nothing for them and names them as problems', () => {
    const p = planTwoWay(input({ remote: [re('../escape.txt'), re('ok.txt')] }));
    expect(kinds(p.actions)).toEqual(['download ok.txt']);
    expect(p.problems).toEqual([
      { path: '../escape.txt', message: 'left alone: a ".." segment would lead out of the folder' },
    ]);
    const win = planTwoWay(input({ remote: [re('a:b.txt')], platform: 'win32' }));
    expect(win.actions).toEqual([]);
    expect(win.problems).toHaveLength(1);
    expect(run({ remote: [re('a:b.txt')], platform: 'linux' })).toEqual(['download a:b.txt']);
  });

  it('does not report names the rule leaves alone anyway, unless they would leave the folder', () => {
    expect(planTwoWay(input({ remote: [re('../x')], excluded: () => true })).problems).toEqual([]);
    expect(planTwoWay(input({ remote: [re('a:b.txt')], catches: () => false, platform: 'win32' })).problems).toEqual(
      [],
    );
    // No glob matches a ".." segment: it is refused out loud all the same.
    expect(planTwoWay(input({ remote: [re('../x')], catches: () => false })).problems).toEqual([
      { path: '../x', message: 'left alone: a ".." segment would lead out of the folder' },
    ]);
  });
});

describe('two-way planner: paths left alone', () => {
  it('excluded paths: nothing either way, no deletion', () => {
    const excluded = (p: string) => p.startsWith('skip/');
    expect(
      run({
        excluded,
        local: [lf('skip/new-local.txt'), lf('skip/remote-gone.txt')],
        remote: [re('skip/new-remote.txt'), re('skip/local-gone.txt')],
        base: [be('skip/remote-gone.txt'), be('skip/local-gone.txt'), be('skip/both-gone.txt')],
      }),
    ).toEqual([]);
  });

  it('remote paths the rule does not catch: never downloaded, never deleted', () => {
    const catches = (p: string) => !p.endsWith('.tmp');
    expect(run({ catches, remote: [re('x.tmp'), re('y.tmp')], base: [be('y.tmp')] })).toEqual([]);
    // Gone on both sides, the base entry is still forgotten.
    expect(run({ catches, base: [be('z.tmp')] })).toEqual(['forget z.tmp']);
  });

  it('unreadable local paths: never deleted remotely, never downloaded over', () => {
    const edited = re('a.txt', { size: 11, version: 'v1', hashes: { sha256: 'remote-edit' } });
    expect(run({ unreadable: ['a.txt'], remote: [re('a.txt')], base: [be('a.txt')] })).toEqual([]);
    expect(run({ unreadable: ['a.txt'], remote: [edited], base: [be('a.txt')] })).toEqual([]);
    expect(run({ unreadable: ['a.txt'], remote: [re('a.txt')] })).toEqual([]);
    expect(run({ unreadable: ['a.txt'], base: [be('a.txt')] })).toEqual([]);
  });

  it('local files the rule does not catch (a content condition) do not look deleted', () => {
    expect(run({ uncaught: ['big.bin'], remote: [re('big.bin')], base: [be('big.bin')] })).toEqual([]);
    expect(run({ uncaught: ['big.bin'], remote: [re('big.bin', { version: 'v2', hashes: undefined })] })).toEqual([]);
  });

  it('an incomplete scan: no local deletion inferred, nothing for paths missing locally', () => {
    const edited = re('c.txt', { size: 11, version: 'v1', hashes: { sha256: 'remote-edit' } });
    expect(
      run({
        localComplete: false,
        local: [lf('new.txt', 'n'), lf('c.txt')],
        remote: [re('gone-locally.txt'), re('remote-new.txt', { hashes: { sha256: 'rn' } }), edited],
        base: [be('gone-locally.txt'), be('both-gone.txt'), be('c.txt')],
      }),
    ).toEqual(['download c.txt', 'upload new.txt']);
  });

  it('an unlisted destination: nothing at all', () => {
    const p = planTwoWay(input({ remote: null, local: [lf('a.txt', 'edit')], base: [be('a.txt'), be('b.txt')] }));
    expect(p).toEqual({ actions: [], problems: [{ path: '', message: 'destination could not be listed' }] });
  });
});

describe('two-way planner: names that differ only by case', () => {
  it('does not download over a local file whose name differs only by case on macOS and Windows', () => {
    for (const platform of ['darwin', 'win32'] as const) {
      const p = planTwoWay(input({ platform, local: [lf('notes.txt', 'l')], remote: [re('Notes.txt')] }));
      expect(kinds(p.actions), platform).toEqual(['upload notes.txt']);
      expect(p.problems).toEqual([{ path: 'Notes.txt', message: expect.stringContaining('"notes.txt"') as string }]);
    }
    expect(run({ platform: 'linux', local: [lf('notes.txt', 'l')], remote: [re('Notes.txt')] })).toEqual([
      'download Notes.txt',
      'upload notes.txt',
    ]);
  });

  it('downloads only one of two remote names that fold together', () => {
    const p = planTwoWay(
      input({ platform: 'win32', remote: [re('README.md'), re('Readme.md', { hashes: { sha256: 'x' } })] }),
    );
    expect(kinds(p.actions)).toEqual(['download README.md']);
    expect(p.problems.map((x) => x.path)).toEqual(['Readme.md']);
  });

  it('does not upload next to a remote name that differs only by case on a case-insensitive destination', () => {
    const o = { local: [lf('notes.txt', 'l')], remote: [re('Notes.txt')] };
    const p = planTwoWay(input({ ...o, remoteCaseInsensitive: true }));
    expect(kinds(p.actions)).toEqual(['download Notes.txt']);
    expect(p.problems.map((x) => x.path)).toEqual(['notes.txt']);
  });

  it('lets a rename that only changes case through', () => {
    expect(run({ platform: 'darwin', local: [lf('a.txt')], remote: [re('A.txt')], base: [be('a.txt')] })).toEqual([
      'move-local a.txt -> A.txt',
    ]);
    expect(
      run({ remoteCaseInsensitive: true, local: [lf('A.txt')], remote: [re('a.txt')], base: [be('a.txt')] }),
    ).toEqual(['move-remote a.txt -> A.txt']);
  });

  it('picks a conflict name that folds to no name either side holds', () => {
    const taken = 'a (conflicted copy from laptop 2026-11-23).txt';
    const p = planTwoWay(
      input({
        platform: 'darwin',
        local: [lf('a.txt', 'edit', 12)],
        remote: [
          re('a.txt', { size: 11, hashes: { sha256: 'r' }, version: 'v1' }),
          re(taken.toUpperCase(), { hashes: { sha256: 'x' } }),
        ],
        base: [be('a.txt')],
        catches: (path) => path === 'a.txt',
      }),
    );
    expect(p.actions).toEqual([
      expect.objectContaining({ kind: 'conflict', conflictPath: 'a (conflicted copy from laptop 2026-11-23 2).txt' }),
    ]);
  });
});

describe('two-way planner: the deletion brake', () => {
  const names = Array.from({ length: 10 }, (_, i) => `f${i}.txt`);
  /** 10 files in the base; `gone` of them deleted on `side`; plus one new local file. */
  const scene = (side: 'local' | 'remote', gone: number, over: Over = {}): Over => {
    const kept = (i: number) => i >= gone;
    return {
      base: names.map((n) => be(n)),
      local: [...names.filter((_, i) => side === 'remote' || kept(i)).map((n) => lf(n)), lf('new.txt', 'n')],
      remote: names.filter((_, i) => side === 'local' || kept(i)).map((n) => re(n)),
      ...over,
    };
  };

  it('stops remote deletions above the share, and still plans the rest', () => {
    const p = planTwoWay(input(scene('local', 6)));
    expect(p.brake).toEqual({ side: 'remote', deletes: 6, of: 10, share: 0.6 });
    expect(kinds(p.actions)).toEqual(['upload new.txt']);
  });

  it('stops local deletions above the share', () => {
    const p = planTwoWay(input(scene('remote', 6)));
    expect(p.brake).toEqual({ side: 'local', deletes: 6, of: 10, share: 0.6 });
    expect(kinds(p.actions)).toEqual(['upload new.txt']);
  });

  it('lets them through when confirmed', () => {
    for (const side of ['local', 'remote'] as const) {
      const p = planTwoWay(input(scene(side, 6, { confirmDeletes: true })));
      expect(p.brake).toBeUndefined();
      expect(p.actions.filter((a) => a.kind.startsWith('delete-'))).toHaveLength(6);
    }
  });

  it('lets through deletions at or below the share', () => {
    const p = planTwoWay(input(scene('remote', 5)));
    expect(p.brake).toBeUndefined();
    expect(p.actions.filter((a) => a.kind === 'delete-local')).toHaveLength(5);
  });

  it('lets through fewer deletions than minDeletes, however large the share', () => {
    const p = planTwoWay(input(scene('local', 4, { maxDeleteShare: 0.1 })));
    expect(p.brake).toBeUndefined();
    expect(p.actions.filter((a) => a.kind === 'delete-remote')).toHaveLength(4);
    expect(planTwoWay(input(scene('local', 4, { maxDeleteShare: 0.1, minDeletes: 4 }))).brake).toEqual({
      side: 'remote',
      deletes: 4,
      of: 10,
      share: 0.4,
    });
  });

  it('both sides tripped: the local side in `brake`, the other as a problem', () => {
    const p = planTwoWay(
      input({
        base: names.map((n) => be(n)),
        local: names.slice(3).map((n) => lf(n)),
        remote: [...names.slice(0, 3), ...names.slice(6)].map((n) => re(n)),
        maxDeleteShare: 0.2,
        minDeletes: 3,
      }),
    );
    expect(p.brake).toEqual({ side: 'local', deletes: 3, of: 10, share: 0.3 });
    expect(p.actions).toEqual([]);
    expect(p.problems).toEqual([{ path: '', message: expect.stringContaining('3 of 10') as string }]);
  });
});

describe('two-way planner: output order', () => {
  it('is sorted by path whatever the order of the inputs', () => {
    const o: Over = {
      local: [lf('z.txt', 'z'), lf('b/new.txt'), lf('m.txt')],
      remote: [
        re('a.txt'),
        re('y.txt', { hashes: { sha256: 'y' } }),
        re('m.txt', { version: 'v9', hashes: undefined, size: 3 }),
      ],
      base: [be('a.txt'), be('m.txt'), be('q.txt')],
    };
    const reversed: Over = {
      local: [...(o.local ?? [])].reverse(),
      remote: [...(o.remote ?? [])].reverse(),
      base: [...(o.base ?? [])].reverse(),
    };
    const expected = [
      'move-remote a.txt -> b/new.txt',
      'download m.txt',
      'forget q.txt',
      'download y.txt',
      'upload z.txt',
    ];
    expect(run(o)).toEqual(expected);
    expect(run(reversed)).toEqual(expected);
  });
});

describe('two-way planner: a file on one side where the other has a folder of that name', () => {
  const aside = (o: Over) => planTwoWay(input(o)).actions.filter((a) => a.kind === 'set-aside');
  const c = 'p (conflicted copy from laptop 2026-11-23)';

  it('new file at the destination, new folder here: the folder keeps the name, the file moves aside there', () => {
    const o = {
      local: [lf('p/x', 'folder-file', 3)],
      remote: [re('p', { hashes: { sha256: 'f' } })],
    };
    expect(run(o)).toEqual(['set-aside p', 'upload p/x']);
    expect(aside(o)).toMatchObject([{ path: 'p', to: c, side: 'remote' }]);
  });

  it('new file here, new folder at the destination: the file moves aside here', () => {
    const o = { local: [lf('p', 'file', 4)], remote: [re('p/x', { hashes: { sha256: 'folder-file' } })] };
    expect(run(o)).toEqual(['set-aside p', 'download p/x']);
    expect(aside(o)).toMatchObject([{ path: 'p', to: c, side: 'local', sha256: 'file' }]);
  });

  it('a folder deeper down (p/q/r) clashes with the file p all the same', () => {
    expect(run({ local: [lf('p', 'file', 4)], remote: [re('p/q/r', { hashes: { sha256: 'deep' } })] })).toEqual([
      'set-aside p',
      'download p/q/r',
    ]);
  });

  it('a file replaced by a folder here: the remote file is deleted first, then the folder goes out', () => {
    const plan = planTwoWay(input({ local: [lf('p/x', 'new', 3)], remote: [re('p')], base: [be('p')] }));
    expect(kinds(plan.actions)).toEqual(['delete-remote p', 'upload p/x']);
    expect(plan.actions[0]).toMatchObject({ clearsWay: true });
  });

  it('a file replaced by a folder at the destination: the local file goes to the trash first', () => {
    const plan = planTwoWay(
      input({ local: [lf('p')], remote: [re('p/x', { hashes: { sha256: 'new' } })], base: [be('p')] }),
    );
    expect(kinds(plan.actions)).toEqual(['delete-local p', 'download p/x']);
    expect(plan.actions[0]).toMatchObject({ clearsWay: true });
  });

  it('a folder replaced by a file here: its old files are deleted remotely first, then the file goes out', () => {
    const plan = planTwoWay(
      input({ local: [lf('p', 'file', 4)], remote: [re('p/x'), re('p/y')], base: [be('p/x'), be('p/y')] }),
    );
    expect(kinds(plan.actions)).toEqual(['upload p', 'delete-remote p/x', 'delete-remote p/y']);
    expect(plan.actions.filter((a) => a.kind === 'delete-remote')).toMatchObject([
      { clearsWay: true },
      { clearsWay: true },
    ]);
  });

  it('a folder replaced by a file here while the destination edited a file in it: both kept, the file aside', () => {
    const o = {
      local: [lf('p', 'file', 4)],
      remote: [re('p/x', { size: 11, hashes: { sha256: 'their edit' } }), re('p/y')],
      base: [be('p/x'), be('p/y')],
    };
    expect(run(o)).toEqual(['set-aside p', 'download p/x', 'delete-remote p/y']);
  });

  it('a file changed here while the destination replaced it by a folder: the change is kept aside', () => {
    const o = { local: [lf('p', 'edit', 4)], remote: [re('p/x', { hashes: { sha256: 'new' } })], base: [be('p')] };
    expect(run(o)).toEqual(['set-aside p', 'download p/x']);
  });

  it('a store that holds a file and a "folder" of one name (S3): the file moves aside on both sides', () => {
    const o = { local: [lf('p')], remote: [re('p'), re('p/x', { hashes: { sha256: 'new' } })], base: [be('p')] };
    expect(run(o)).toEqual(['set-aside p', 'download p/x']);
    expect(aside(o)).toMatchObject([{ side: 'both', to: c }]);
  });

  it('a local file the rule may not touch keeps its name; the downloads needing a folder there are reported', () => {
    const plan = planTwoWay(input({ unreadable: ['p'], remote: [re('p/x', { hashes: { sha256: 'new' } })] }));
    expect(kinds(plan.actions)).toEqual([]);
    expect(plan.problems).toMatchObject([{ path: 'p', message: expect.stringContaining('rename one of them') }]);
  });

  it('the set-aside name is free on both sides and distinct from conflicted copies of the pass', () => {
    const o = {
      local: [lf('p', 'file', 4), lf(c, 'taken', 5)],
      remote: [re('p/x', { hashes: { sha256: 'new' } }), re(c, { size: 5, hashes: { sha256: 'taken' } })],
    };
    expect(aside(o)).toMatchObject([{ to: 'p (conflicted copy from laptop 2026-11-23 2)' }]);
  });
});

describe('two-way planner: a rename that changes a name from file to folder is no rename', () => {
  it('a file moved into a folder of its own name: the old file is deleted first, the new path uploaded', () => {
    const plan = planTwoWay(input({ local: [lf('p/x')], remote: [re('p')], base: [be('p')] }));
    expect(kinds(plan.actions)).toEqual(['delete-remote p', 'upload p/x']);
    expect(plan.actions[0]).toMatchObject({ clearsWay: true });
  });

  it('a file moved below a name the destination holds as a file is no move there', () => {
    const o = {
      local: [lf('p/x')],
      remote: [re('x'), re('p', { size: 3, hashes: { sha256: 'p' } })],
      base: [be('x'), be('p', { sha256: 'p', size: 3 })],
    };
    expect(run(o)).toEqual(['delete-remote p', 'upload p/x', 'delete-remote x']);
  });

  it('a file renamed at the destination into a folder of its own name is no move here', () => {
    const plan = planTwoWay(input({ local: [lf('p')], remote: [re('p/x')], base: [be('p')] }));
    expect(kinds(plan.actions)).toEqual(['delete-local p', 'download p/x']);
  });
});
