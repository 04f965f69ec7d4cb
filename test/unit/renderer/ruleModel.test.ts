import { describe, expect, it } from 'vitest';
import type { Condition } from '../../../src/shared/conditions';
import { configSchema, ruleSchema } from '../../../src/shared/config';
import {
  addCondition,
  conditionToDraft,
  draftToCondition,
  isGroup,
  newCondition,
  removeCondition,
  setGroupOp,
  unwrapCondition,
  wrapCondition,
  type CondDraft,
} from '../../../src/renderer/src/pages/rules/conditionDraft';
import {
  assignProblems,
  emptyForm,
  fieldOf,
  formatPath,
  formFromRule,
  formToRule,
  modeProblems,
  parsePath,
  validateForm,
  withMode,
  type RuleContext,
  type RuleForm,
  type RuleInput,
} from '../../../src/renderer/src/pages/rules/ruleModel';
import { describeCondition } from '../../../src/renderer/src/pages/rules/ruleSummary';

const CTX: RuleContext = {
  otherNames: ['photos'],
  folders: ['inbox', 'scans'],
  destinations: ['nas', 'bucket', 'offsite'],
};
const BASE: RuleInput = { name: 'invoices', from: ['inbox'], to: ['nas'], mode: 'backup' };

/** Every condition kind, in the forms the form writes them back (one value as a string, several as a list). */
const CONDITIONS: Condition[] = [
  { glob: 'reports/**/*.csv' },
  { glob: ['*.{jpg,png}', 'scans/**'] },
  { ext: 'pdf' },
  { ext: ['jpg', 'jpeg', 'tar.gz'] },
  { regex: '^invoices/\\d{4}-\\d{2}/ ' },
  { size: { min: 1024 } },
  { size: { min: '1KB', max: '10MB' } },
  { size: { max: 0 } },
  { modified: { after: '2024-01-01' } },
  { modified: { after: '2024-01-01', before: '2024-02-01T08:00:00Z' } },
  { age: { min: '7d' } },
  { age: { min: '12h', max: '2w' } },
  { type: 'image/*' },
  { type: ['application/pdf', 'image/heic'] },
  { all: [{ ext: 'csv' }, { size: { min: '1MB' } }] },
  { any: [{ ext: 'heic' }, { type: 'image/heic' }] },
  { not: { glob: '**/.cache/**' } },
  { all: [{ any: [{ not: { ext: ['tmp', 'part'] } }, { regex: 'x' }] }, { not: { all: [{ age: { max: '1d' } }] } }] },
];

const roundTrip = (r: RuleInput): RuleInput => formToRule(formFromRule(r));

describe('rule form model: round trip', () => {
  it.each(CONDITIONS.map((when) => [JSON.stringify(when), when] as const))('keeps when %s', (_, when) => {
    expect(ruleSchema.safeParse({ ...BASE, when }).success).toBe(true);
    expect(roundTrip({ ...BASE, when })).toEqual({ ...BASE, when });
    expect(draftToCondition(conditionToDraft(when))).toEqual(when);
  });

  it('keeps every field of a full rule', () => {
    const rule: RuleInput = {
      name: 'scanned invoices',
      from: ['inbox', 'scans'],
      match: ['**/*.pdf', '*.{png,jpg}'],
      exclude: ['**/drafts/**'],
      when: { all: [{ type: 'application/pdf' }, { size: { max: '50MB' } }] },
      to: ['nas', 'bucket', 'offsite'],
      path: 'invoices/{yyyy}/{mm}/{name}',
      mode: 'move',
      safe_when: 2,
      compress: 'zstd',
      tags: ['finance', 'invoice'],
      stop: true,
      hooks: [{ on: ['transfer.failed'], url: 'https://example.test/hook', timeout: 10 }],
    };
    expect(roundTrip(rule)).toEqual(rule);
  });

  it('keeps a two-way rule and its selective sync, and the globs of any rule', () => {
    const twoWay: RuleInput = { ...BASE, mode: 'two-way', remote_exclude: ['Archive/**', 'big/*.iso'] };
    expect(roundTrip(twoWay)).toEqual(twoWay);
    expect(formFromRule(twoWay).remoteExclude).toBe('Archive/**\nbig/*.iso');
    // Not dropped from a rule of another mode either (the check refuses it, in words).
    const stray: RuleInput = { ...BASE, remote_exclude: ['Archive/**'] };
    expect(roundTrip(stray)).toEqual(stray);
    const served = ruleSchema.parse(twoWay);
    expect(ruleSchema.parse(roundTrip(served))).toEqual(served);
  });

  it('gives back the same rule, defaults and all, for a rule as the engine serves it', () => {
    const served = ruleSchema.parse({ ...BASE, when: { ext: 'pdf' }, tags: ['a'] });
    expect(ruleSchema.parse(roundTrip(served))).toEqual(served);
  });

  it('writes one glob, extension or type as a string and several as a list', () => {
    expect(roundTrip({ ...BASE, when: { ext: ['jpg'] } }).when).toEqual({ ext: 'jpg' });
    expect(roundTrip({ ...BASE, when: { glob: ['a/**'] } }).when).toEqual({ glob: 'a/**' });
  });
});

