import { describe, expect, it } from 'vitest';
import { ruleSchema, type RuleConfig } from '../../src/shared/config';
import type { LocalFile } from '../../src/shared/models';
import { plan, type DestinationState, type FolderState } from '../../src/main/engine/plan/planner';
import { Dispatcher } from '../../src/main/engine/rules/dispatch';
import { previewRule } from '../../src/main/engine/rules/preview';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';
import type { ShippedRecord } from '../../src/main/engine/store/shippedStore';

const NOW = Date.UTC(2024, 5, 1);
const MTIME = BigInt(Date.UTC(2024, 2, 5, 12)) * 1_000_000n;

function rule(over: Partial<RuleConfig> & { name: string }): RuleConfig {
  return ruleSchema.parse({ from: ['f'], to: ['d'], ...over });
}

function file(path: string, o: { size?: number; mime?: string; folder?: string } = {}): LocalFile {
  return {
    folder: o.folder ?? 'f',
    path,
    size: o.size ?? 10,
    mtimeNs: MTIME,
    ino: 1n,
    hashes: { sha256: `sha-${path}` },
    ...(o.mime ? { mime: o.mime } : {}),
  };
}

function folder(files: LocalFile[]): FolderState {
  return { files: new Map(files.map((f) => [f.path, f])), unreadable: new Set(), complete: true };
}

function shipped(remotePath: string, over: Partial<ShippedRecord> = {}): ShippedRecord {
  return {
    destination: 'd',
    remotePath,
    rule: 'r',
    folder: 'f',
    path: remotePath,
    size: 10,
    sha256: `sha-${remotePath}`,
    encoding: 'identity',
    remoteVersion: null,
    shippedAt: 1,
    ...over,
  };
}

function dest(records: ShippedRecord[] = []): DestinationState {
  return {
    shipped: records,
    remote: new Map(records.map((r) => [r.remotePath, { path: r.remotePath, size: r.size }])),
    canMove: true,
    canCopy: true,
  };
}

function planFor(
  rules: RuleConfig[],
  files: LocalFile[],
  dests: Record<string, DestinationState> = { d: dest() },
  confirmDeletes = false,
) {
  return plan({
    dispatcher: new Dispatcher(rules.map(compileRule)),
    folders: new Map([['f', folder(files)]]),
    destinations: new Map(Object.entries(dests)),
    maxDeleteShare: 0.5,
    confirmDeletes,
    now: NOW,
  });
}

const uploads = (p: ReturnType<typeof planFor>) =>
  p.actions.filter((a) => a.kind === 'upload').map((a) => `${a.rule}→${a.destination}:${a.remotePath}`);

