import picomatch from 'picomatch';
import type { RuleConfig } from '../../../shared/config';
import { usesClock, usesContentType } from '../../../shared/conditions';
import { compileCondition, type Predicate, type Subject } from './compileCondition';

export type CompiledRule = RuleConfig & {
  /** Whether the rule's own conditions catch the file (ignoring `stop` in earlier rules: see dispatch). */
  matches: Predicate;
  /** Whether the rule looks at sniffed content types. */
  needsType: boolean;
  /** Whether the rule's answer for a file can change with time alone (an `age` condition). */
  usesClock: boolean;
};

/** Glob include/exclude on the folder-relative path (dotfiles included, as a sync client must), then `when`. */
export function compileRule(rule: RuleConfig): CompiledRule {
  const opts = { dot: true };
  const everything = rule.match.length === 1 && rule.match[0] === '**';
  const include = everything ? () => true : picomatch(rule.match, opts);
  const exclude = rule.exclude.length > 0 ? picomatch(rule.exclude, opts) : undefined;
  const when = rule.when ? compileCondition(rule.when) : undefined;
  const matches: Predicate = (f: Subject, now: number) =>
    include(f.path) && !exclude?.(f.path) && (when === undefined || when(f, now));
  return { ...rule, matches, needsType: usesContentType(rule.when), usesClock: usesClock(rule.when) };
}