describe('rule form model: what the form turns into', () => {
  const form = (patch: Partial<RuleForm>): RuleForm => ({
    ...emptyForm(),
    name: 'r',
    from: ['inbox'],
    to: ['nas'],
    ...patch,
  });

  it('leaves empty fields out, so the schema defaults apply', () => {
    const blank = { path: '  ', match: '\n \n', exclude: '', tagText: ' , ', safeWhen: '', remoteExclude: ' \n' };
    expect(formToRule(form(blank))).toEqual({
      name: 'r',
      from: ['inbox'],
      to: ['nas'],
      mode: 'backup',
    });
  });

  it('reads globs one per line, extensions and types by commas or spaces, tags by commas', () => {
    const when = {
      id: 'x',
      kind: 'all',
      children: [
        { id: 'a', kind: 'glob', text: ' a/** \n\n*.{jpg,png}\r\n' },
        { id: 'b', kind: 'ext', text: 'jpg, .jpeg  png,' },
        { id: 'c', kind: 'type', text: 'image/*,application/pdf' },
      ],
    } satisfies CondDraft;
    const rule = formToRule(form({ when, match: 'x/**\n y/** ', tags: ['one'], tagText: 'two, one , three' }));
    expect(rule.when).toEqual({
      all: [
        { glob: ['a/**', '*.{jpg,png}'] },
        { ext: ['jpg', '.jpeg', 'png'] },
        { type: ['image/*', 'application/pdf'] },
      ],
    });
    expect(rule.match).toEqual(['x/**', 'y/**']);
    expect(rule.tags).toEqual(['one', 'two', 'three']);
  });

  it('writes plain byte counts as numbers and keeps units as typed', () => {
    const when: CondDraft = { id: 's', kind: 'size', lo: ' 500 ', hi: '1.5MB' };
    expect(formToRule(form({ when })).when).toEqual({ size: { min: 500, max: '1.5MB' } });
  });

  it('writes safe_when as a number and trims the name and the template', () => {
    const rule = formToRule(
      form({ name: '  photos by month ', path: ' photos/{name} ', to: ['nas', 'bucket'], safeWhen: '1' }),
    );
    expect(rule).toMatchObject({ name: 'photos by month', path: 'photos/{name}', safe_when: 1 });
  });

  it('starts a new rule with the only folder and destination chosen', () => {
    expect(emptyForm(['inbox'], ['nas'])).toMatchObject({ from: ['inbox'], to: ['nas'] });
    expect(emptyForm(['inbox', 'scans'], ['nas', 'bucket'])).toMatchObject({ from: [], to: [] });
  });
});

