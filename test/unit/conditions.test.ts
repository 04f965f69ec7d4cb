import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Condition, conditionSchema } from '../../src/shared/conditions';
import { compileCondition, type Subject } from '../../src/main/engine/rules/compileCondition';

const NOW = Date.UTC(2024, 5, 1, 12); // 2024-06-01T12:00:00Z
const DAY = 86_400_000;

function file(path: string, o: { size?: number; mtime?: number | string; mime?: string } = {}): Subject {
  const t = typeof o.mtime === 'string' ? Date.parse(o.mtime) : (o.mtime ?? NOW - DAY);
  return { path, size: o.size ?? 100, mtimeNs: BigInt(t) * 1_000_000n, ...(o.mime ? { mime: o.mime } : {}) };
}

type Row = { when: Condition; yes: Subject[]; no: Subject[] };

/** The condition language, one row per condition: files it must catch and files it must not. */
const TABLE: Row[] = [
  // --- the README's examples (every one of them must be here: see the last test) ---
  {
    when: { glob: 'reports/**/*.csv' },
    yes: [file('reports/q1.csv'), file('reports/2024/06/sales.csv'), file('reports/.hidden.csv')],
    no: [file('old/reports/q1.csv'), file('reports/q1.csv.bak'), file('reports/q1.CSV')],
  },
  {
    when: { ext: ['jpg', 'jpeg'] },
    yes: [file('a.jpg'), file('deep/b.JPEG'), file('c.Jpg')],
    no: [file('jpg'), file('.jpg'), file('a.jpg.txt'), file('ajpg'), file('dir.jpg/readme')],
  },
  {
    when: { regex: '^invoices/\\d{4}-\\d{2}/' },
    yes: [file('invoices/2024-03/a.pdf'), file('invoices/1999-12/x/y')],
    no: [file('invoices/24-03/a.pdf'), file('x/invoices/2024-03/a.pdf'), file('invoices/2024-3/a.pdf')],
  },
  {
    when: { size: { min: '1KB', max: '10MB' } },
    yes: [file('a', { size: 1024 }), file('b', { size: 10 * 1024 * 1024 }), file('c', { size: 5_000_000 })],
    no: [file('a', { size: 1023 }), file('b', { size: 10 * 1024 * 1024 + 1 }), file('c', { size: 0 })],
  },
  {
    when: { modified: { after: '2024-01-01' } },
    yes: [file('a', { mtime: '2024-01-01T00:00:00Z' }), file('b', { mtime: '2024-05-31T23:00:00Z' })],
    no: [file('a', { mtime: '2023-12-31T23:59:59Z' })],
  },
  {
    when: { age: { min: '7d' } },
    yes: [file('old', { mtime: NOW - 7 * DAY }), file('older', { mtime: NOW - 400 * DAY })],
    no: [file('new', { mtime: NOW - 6 * DAY }), file('future', { mtime: NOW + DAY })],
  },
  {
    when: { type: 'application/pdf' },
    yes: [file('invoice.jpg', { mime: 'application/pdf' })],
    // Not sniffed yet: a type condition never guesses from the name.
    no: [file('real.pdf', { mime: 'image/png' }), file('unsniffed.pdf')],
  },
  {
    when: { type: 'image/*' },
    yes: [file('x.bin', { mime: 'image/png' }), file('y', { mime: 'image/heic' })],
    no: [file('z.png', { mime: 'application/pdf' }), file('imagery', { mime: 'imagex/foo' })],
  },
  {
    when: { all: [{ ext: 'csv' }, { size: { min: '1MB' } }] },
    yes: [file('big.csv', { size: 2 * 1024 * 1024 })],
    no: [file('small.csv', { size: 10 }), file('big.tsv', { size: 2 * 1024 * 1024 })],
  },
  {
    when: { any: [{ ext: 'heic' }, { type: 'image/heic' }] },
    yes: [file('a.HEIC'), file('renamed.bin', { mime: 'image/heic' })],
    no: [file('a.jpg', { mime: 'image/jpeg' })],
  },
  {
    when: { not: { glob: '**/.cache/**' } },
    yes: [file('a/b.txt'), file('.cachefile')],
    no: [file('.cache/x'), file('a/.cache/b/c')],
  },
  {
    when: { all: [{ type: 'application/pdf' }, { size: { max: '50MB' } }] },
    yes: [file('scan.jpg', { mime: 'application/pdf', size: 1000 })],
    no: [file('huge.pdf', { mime: 'application/pdf', size: 51 * 1024 * 1024 }), file('a.pdf', { mime: 'text/plain' })],
  },
  {
    when: { any: [{ ext: ['jpg', 'jpeg', 'heic'] }, { type: 'image/*' }] },
    yes: [file('a.jpeg'), file('b.dat', { mime: 'image/webp' })],
    no: [file('c.txt', { mime: 'text/plain' })],
  },
  {
    when: { not: { ext: ['tmp', 'part'] } },
    yes: [file('a.txt'), file('tmp'), file('a.tmp.txt')],
    no: [file('a.TMP'), file('dl/b.part')],
  },
  // --- combinators nest, and more shapes of each condition ---
  {
    when: { not: { not: { ext: 'md' } } },
    yes: [file('README.md')],
    no: [file('README.txt')],
  },
  {
    when: { all: [{ any: [{ glob: 'a/**' }, { glob: 'b/**' }] }, { not: { ext: 'log' } }] },
    yes: [file('a/x.txt'), file('b/y/z.txt')],
    no: [file('a/x.log'), file('c/x.txt')],
  },
  {
    when: { glob: ['*.txt', 'docs/**'] },
    yes: [file('a.txt'), file('docs/x/y.pdf')],
    no: [file('sub/a.txt'), file('doc/x')],
  },
  { when: { ext: 'tar.gz' }, yes: [file('backup.TAR.GZ')], no: [file('backup.gz'), file('.tar.gz')] },
  { when: { ext: '.pdf' }, yes: [file('a.pdf')], no: [file('apdf')] },
  { when: { size: { max: 0 } }, yes: [file('empty', { size: 0 })], no: [file('one', { size: 1 })] },
  { when: { size: { min: 500 } }, yes: [file('a', { size: 500 })], no: [file('b', { size: 499 })] },
  {
    when: { modified: { after: '2024-01-01', before: '2024-02-01T00:00:00Z' } },
    yes: [file('jan', { mtime: '2024-01-15T00:00:00Z' })],
    no: [file('feb', { mtime: '2024-02-01T00:00:00Z' }), file('dec', { mtime: '2023-12-15T00:00:00Z' })],
  },
  {
    when: { age: { max: '12h' } },
    yes: [file('fresh', { mtime: NOW - 3_600_000 })],
    no: [file('stale', { mtime: NOW - 13 * 3_600_000 })],
  },
  {
    when: { regex: '(?i)\\.(JPE?G|PNG)$' },
    yes: [file('a.jpg'), file('b/c.PNG'), file('d.JpEg')],
    no: [file('a.gif'), file('jpg.txt')],
  },
  {
    when: { type: ['application/zip', 'application/gzip'] },
    yes: [file('a.docx', { mime: 'application/zip' }), file('b', { mime: 'application/gzip' })],
    no: [file('c.zip', { mime: 'application/octet-stream' })],
  },
];