describe('dispatch in the planner', () => {
  it('lets every rule that catches a file apply, in order, until one with stop', () => {
    const rules = [
      rule({ name: 'pdfs', when: { ext: 'pdf' }, to: ['a'], stop: true }),
      rule({ name: 'docs', when: { ext: ['pdf', 'txt'] }, to: ['b'] }),
      rule({ name: 'all', to: ['c'] }),
    ];
    const p = planFor(rules, [file('x.pdf'), file('y.txt'), file('z.bin')], { a: dest(), b: dest(), c: dest() });
    expect(uploads(p).sort()).toEqual(['all→c:y.txt', 'all→c:z.bin', 'docs→b:y.txt', 'pdfs→a:x.pdf']);
    expect(p.uncaught).toEqual([]);
  });

  it('lists the files no rule catches', () => {
    const p = planFor([rule({ name: 'r', when: { ext: 'pdf' } })], [file('a.pdf'), file('b.txt'), file('c/d.png')]);
    expect(p.uncaught).toEqual([
      { folder: 'f', path: 'b.txt' },
      { folder: 'f', path: 'c/d.png' },
    ]);
    expect(p.unmatched).toBe(2);
  });

  it('routes by the sniffed content type, not the extension', () => {
    const rules = [
      rule({ name: 'pdf', when: { type: 'application/pdf' }, to: ['a'] }),
      rule({ name: 'img', when: { type: 'image/*' }, to: ['b'] }),
    ];
    const p = planFor(rules, [file('invoice.jpg', { mime: 'application/pdf' }), file('x.pdf', { mime: 'image/png' })], {
      a: dest(),
      b: dest(),
    });
    expect(uploads(p).sort()).toEqual(['img→b:x.pdf', 'pdf→a:invoice.jpg']);
  });

  it('names compressed copies with the suffix, and treats a change of compression as a new upload', () => {
    const r = rule({ name: 'r', compress: 'zstd', path: 'z/{name}' });
    const p = planFor([r], [file('a.txt')]);
    expect(p.actions).toEqual([
      expect.objectContaining({ kind: 'upload', remotePath: 'z/a.txt.zst', encoding: 'zstd' }),
    ]);
    // Same path, same content, but stored as gzip: it is not what the rule asks for.
    const q = planFor([rule({ name: 'r', compress: 'gzip', path: 'z/{name}.zst' })], [file('a.txt')], {
      d: dest([shipped('z/a.txt.zst.gz', { path: 'a.txt', sha256: 'sha-a.txt', encoding: 'zstd' })]),
    });
    expect(q.actions[0]).toMatchObject({ kind: 'upload', encoding: 'gzip', reason: 'now sent as gzip' });
    const inPlace = planFor([r], [file('a.txt')], {
      d: dest([shipped('z/a.txt.zst', { path: 'a.txt', sha256: 'sha-a.txt', encoding: 'zstd' })]),
    });
    expect(inPlace.actions).toEqual([]);
    expect(inPlace.inSync).toBe(1);
  });

  it('never renames compressed content onto an uncompressed name', () => {
    const p = planFor([rule({ name: 'r', mode: 'mirror' })], [file('a.txt')], {
      d: dest([shipped('old.txt.gz', { path: 'old.txt', sha256: 'sha-a.txt', encoding: 'gzip' })]),
    });
    expect(p.actions.map((a) => a.kind)).toEqual(['upload', 'delete-remote']);
  });

  it('keeps what a mirror shipped of files that still exist when the rules change, and says so', () => {
    const records = ['a.txt', 'b.log', 'c.log'].map((n) => shipped(n));
    const narrowed = rule({ name: 'r', mode: 'mirror', exclude: ['*.log'] });
    const p = planFor([narrowed], [file('a.txt'), file('b.log'), file('c.log')], { d: dest(records) });
    expect(p.actions).toEqual([]);
    expect(p.problems).toEqual([
      { kind: 'left-behind', rule: 'r', destination: 'd', count: 2, sample: ['b.log', 'c.log'] },
    ]);
    // A file deleted locally is still mirrored, and a confirmed run removes the left-behind copies.
    const q = planFor([narrowed], [file('a.txt'), file('b.log')], { d: dest(records) });
    expect(q.actions.map((a) => `${a.kind} ${a.remotePath}`)).toEqual(['delete-remote c.log']);
    const confirmed = planFor([narrowed], [file('a.txt'), file('b.log')], { d: dest(records) }, true);
    expect(confirmed.actions.map((a) => `${a.kind} ${a.remotePath}`).sort()).toEqual([
      'delete-remote b.log',
      'delete-remote c.log',
    ]);
  });

  it('removes left-behind copies on request, only where the folder still holds their content, without the brake', () => {
    // 120 copies left behind by narrowing the rule to *.txt; one of them holds content since changed here.
    const logs = Array.from({ length: 120 }, (_, i) => `log-${String(i).padStart(3, '0')}.log`);
    const records = ['a.txt', ...logs].map((n) => shipped(n));
    const files = [file('a.txt'), ...logs.map((n) => file(n))];
    const changed = file('log-000.log');
    changed.hashes = { sha256: 'edited since' };
    files[1] = changed;
    const narrowed = rule({ name: 'r', mode: 'mirror', match: ['*.txt'] });
    const run = (clean: ReadonlySet<string> | undefined, baseline?: number) =>
      plan({
        dispatcher: new Dispatcher([compileRule(narrowed)]),
        folders: new Map([['f', folder(files)]]),
        destinations: new Map([['d', dest(records)]]),
        maxDeleteShare: 0.5,
        confirmDeletes: false,
        now: NOW,
        ...(clean ? { cleanLeftBehind: clean } : {}),
        ...(baseline !== undefined ? { brakeBaselines: new Map([['r\u0000d', baseline]]) } : {}),
      });
    const kept = run(undefined);
    expect(kept.actions).toEqual([]);
    expect(kept.problems).toEqual([expect.objectContaining({ kind: 'left-behind', count: 120 })]);
    const cleaned = run(new Set(['r']), 121);
    const deletes = cleaned.actions.filter((a) => a.kind === 'delete-remote');
    expect(deletes).toHaveLength(119);
    expect(deletes.every((a) => a.detail?.leftBehind === true)).toBe(true);
    expect(deletes.map((a) => a.remotePath)).not.toContain('log-000.log');
    // The changed one stays, and is still reported; removing 119 copies is no reason for the brake.
    expect(cleaned.problems).toEqual([
      { kind: 'left-behind', rule: 'r', destination: 'd', count: 1, sample: ['log-000.log'] },
    ]);
    expect(cleaned.brakeBaselines).toEqual([{ rule: 'r', destination: 'd', files: 2 }]);
    // Another rule's request removes nothing of this one.
    expect(run(new Set(['other'])).actions).toEqual([]);
  });

  it('counts files below the write quorum: all destinations by default, safe_when when set', () => {
    const three = { to: ['a', 'b', 'c'] };
    const held = (d: string) => dest([shipped('x', { destination: d, rule: 'm' })]);
    const dests = { a: held('a'), b: dest(), c: dest() };
    const strict = planFor([rule({ name: 'm', mode: 'move', ...three })], [file('x')], dests);
    expect(strict.belowQuorum).toEqual([expect.objectContaining({ path: 'x', copies: 1, needed: 3 })]);
    const two = planFor([rule({ name: 'm', mode: 'move', safe_when: 2, ...three })], [file('x')], dests);
    expect(two.belowQuorum).toEqual([expect.objectContaining({ copies: 1, needed: 2 })]);
    const met = planFor([rule({ name: 'm', mode: 'move', safe_when: 2, ...three })], [file('x')], {
      ...dests,
      b: held('b'),
    });
    expect(met.belowQuorum).toEqual([]);
    expect(met.actions.filter((a) => a.kind === 'delete-local')).toHaveLength(1);
  });
});