describe('rule form model: validation', () => {
  const valid = (): RuleForm => formFromRule({ ...BASE, when: { any: [{ ext: 'pdf' }, { regex: '^a' }] } });
  const problems = (f: RuleForm) => validateForm(f, CTX).problems;

  it('accepts a valid rule and gives it with its defaults', () => {
    const v = validateForm(valid(), CTX);
    expect(v.problems).toEqual([]);
    expect(v.parsed).toEqual(ruleSchema.parse(v.rule));
    expect(v.parsed).toMatchObject({ match: ['**'], exclude: [], stop: false, path: '{path}', tags: [], hooks: [] });
  });

  it('reports what ruleSchema reports, at the path the engine uses', () => {
    const f = valid();
    f.when = conditionToDraft({ any: [{ ext: 'pdf' }, { regex: '(?=x)' }] });
    f.path = 'x/{nope}';
    f.match = '/abs';
    const found = problems(f);
    expect(found.map((p) => p.path).sort()).toEqual(['match[0]', 'path', 'when.any[1].regex']);
    expect(found.find((p) => p.path === 'when.any[1].regex')?.message).toMatch(/lookaround/);
    expect(found.find((p) => p.path === 'path')?.message).toMatch(/unknown placeholder \{nope\}/);
    expect(validateForm(f, CTX).parsed).toBeUndefined();
  });

  it('agrees with ruleSchema.safeParse on every condition kind', () => {
    const bad: Condition[] = [
      { glob: '[oops' },
      { ext: 'a/b' },
      { regex: '(' },
      { size: { min: 'lots' } },
      { modified: { before: 'yesterday' } },
      { age: { max: 'soon' } },
      { type: 'image' },
    ];
    for (const when of bad) {
      const f = formFromRule({ ...BASE, when });
      const schema = ruleSchema.safeParse(formToRule(f));
      expect(schema.success).toBe(false);
      const expected = schema.error?.issues.map((i) => formatPath(i.path)) ?? [];
      expect(problems(f).map((p) => p.path)).toEqual(expected);
    }
  });

  it('says in its own words what is missing, in place of the schema terse messages', () => {
    const f = { ...emptyForm(), when: newCondition('all') };
    const found = problems(f);
    expect(found).toEqual([
      { path: 'name', message: 'give the rule a name' },
      { path: 'from', message: 'choose at least one folder' },
      { path: 'to', message: 'choose at least one destination' },
      { path: 'when', message: 'add at least one condition to this group' },
    ]);
  });

  it('reports empty conditions and ranges no file can fall in', () => {
    const f = valid();
    f.when = {
      id: 'g',
      kind: 'all',
      children: [
        { id: 'a', kind: 'glob', text: '\n' },
        { id: 'b', kind: 'size', lo: '10MB', hi: '1KB' },
        { id: 'c', kind: 'modified', lo: '2024-02-01', hi: '2024-02-01' },
        { id: 'd', kind: 'age', lo: '', hi: '' },
        { id: 'e', kind: 'not', children: [] },
        { id: 'f', kind: 'age', lo: '1d', hi: '1w' },
      ],
    };
    expect(problems(f).map((p) => p.path)).toEqual([
      'when.all[0]',
      'when.all[1].size',
      'when.all[2].modified',
      'when.all[3]',
      'when.all[4]',
    ]);
  });

  it('checks the rule against the rest of the config', () => {
    const f = valid();
    f.name = 'photos';
    f.from = ['inbox', 'gone'];
    f.to = ['nas', 'bucket'];
    f.safeWhen = '3';
    f.mode = 'mirror';
    expect(problems(f).map((p) => p.path)).toEqual(['name', 'from[1]', 'safe_when']);
  });
});

