import type { z } from 'zod';
import { ruleSchema } from '../../../../shared/config';
import type { Compression, RuleConfig } from '../../../../shared/config';
import type { Condition } from '../../../../shared/conditions';
import type { SyncMode } from '../../../../shared/models';
import {
  conditionToDraft,
  draftProblems,
  draftToCondition,
  isGroup,
  splitLines,
  type CondDraft,
  type Problem,
} from './conditionDraft';

export type { Problem };

/**
 * The rules editor's form model and its conversion to and from a rule of config.yml. Text fields hold
 * what was typed; `formToRule` turns them into the rule, leaving out what is empty (the schema's
 * defaults apply). No React here: see test/unit/ruleModel.test.ts.
 */
/** A rule as config.yml may write it (defaults left out); `when` typed as the condition language. */
export type RuleInput = Omit<z.input<typeof ruleSchema>, 'when'> & { when?: Condition };
type Hooks = NonNullable<RuleInput['hooks']>;

export type RuleForm = {
  name: string;
  from: string[];
  to: string[];
  mode: SyncMode;
  /** The destination path template; empty means the default, `{path}`. */
  path: string;
  /** Globs, one per line; empty means every file (`**`). */
  match: string;
  exclude: string;
  when: CondDraft | null;
  stop: boolean;
  compress: '' | Compression;
  tags: string[];
  /** Typed into the tag input but not made a chip yet: it is part of the rule all the same. */
  tagText: string;
  /** How many of `to` must hold a verified copy; empty means all of them (the engine's default). */
  safeWhen: string;
  /** Two-way only ("selective sync"): globs, one per line, of remote paths never brought home. */
  remoteExclude: string;
  /** Not edited by the form: carried through untouched. */
  hooks: Hooks;
};

/** A new rule's form: the only folder and the only destination are chosen already. */
export function emptyForm(folders: readonly string[] = [], destinations: readonly string[] = []): RuleForm {
  return {
    name: '',
    from: folders.length === 1 ? [...folders] : [],
    to: destinations.length === 1 ? [...destinations] : [],
    mode: 'backup',
    path: '',
    match: '',
    exclude: '',
    when: null,
    stop: false,
    compress: '',
    tags: [],
    tagText: '',
    safeWhen: '',
    remoteExclude: '',
    hooks: [],
  };
}

export function formFromRule(rule: RuleInput): RuleForm {
  return {
    name: rule.name,
    from: [...rule.from],
    to: [...rule.to],
    mode: rule.mode ?? 'backup',
    path: rule.path ?? '',
    match: (rule.match ?? []).join('\n'),
    exclude: (rule.exclude ?? []).join('\n'),
    when: rule.when ? conditionToDraft(rule.when) : null,
    stop: rule.stop ?? false,
    compress: rule.compress ?? '',
    tags: [...(rule.tags ?? [])],
    tagText: '',
    safeWhen: rule.safe_when === undefined ? '' : String(rule.safe_when),
    remoteExclude: (rule.remote_exclude ?? []).join('\n'),
    hooks: rule.hooks ?? [],
  };
}

/** Tags typed so far, chips and pending text alike, trimmed, without repeats. */
export function allTags(form: Pick<RuleForm, 'tags' | 'tagText'>): string[] {
  return [...new Set([...form.tags, ...splitTags(form.tagText)])];
}

export const splitTags = (text: string): string[] =>
  text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');