describe('case-insensitive destinations', () => {
  it('sees a file listed under another case as the one it shipped, and reports two names that differ only by case', () => {
    const record = shipped('docs/a.txt', { path: 'docs/a.txt', sha256: 'sha-docs/a.txt' });
    const listedAsDocs: DestinationState = {
      ...dest([record]),
      remote: new Map([['Docs/a.txt', { path: 'Docs/a.txt', size: 10 }]]),
      caseInsensitive: true,
    };
    const p = planFor([rule({ name: 'r' })], [file('docs/a.txt')], { d: listedAsDocs });
    expect(p.actions).toEqual([]);
    expect(p.inSync).toBe(1);
    // The same listing on a case-sensitive destination: the file is missing there.
    const strict = planFor([rule({ name: 'r' })], [file('docs/a.txt')], {
      d: { ...listedAsDocs, caseInsensitive: false },
    });
    expect(strict.actions.map((a) => a.kind)).toEqual(['upload']);

    const twins = [file('Photo.JPG'), file('photo.jpg')];
    const clash = planFor([rule({ name: 'r' })], twins, { d: { ...dest(), caseInsensitive: true } });
    expect(clash.problems).toEqual([expect.objectContaining({ kind: 'collision', path: 'photo.jpg' })]);
    expect(clash.actions).toHaveLength(1);
    expect(planFor([rule({ name: 'r' })], twins).actions).toHaveLength(2);
  });
});

describe('the dispatcher across plans', () => {
  it('judges an unchanged file object once, but a clock-dependent folder every time', () => {
    let calls = 0;
    const counting = (r: RuleConfig) => {
      const c = compileRule(r);
      return { ...c, matches: (f: Parameters<typeof c.matches>[0], now: number) => (calls++, c.matches(f, now)) };
    };
    const stable = new Dispatcher([counting(rule({ name: 'r', when: { ext: 'txt' } }))]);
    const a = file('a.txt');
    stable.catching('f', a, NOW);
    stable.catching('f', a, NOW);
    expect(calls).toBe(1);
    // A rescan that saw the file change gives a new object: judged again.
    stable.catching('f', { ...a, size: 11 }, NOW);
    expect(calls).toBe(2);
    calls = 0;
    const aging = new Dispatcher([counting(rule({ name: 'old', when: { age: { min: '7d' } } }))]);
    aging.catching('f', a, NOW);
    expect(aging.catching('f', a, NOW + 400 * 86_400_000)).toHaveLength(1);
    expect(calls).toBe(2);
  });
});