describe('rule form model: two-way', () => {
  const twoWay = (patch: Partial<RuleForm> = {}): RuleForm => ({
    ...formFromRule({ ...BASE, mode: 'two-way' }),
    ...patch,
  });
  const problems = (f: RuleForm) => validateForm(f, CTX).problems;
  /** The config schema's own verdict on the rule, at the paths below the rule. */
  const schemaSays = (rule: RuleInput) => {
    const cfg = configSchema.safeParse({
      folders: CTX.folders.map((id) => ({ id, path: `/tmp/${id}` })),
      destinations: CTX.destinations.map((id) => ({ id, type: 'local', path: `/tmp/${id}` })),
      rules: [rule],
    });
    return (cfg.error?.issues ?? []).map((i) => ({ path: formatPath(i.path.slice(2)), message: i.message }));
  };

  it('accepts one folder, one destination and selective-sync globs', () => {
    const v = validateForm(twoWay({ remoteExclude: 'Archive/**\n*.iso' }), CTX);
    expect(v.problems).toEqual([]);
    expect(v.parsed).toMatchObject({ mode: 'two-way', path: '{path}', remote_exclude: ['Archive/**', '*.iso'] });
  });

  it('wants exactly one folder and one destination, in the schema words', () => {
    const found = problems(twoWay({ from: ['inbox', 'scans'], to: ['nas', 'bucket'] }));
    expect(found).toEqual([
      { path: 'to', message: 'a two-way rule keeps one folder and one destination equal: name one destination' },
      { path: 'from', message: 'a two-way rule keeps one folder and one destination equal: name one folder' },
    ]);
    // None at all is said as for any rule, once.
    expect(problems(twoWay({ to: [] }))).toEqual([{ path: 'to', message: 'choose at least one destination' }]);
  });

  it('mirrors every two-way check of the config schema, message for message', () => {
    const rules: RuleInput[] = [
      { ...BASE, mode: 'two-way', from: ['inbox', 'scans'], to: ['nas', 'bucket'] },
      { ...BASE, mode: 'two-way', path: 'x/{name}' },
      { ...BASE, mode: 'two-way', compress: 'gzip' },
      { ...BASE, mode: 'two-way', safe_when: 1 },
      { ...BASE, mode: 'backup', remote_exclude: ['Archive/**'] },
      { ...BASE, mode: 'two-way', path: '{path}', remote_exclude: ['Archive/**'] },
    ];
    for (const rule of rules) {
      const expected = schemaSays(rule);
      expect(modeProblems(rule), JSON.stringify(rule)).toEqual(expected);
      expect(problems(formFromRule(rule)), JSON.stringify(rule)).toEqual(expected);
    }
  });

  it('shows refused selective-sync globs and a bad glob on the field', () => {
    const f = formFromRule({ ...BASE, remote_exclude: ['Archive/**'] });
    expect(problems(f)).toEqual([
      { path: 'remote_exclude', message: 'remote_exclude (selective sync) is for two-way rules only' },
    ]);
    expect(fieldOf('remote_exclude', f)).toEqual({ field: 'remote_exclude', rest: '' });
    const bad = problems(twoWay({ remoteExclude: '/abs' }));
    expect(bad.map((p) => p.path)).toEqual(['remote_exclude[0]']);
    expect(fieldOf('remote_exclude[0]', f)).toEqual({ field: 'remote_exclude', rest: '[0]' });
  });

  it('puts aside what two-way locks when chosen, and gives it back when left', () => {
    const backup = formFromRule({ ...BASE, path: 'x/{name}', compress: 'zstd', safe_when: 1 });
    const on = withMode(backup, 'two-way', null);
    expect(on.form).toMatchObject({ mode: 'two-way', path: '', compress: '', safeWhen: '' });
    expect(on.kept).toEqual({ path: 'x/{name}', compress: 'zstd', safeWhen: '1' });
    expect(validateForm(on.form, CTX).problems).toEqual([]);
    const off = withMode(on.form, 'mirror', on.kept);
    expect(off).toEqual({ form: { ...backup, mode: 'mirror' }, kept: null });
    // Nothing to put aside: nothing kept; the same mode: nothing changes.
    expect(withMode(formFromRule(BASE), 'two-way', null).kept).toBeNull();
    expect(withMode(on.form, 'two-way', on.kept)).toEqual(on);
  });
});