describe('the condition language', () => {
  for (const row of TABLE) {
    const label = JSON.stringify(row.when);
    it(`${label} catches what it says and nothing else`, () => {
      const parsed = conditionSchema.safeParse(row.when);
      expect(parsed.success, parsed.error?.message).toBe(true);
      const pred = compileCondition(parsed.data as Condition);
      for (const f of row.yes) expect(pred(f, NOW), `${label} should catch ${f.path}`).toBe(true);
      for (const f of row.no) expect(pred(f, NOW), `${label} should not catch ${f.path}`).toBe(false);
    });
  }

  it('covers every condition the README shows', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Dispatch rules'),
      readme.indexOf('\n## ', readme.indexOf('## Dispatch rules') + 5),
    );
    const shown: unknown[] = [];
    // The table's first column: one condition per row, written as YAML.
    for (const m of section.matchAll(/^\| `([^`]+)` +\|/gm)) shown.push(parseYaml(`{ ${m[1]} }`));
    // The `when` of every rule in the YAML example.
    for (const m of section.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const doc = parseYaml(m[1] ?? '') as { rules?: { when?: unknown }[] };
      for (const r of doc.rules ?? []) if (r.when !== undefined) shown.push(r.when);
    }
    expect(shown.length).toBeGreaterThanOrEqual(14);
    const tested = new Set(TABLE.map((r) => JSON.stringify(r.when)));
    for (const c of shown)
      expect(tested, `README example ${JSON.stringify(c)} has no row`).toContain(JSON.stringify(c));
  });
});

describe('conditions that are refused, with a message that says why', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no key', {}, /needs one of: glob, ext, regex/],
    ['two keys in one item', { ext: 'a', glob: '*' }, /one condition per item \(found glob, ext\)/],
    ['unknown key', { colour: 'red' }, /colour/],
    ['unbalanced bracket', { glob: 'a/[bc' }, /not a valid glob/],
    ['unbalanced brace', { glob: '{a,b' }, /not a valid glob/],
    ['absolute glob', { glob: '/etc/**' }, /drop the leading "\/"/],
    ['broken regex', { regex: '(a' }, /invalid regular expression "\(a"/],
    ['lookahead', { regex: 'a(?=b)' }, /lookaround and backreferences are not supported/],
    ['backreference', { regex: '(a)\\1' }, /lookaround and backreferences are not supported/],
    ['overlong regex', { regex: 'a'.repeat(1001) }, /at most 1000 characters/],
    ['size that is not one', { size: { min: 'lots' } }, /"lots" is not a size/],
    ['empty size range', { size: {} }, /give min, max or both/],
    ['date that is not one', { modified: { after: 'yesterday' } }, /"yesterday" is not a date/],
    ['duration that is not one', { age: { min: 'a while' } }, /"a while" is not a duration/],
    ['type without a slash', { type: 'pdf' }, /a content type such as/],
    ['empty all', { all: [] }, /too_small|>=1|at least/i],
    ['bad item deep inside', { all: [{ any: [{ not: { regex: '[' } }] }] }, /invalid regular expression/],
  ];
  for (const [what, input, message] of cases)
    it(`refuses ${what}`, () => {
      const r = conditionSchema.safeParse(input);
      expect(r.success).toBe(false);
      expect(messagesOf(r.error?.issues)).toMatch(message);
    });
});

describe('the regex guard', () => {
  it('matches a pathological pattern against a hostile path in linear time', () => {
    // (a+)+$ against "aaaa…!" takes exponential time in a backtracking engine (V8's would not return).
    const pred = compileCondition({ regex: '(a+)+$' });
    const hostile = file(`${'a'.repeat(30_000)}!`);
    const t0 = performance.now();
    expect(pred(hostile, NOW)).toBe(false);
    // A bound, not a timing: a backtracking engine would need longer than the age of the universe.
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('handles the other classic ReDoS shapes without hanging', () => {
    for (const re of ['(a|a)*b', '(a|aa)+$', '^(.*a){20}$', '^(\\w+\\s?)*$']) {
      const pred = compileCondition({ regex: re });
      expect(pred(file(`${'a'.repeat(5_000)}!`), NOW)).toBe(false);
    }
  });
});

/** Every message in a zod issue tree (unions nest theirs). */
function messagesOf(x: unknown): string {
  if (Array.isArray(x)) return x.map(messagesOf).join('\n');
  if (x && typeof x === 'object')
    return Object.entries(x)
      .map(([k, v]) => (k === 'message' && typeof v === 'string' ? v : messagesOf(v)))
      .join('\n');
  return '';
}