describe('rules:preview for a draft rule', () => {
  const saved = [
    rule({ name: 'pdfs', when: { ext: 'pdf' }, to: ['a'], stop: true }),
    rule({ name: 'text', when: { ext: 'txt' }, to: ['b'] }),
  ];
  const files = [file('a.pdf'), file('b.txt'), file('c.png', { size: 5000 }), file('d.png'), file('e.bin')];
  const planned = folder(files);
  const folders = new Map([['f', planned.files]]);
  const preview = (draft: RuleConfig, withCache: boolean) => {
    const p = plan({
      dispatcher: new Dispatcher(saved.map(compileRule)),
      folders: new Map([['f', planned]]),
      destinations: new Map([
        ['a', dest()],
        ['b', dest()],
      ]),
      maxDeleteShare: 0.5,
      confirmDeletes: false,
      now: NOW,
    });
    // The cache is used only for the very file map that was planned.
    expect(p.caught.get('f')?.files).toBe(folders.get('f'));
    return previewRule({
      rules: saved,
      draft,
      folders,
      now: NOW,
      limit: 100,
      ...(withCache ? { caught: p.caught } : {}),
    });
  };

  for (const withCache of [false, true])
    describe(withCache ? 'answered from the last plan' : 'computed from scratch', () => {
      it('lists what a new rule catches, where each goes, and what no rule would catch', () => {
        const r = preview(rule({ name: 'images', when: { ext: 'png' }, path: 'img/{stem}.{ext}' }), withCache);
        expect(r.matches).toEqual([
          { folder: 'f', path: 'c.png', size: 5000, remotePath: 'img/c.png', also: [] },
          { folder: 'f', path: 'd.png', size: 10, remotePath: 'img/d.png', also: [] },
        ]);
        expect(r.total).toBe(2);
        expect(r.uncaught).toEqual({ count: 1, sample: [{ folder: 'f', path: 'e.bin' }] });
      });

      it('reports files an earlier stop rule keeps from the draft, and rules that also catch a file', () => {
        const r = preview(rule({ name: 'all', path: '{path}' }), withCache);
        expect(r.matches.map((m) => `${m.path}:${m.also.join(',')}`)).toEqual([
          'b.txt:text',
          'c.png:',
          'd.png:',
          'e.bin:',
        ]);
        expect(r.shadowed).toEqual({ count: 1, sample: [{ folder: 'f', path: 'a.pdf', by: 'pdfs' }] });
        expect(r.uncaught.count).toBe(0);
      });

      it('puts an edited rule in its own place: a stop removed lets later rules see the files', () => {
        const edited = rule({ name: 'pdfs', when: { ext: 'png' }, to: ['a'], stop: true });
        const r = preview(edited, withCache);
        expect(r.matches.map((m) => m.path)).toEqual(['c.png', 'd.png']);
        // a.pdf is caught by no one once "pdfs" catches png instead.
        expect(r.uncaught.sample.map((u) => u.path).sort()).toEqual(['a.pdf', 'e.bin']);
      });
    });

  it('detects a collision between two of the draft files', () => {
    const twins = [file('a/x.png'), file('b/x.png')];
    const r = previewRule({
      rules: [],
      draft: rule({ name: 'flat', path: '{name}' }),
      folders: new Map([['f', new Map(twins.map((f) => [f.path, f]))]]),
      now: NOW,
      limit: 10,
    });
    expect(r.collisions).toEqual({ count: 1, sample: [{ remotePath: 'x.png', paths: ['f/a/x.png', 'f/b/x.png'] }] });
  });

  it('counts the files whose content type is not known yet when the draft asks for it', () => {
    const r = preview(rule({ name: 'typed', when: { type: 'image/png' } }), false);
    expect(r.untyped).toBe(files.length);
    expect(r.total).toBe(0);
  });
});