/** The rule as config.yml holds it (keys in the README's order), without empty or default-valued optional fields. */
export function formToRule(form: RuleForm): RuleInput {
  const match = splitLines(form.match);
  const exclude = splitLines(form.exclude);
  const path = form.path.trim();
  const tags = allTags(form);
  // Kept whatever the mode, so that switching a mode back and forth drops nothing (the check says why it is refused).
  const remoteExclude = splitLines(form.remoteExclude);
  return {
    name: form.name.trim(),
    from: [...form.from],
    ...(match.length > 0 ? { match } : {}),
    ...(exclude.length > 0 ? { exclude } : {}),
    ...(form.when ? { when: draftToCondition(form.when) } : {}),
    to: [...form.to],
    ...(path ? { path } : {}),
    mode: form.mode,
    ...(remoteExclude.length > 0 ? { remote_exclude: remoteExclude } : {}),
    ...(form.safeWhen.trim() ? { safe_when: Number(form.safeWhen) } : {}),
    ...(form.compress ? { compress: form.compress } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    ...(form.stop ? { stop: true } : {}),
    ...(form.hooks.length > 0 ? { hooks: form.hooks } : {}),
  };
}

/** What the rule is checked against besides its own schema: the rest of the config. */
export type RuleContext = {
  /** The names of the other rules (names are unique). */
  otherNames: readonly string[];
  folders: readonly string[];
  destinations: readonly string[];
};

export type Validation = {
  rule: RuleInput;
  /** The rule with the schema's defaults, when there is no problem at all. */
  parsed: RuleConfig | undefined;
  /** Paths relative to the rule, as the engine reports them (`when.any[0].regex`). */
  problems: Problem[];
};

/**
 * Every problem the engine would report for this rule, found here as the person types: the schema's
 * (`ruleSchema`), the config's checks across rules, folders and destinations, and empty parts of the
 * form said in its own words (they replace the schema's terser message at the same place).
 */
export function validateForm(form: RuleForm, ctx: RuleContext): Validation {
  const rule = formToRule(form);
  const own: Problem[] = [];
  if (!rule.name) own.push({ path: 'name', message: 'give the rule a name' });
  else if (ctx.otherNames.includes(rule.name))
    own.push({ path: 'name', message: `another rule is already named "${rule.name}": rule names are unique` });
  if (rule.from.length === 0) own.push({ path: 'from', message: 'choose at least one folder' });
  rule.from.forEach((f, j) => {
    if (!ctx.folders.includes(f))
      own.push({
        path: `from[${j}]`,
        message: `unknown folder "${f}" (folders: ${ctx.folders.join(', ') || 'none defined'})`,
      });
  });
  if (rule.to.length === 0) own.push({ path: 'to', message: 'choose at least one destination' });
  rule.to.forEach((d, j) => {
    if (!ctx.destinations.includes(d))
      own.push({
        path: `to[${j}]`,
        message: `unknown destination "${d}" (destinations: ${ctx.destinations.join(', ') || 'none defined'})`,
      });
  });
  if (new Set(rule.to).size !== rule.to.length) own.push({ path: 'to', message: 'a destination is named twice' });
  // No folder or destination at all is said above already.
  own.push(
    ...modeProblems(rule).filter(
      (p) => !(p.path === 'from' && rule.from.length === 0) && !(p.path === 'to' && rule.to.length === 0),
    ),
  );
  if (rule.safe_when !== undefined && rule.to.length > 0 && rule.safe_when > rule.to.length)
    own.push({
      path: 'safe_when',
      message: `safe_when is ${rule.safe_when} but the rule ships to ${rule.to.length} destination(s): at most ${rule.to.length}`,
    });
  if (form.when) own.push(...draftProblems(form.when, 'when'));

  const result = ruleSchema.safeParse(rule);
  const fromSchema = result.success
    ? []
    : result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  const problems = dedupe([...own, ...fromSchema.filter((p) => !own.some((o) => covers(o.path, p.path)))]);
  return { rule, parsed: result.success && problems.length === 0 ? result.data : undefined, problems };
}

/**
 * The config schema's checks of a rule's mode (configSchema in shared/config.ts, with its messages): a
 * two-way rule maps one folder to one destination path 1:1, and selective sync is for two-way rules only.
 */
export function modeProblems(rule: RuleInput): Problem[] {
  if (rule.mode !== 'two-way')
    return (rule.remote_exclude ?? []).length > 0
      ? [{ path: 'remote_exclude', message: 'remote_exclude (selective sync) is for two-way rules only' }]
      : [];
  const problems: Problem[] = [];
  if (rule.to.length !== 1)
    problems.push({
      path: 'to',
      message: 'a two-way rule keeps one folder and one destination equal: name one destination',
    });
  if (rule.from.length !== 1)
    problems.push({
      path: 'from',
      message: 'a two-way rule keeps one folder and one destination equal: name one folder',
    });
  if ((rule.path ?? '{path}') !== '{path}')
    problems.push({
      path: 'path',
      message: 'a two-way rule mirrors the folder as it is: leave the path template out (it is {path})',
    });
  if (rule.compress !== undefined)
    problems.push({ path: 'compress', message: 'a two-way rule cannot compress: files must come back as they left' });
  if (rule.safe_when !== undefined)
    problems.push({ path: 'safe_when', message: 'safe_when is for move rules, not two-way ones' });
  return problems;
}

/** What the two-way mode locks (path {path}, no compression, no safe_when), put aside while it is chosen. */
export type LockedByTwoWay = Pick<RuleForm, 'path' | 'compress' | 'safeWhen'>;

/**
 * The form with another mode. Choosing two-way clears what it locks and hands it back as `kept`;
 * leaving two-way restores what was kept, so that trying the mode out loses nothing.
 */
export function withMode(
  form: RuleForm,
  mode: SyncMode,
  kept: LockedByTwoWay | null,
): { form: RuleForm; kept: LockedByTwoWay | null } {
  if (mode === form.mode) return { form, kept };
  if (mode === 'two-way') {
    const { path, compress, safeWhen } = form;
    const locked = path.trim() === '' || path.trim() === '{path}';
    const aside = locked && compress === '' && safeWhen === '' ? null : { path, compress, safeWhen };
    return { form: { ...form, mode, path: '', compress: '', safeWhen: '' }, kept: aside };
  }
  if (form.mode === 'two-way' && kept) return { form: { ...form, mode, ...kept }, kept: null };
  return { form: { ...form, mode }, kept };
}

const covers = (outer: string, inner: string): boolean =>
  inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---- Problem paths → the form's fields --------------------------------------------------------

/** A schema path as the engine writes it: ['when', 'any', 0, 'regex'] → `when.any[0].regex`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)),
    '',
  );
}

/** `when.any[0].regex` → ['when', 'any', 0, 'regex']. */
export function parsePath(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] ?? '')));
}

