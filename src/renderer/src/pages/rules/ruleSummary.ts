import type { Condition } from '../../../../shared/conditions';
import type { RuleConfig } from '../../../../shared/config';

/** One line of plain words for a rule's `when`, as a rule card shows it. */
export function describeCondition(c: Condition, nested = false): string {
  const list = (v: string | string[]) => (Array.isArray(v) ? v.join(', ') : v);
  const group = (items: Condition[], word: string) => {
    const text = items.map((i) => describeCondition(i, true)).join(` ${word} `);
    return nested && items.length > 1 ? `(${text})` : text;
  };
  if ('all' in c) return group(c.all, 'and');
  if ('any' in c) return group(c.any, 'or');
  if ('not' in c) return `not ${describeCondition(c.not, true)}`;
  if ('glob' in c) return `path matches ${list(c.glob)}`;
  if ('ext' in c) return `extension ${list(c.ext)}`;
  if ('regex' in c) return `path matches /${c.regex}/`;
  if ('type' in c) return `type ${list(c.type)}`;
  if ('size' in c) return range('size', c.size.min, c.size.max, '≥', '≤');
  if ('modified' in c) return range('modified', c.modified.after, c.modified.before, 'on or after', 'before');
  return range('age', c.age.min, c.age.max, '≥', '≤');
}

function range(what: string, lo: string | number | undefined, hi: string | number | undefined, a: string, b: string) {
  const parts = [lo !== undefined ? `${a} ${lo}` : '', hi !== undefined ? `${b} ${hi}` : ''].filter(Boolean);
  return `${what} ${parts.join(' and ')}`;
}

/** "safe when 2 of 3 hold it", or undefined when the rule keeps the default (all of them). */
export function describeQuorum(rule: Pick<RuleConfig, 'safe_when' | 'to' | 'mode'>): string | undefined {
  if (rule.safe_when === undefined)
    return rule.mode === 'move' && rule.to.length > 1 ? 'safe when all hold it' : undefined;
  return `safe when ${rule.safe_when} of ${rule.to.length} ${rule.safe_when === 1 ? 'holds' : 'hold'} it`;
}

export const MODE_WORDS: Record<RuleConfig['mode'], string> = {
  backup: 'never deletes at the destination',
  mirror: 'follows local deletions at the destination',
  move: 'deletes the source once the copies are verified',
  'two-way': 'keeps one folder and one destination equal, changes going both ways',
};