describe('rule form model: problems on fields', () => {
  it('reads and writes the engine paths', () => {
    expect(parsePath('rules[1].when.any[0].regex')).toEqual(['rules', 1, 'when', 'any', 0, 'regex']);
    expect(formatPath(['when', 'any', 0, 'regex'])).toBe('when.any[0].regex');
    expect(formatPath(parsePath('to[2]'))).toBe('to[2]');
  });

  it('puts a condition problem on the deepest node of its path, with the rest of the path', () => {
    const form = formFromRule({ ...BASE, when: { any: [{ ext: 'pdf' }, { not: { size: { min: 'x' } } }] } });
    const root = form.when as CondDraft & { children: CondDraft[] };
    const not = root.children[1] as CondDraft & { children: CondDraft[] };
    const size = not.children[0] as CondDraft;
    expect(fieldOf('when.any[1].not.size.min', form)).toEqual({ field: `cond:${size.id}`, rest: 'size.min' });
    expect(fieldOf('when.any[1]', form)).toEqual({ field: `cond:${not.id}`, rest: '' });
    expect(fieldOf('when.any', form)).toEqual({ field: `cond:${root.id}`, rest: 'any' });
    // A path past the form's tree (it changed since) stops at the last node that exists.
    expect(fieldOf('when.any[5].regex', form)).toEqual({ field: `cond:${root.id}`, rest: 'any[5].regex' });
    expect(fieldOf('when.glob', { when: null })).toEqual({ field: 'when', rest: 'glob' });
  });

  it('sends plain fields to their field and the rest to the note', () => {
    const form = formFromRule(BASE);
    const { fields, rest } = assignProblems(
      [
        { path: 'to', message: 'a destination is named twice' },
        { path: 'to[1]', message: 'unknown destination "x"' },
        { path: 'safe_when', message: 'at most 1' },
        { path: 'hooks[0]', message: 'give either a command or a url' },
        { path: '', message: 'unknown field "colour"' },
      ],
      form,
    );
    expect(fields.get('to')).toEqual([
      { path: '', message: 'a destination is named twice' },
      { path: '[1]', message: 'unknown destination "x"' },
    ]);
    expect(fields.get('safe_when')).toEqual([{ path: '', message: 'at most 1' }]);
    expect(rest.map((p) => p.path)).toEqual(['hooks[0]', '']);
  });
});

describe('condition tree edits', () => {
  const leaf = (text: string): CondDraft => ({ id: text, kind: 'ext', text });
  const tree = (): CondDraft => ({ id: 'g', kind: 'all', children: [leaf('a'), leaf('b'), leaf('c')] });

  it('adds, removes and wraps nodes without touching the rest', () => {
    const t = tree();
    const added = addCondition(t, 'g', leaf('d'));
    expect(draftToCondition(added)).toEqual({ all: [{ ext: 'a' }, { ext: 'b' }, { ext: 'c' }, { ext: 'd' }] });
    expect(draftToCondition(removeCondition(t, 'b') as CondDraft)).toEqual({ all: [{ ext: 'a' }, { ext: 'c' }] });
    expect(removeCondition(t, 'g')).toBeNull();
    expect(removeCondition(t, 'nothing')).toBe(t);
    const wrapped = wrapCondition(t, 'b', 'not');
    expect(draftToCondition(wrapped)).toEqual({ all: [{ ext: 'a' }, { not: { ext: 'b' } }, { ext: 'c' }] });
    const notNode = (wrapped as { children: CondDraft[] }).children[1] as CondDraft;
    expect(draftToCondition(unwrapCondition(wrapped, notNode.id))).toEqual(draftToCondition(t));
  });

  it('turns several conditions under a new "not" into one "all", losing none', () => {
    const t = tree();
    if (!isGroup(t)) throw new Error('a group');
    expect(draftToCondition(setGroupOp(t, 'not'))).toEqual({
      not: { all: [{ ext: 'a' }, { ext: 'b' }, { ext: 'c' }] },
    });
    expect(draftToCondition(setGroupOp(t, 'any'))).toEqual({ any: [{ ext: 'a' }, { ext: 'b' }, { ext: 'c' }] });
  });
});

describe('rule summary', () => {
  it('says a condition in words', () => {
    expect(
      describeCondition({
        all: [{ ext: ['jpg', 'png'] }, { any: [{ size: { min: '1MB' } }, { not: { glob: 'a/**' } }] }],
      }),
    ).toBe('extension jpg, png and (size ≥ 1MB or not path matches a/**)');
    expect(describeCondition({ modified: { after: '2024-01-01', before: '2024-02-01' } })).toBe(
      'modified on or after 2024-01-01 and before 2024-02-01',
    );
  });
});
