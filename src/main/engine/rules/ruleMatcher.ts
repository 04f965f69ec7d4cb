import picomatch from 'picomatch';
import type { RuleConfig } from '../../../shared/config';

export type CompiledRule = RuleConfig & { matches: (path: string) => boolean };

/** Glob include/exclude on the folder-relative path (dotfiles included, as a sync client must). */
export function compileRule(rule: RuleConfig): CompiledRule {
  const opts = { dot: true };
  const include = picomatch(rule.match, opts);
  const exclude = rule.exclude.length > 0 ? picomatch(rule.exclude, opts) : () => false;
  return { ...rule, matches: (path) => include(path) && !exclude(path) };
}
