import { parseDate, parseDuration, parseSize } from '../../../../shared/conditions';
import type { Condition } from '../../../../shared/conditions';

/**
 * The rules editor's model of a `when` condition: a tree the form can hold half-typed values in
 * (strings as typed, empty groups), with a stable id per node for React keys and field errors.
 * No React here: the conversions are unit-tested (test/unit/ruleModel.test.ts).
 */
export type GroupOp = 'all' | 'any' | 'not';
export type TextKind = 'glob' | 'ext' | 'regex' | 'type';
export type RangeKind = 'size' | 'modified' | 'age';
export type LeafKind = TextKind | RangeKind;
export type ConditionKind = LeafKind | GroupOp;

export type GroupDraft = { id: string; kind: GroupOp; children: CondDraft[] };
/** glob: one per line; ext and type: separated by commas or spaces; regex: the pattern as typed. */
export type TextDraft = { id: string; kind: TextKind; text: string };
/** size: min/max ("10MB"); modified: after/before (dates); age: min/max ("7d"). */
export type RangeDraft = { id: string; kind: RangeKind; lo: string; hi: string };
export type CondDraft = GroupDraft | TextDraft | RangeDraft;

export const GROUP_OPS: readonly GroupOp[] = ['all', 'any', 'not'];

/** The keys a range condition uses in the config, low end first. */
export const RANGE_KEYS = {
  size: ['min', 'max'],
  modified: ['after', 'before'],
  age: ['min', 'max'],
} as const satisfies Record<RangeKind, readonly [string, string]>;

let seq = 0;
const nextId = (): string => `c${++seq}`;

export const isGroup = (d: CondDraft): d is GroupDraft => d.kind === 'all' || d.kind === 'any' || d.kind === 'not';
export const isRange = (d: CondDraft): d is RangeDraft =>
  d.kind === 'size' || d.kind === 'modified' || d.kind === 'age';

export function newCondition(kind: ConditionKind): CondDraft {
  const id = nextId();
  if (kind === 'all' || kind === 'any' || kind === 'not') return { id, kind, children: [] };
  if (kind === 'size' || kind === 'modified' || kind === 'age') return { id, kind, lo: '', hi: '' };
  return { id, kind, text: '' };
}

const listOf = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);
const rangeText = (v: string | number | undefined): string => (v === undefined ? '' : String(v));

/** The editor's tree for a condition from the config. */
export function conditionToDraft(c: Condition): CondDraft {
  const id = nextId();
  if ('all' in c) return { id, kind: 'all', children: c.all.map(conditionToDraft) };
  if ('any' in c) return { id, kind: 'any', children: c.any.map(conditionToDraft) };
  if ('not' in c) return { id, kind: 'not', children: [conditionToDraft(c.not)] };
  if ('glob' in c) return { id, kind: 'glob', text: listOf(c.glob).join('\n') };
  if ('ext' in c) return { id, kind: 'ext', text: listOf(c.ext).join(', ') };
  if ('type' in c) return { id, kind: 'type', text: listOf(c.type).join(', ') };
  if ('regex' in c) return { id, kind: 'regex', text: c.regex };
  if ('size' in c) return { id, kind: 'size', lo: rangeText(c.size.min), hi: rangeText(c.size.max) };
  if ('modified' in c)
    return { id, kind: 'modified', lo: rangeText(c.modified.after), hi: rangeText(c.modified.before) };
  return { id, kind: 'age', lo: rangeText(c.age.min), hi: rangeText(c.age.max) };
}

/** Globs: one per line (a glob may hold commas, as in `*.{jpg,png}`). */
export const splitLines = (text: string): string[] =>
  text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Extensions and content types: separated by commas or white space (neither can hold them). */
export const splitWords = (text: string): string[] => text.split(/[\s,]+/).filter((s) => s !== '');

/** One value is written as a string, several as a list, as people write them in config.yml. */
const oneOrMany = (items: string[]): string | string[] => (items.length === 1 ? (items[0] ?? '') : items);

/** Plain digits are bytes: written as a number, as the config reads most naturally. */
const sizeValue = (s: string): string | number => (/^\d+$/.test(s) ? Number(s) : s);

/** The condition as the config holds it; empty ends of ranges are left out. */
export function draftToCondition(d: CondDraft): Condition {
  switch (d.kind) {
    case 'all':
      return { all: d.children.map(draftToCondition) };
    case 'any':
      return { any: d.children.map(draftToCondition) };
    case 'not':
      // An empty `not` is invalid (draftProblems says so); `{ all: [] }` keeps the shape checkable.
      return { not: d.children[0] ? draftToCondition(d.children[0]) : { all: [] } };
    case 'glob':
      return { glob: oneOrMany(splitLines(d.text)) };
    case 'ext':
      return { ext: oneOrMany(splitWords(d.text)) };
    case 'type':
      return { type: oneOrMany(splitWords(d.text)) };
    case 'regex':
      return { regex: d.text };
    case 'size': {
      const lo = d.lo.trim();
      const hi = d.hi.trim();
      return { size: { ...(lo ? { min: sizeValue(lo) } : {}), ...(hi ? { max: sizeValue(hi) } : {}) } };
    }
    case 'modified': {
      const lo = d.lo.trim();
      const hi = d.hi.trim();
      return { modified: { ...(lo ? { after: lo } : {}), ...(hi ? { before: hi } : {}) } };
    }
    case 'age': {
      const lo = d.lo.trim();
      const hi = d.hi.trim();
      return { age: { ...(lo ? { min: lo } : {}), ...(hi ? { max: hi } : {}) } };
    }
  }
}