const SIMPLE_FIELDS = [
  'name',
  'from',
  'to',
  'mode',
  'path',
  'match',
  'exclude',
  'stop',
  'compress',
  'tags',
  'safe_when',
  'remote_exclude',
] as const;
type SimpleField = (typeof SIMPLE_FIELDS)[number];

/** A place in the form that shows messages: a plain field, the conditions as a whole, or one condition node. */
export type FieldKey = SimpleField | 'when' | `cond:${string}`;

/**
 * Which field shows a problem, and what is left of its path below that field (`size.min` for a size
 * condition's minimum). A condition problem goes to the deepest node of the form's tree on its path.
 */
export function fieldOf(path: string, form: Pick<RuleForm, 'when'>): { field: FieldKey; rest: string } | undefined {
  const segs = parsePath(path);
  const head = segs[0];
  if (head === 'when') {
    let node = form.when;
    if (!node) return { field: 'when', rest: formatPath(segs.slice(1)) };
    let i = 1;
    while (isGroup(node)) {
      const seg = segs[i];
      const index = segs[i + 1];
      if (node.kind === 'not' && seg === 'not' && node.children[0]) {
        node = node.children[0];
        i += 1;
      } else if (seg === node.kind && typeof index === 'number' && node.children[index]) {
        node = node.children[index];
        i += 2;
      } else break;
    }
    return { field: `cond:${node.id}`, rest: formatPath(segs.slice(i)) };
  }
  if (typeof head === 'string' && (SIMPLE_FIELDS as readonly string[]).includes(head))
    return { field: head as SimpleField, rest: formatPath(segs.slice(1)) };
  return undefined;
}

export type AssignedProblems = {
  /** Per field: the problems with their path below the field (`''` for the field itself). */
  fields: Map<FieldKey, Problem[]>;
  /** Problems about no field of the form (the rule as a whole, its hooks): shown at the top. */
  rest: Problem[];
};

export function assignProblems(problems: readonly Problem[], form: Pick<RuleForm, 'when'>): AssignedProblems {
  const fields = new Map<FieldKey, Problem[]>();
  const rest: Problem[] = [];
  for (const p of problems) {
    const at = fieldOf(p.path, form);
    if (!at) {
      rest.push(p);
      continue;
    }
    const list = fields.get(at.field) ?? [];
    list.push({ path: at.rest, message: p.message });
    fields.set(at.field, list);
  }
  return { fields, rest };
}