export type Problem = { path: string; message: string };

const EMPTY_MESSAGE: Record<LeafKind, string> = {
  glob: 'enter a glob, such as **/*.pdf (one per line)',
  ext: 'enter one or more extensions, such as jpg, png',
  regex: 'enter a regular expression',
  type: 'enter a content type, such as image/* or application/pdf',
  size: 'give a minimum size, a maximum or both',
  modified: 'give a date to match on or after, one to match before, or both',
  age: 'give a minimum age, a maximum or both',
};

/**
 * What the schema would also refuse, said in the editor's words (an empty leaf or group), and ranges
 * that no file can fall in. `path` is where the schema would report it (`when.any[0]`).
 */
export function draftProblems(d: CondDraft, path: string): Problem[] {
  if (isGroup(d)) {
    if (d.children.length === 0)
      return [
        {
          path,
          message:
            d.kind === 'not'
              ? 'add the condition that files must not meet'
              : 'add at least one condition to this group',
        },
      ];
    if (d.kind === 'not') return draftProblems(d.children[0] as CondDraft, `${path}.not`);
    return d.children.flatMap((c, i) => draftProblems(c, `${path}.${d.kind}[${i}]`));
  }
  if (isRange(d)) {
    const lo = d.lo.trim();
    const hi = d.hi.trim();
    if (!lo && !hi) return [{ path, message: EMPTY_MESSAGE[d.kind] }];
    if (lo && hi && emptyRange(d.kind, lo, hi)) return [{ path: `${path}.${d.kind}`, message: EMPTY_RANGE[d.kind] }];
    return [];
  }
  const empty =
    d.kind === 'regex'
      ? d.text === ''
      : d.kind === 'glob'
        ? splitLines(d.text).length === 0
        : splitWords(d.text).length === 0;
  return empty ? [{ path, message: EMPTY_MESSAGE[d.kind] }] : [];
}

const EMPTY_RANGE: Record<RangeKind, string> = {
  size: 'the minimum is larger than the maximum: no file can match',
  modified: 'the "after" date is not before the "before" date: no file can match',
  age: 'the minimum age is larger than the maximum: no file can match',
};

/** Whether both ends parse and leave no room between them (unparsable ends are the schema's to report). */
function emptyRange(kind: RangeKind, lo: string, hi: string): boolean {
  const parse = (v: string) =>
    kind === 'size' ? parseSize(sizeValue(v)) : kind === 'modified' ? parseDate(v) : parseDuration(v);
  const a = parse(lo);
  const b = parse(hi);
  if (a === undefined || b === undefined) return false;
  // `before` is exclusive: after == before matches nothing; size and age ranges include both ends.
  return kind === 'modified' ? a >= b : a > b;
}

// ---- Tree edits: each returns a new tree, the untouched branches shared ---------------------------

export function replaceCondition(root: CondDraft, id: string, fn: (d: CondDraft) => CondDraft): CondDraft {
  if (root.id === id) return fn(root);
  if (!isGroup(root)) return root;
  const children = root.children.map((c) => replaceCondition(c, id, fn));
  return children.every((c, i) => c === root.children[i]) ? root : { ...root, children };
}

/** Removes a node; removing the root leaves no condition at all. */
export function removeCondition(root: CondDraft, id: string): CondDraft | null {
  if (root.id === id) return null;
  if (!isGroup(root)) return root;
  const children = root.children.flatMap((c) => removeCondition(c, id) ?? []);
  const same = children.length === root.children.length && children.every((c, i) => c === root.children[i]);
  return same ? root : { ...root, children };
}

export function addCondition(root: CondDraft, groupId: string, child: CondDraft): CondDraft {
  return replaceCondition(root, groupId, (g) => (isGroup(g) ? { ...g, children: [...g.children, child] } : g));
}

/** Puts a node inside a new group (to combine it with more conditions, or to negate it). */
export function wrapCondition(root: CondDraft, id: string, op: GroupOp): CondDraft {
  return replaceCondition(root, id, (d) => ({ id: nextId(), kind: op, children: [d] }));
}

/** Replaces a group by its only child. */
export function unwrapCondition(root: CondDraft, id: string): CondDraft {
  return replaceCondition(root, id, (d) =>
    isGroup(d) && d.children.length === 1 && d.children[0] ? d.children[0] : d,
  );
}

/** Changes all/any/not; a `not` takes one condition, so several become one `all` under it (nothing lost). */
export function setGroupOp(g: GroupDraft, op: GroupOp): GroupDraft {
  if (op === 'not' && g.children.length > 1)
    return { ...g, kind: 'not', children: [{ id: nextId(), kind: 'all', children: g.children }] };
  return { ...g, kind: op };
}

export function parentOf(root: CondDraft, id: string): GroupDraft | undefined {
  if (!isGroup(root)) return undefined;
  if (root.children.some((c) => c.id === id)) return root;
  for (const c of root.children) {
    const hit = parentOf(c, id);
    if (hit) return hit;
  }
  return undefined;
}
