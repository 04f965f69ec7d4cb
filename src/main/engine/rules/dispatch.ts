import type { Subject } from './compileCondition';
import type { CompiledRule } from './ruleMatcher';

const NONE: readonly CompiledRule[] = [];

/**
 * Which rules catch a file: rules are tried in the order the configuration lists them; every rule
 * whose conditions hold catches the file, until one with `stop: true` does (first-match lists).
 * The planner, the preview and the move check all ask here, so they cannot disagree.
 */
export class Dispatcher {
  private readonly byFolder = new Map<string, CompiledRule[]>();
  private readonly byName = new Map<string, CompiledRule>();
  /**
   * Answers per file object: a scan keeps the same object for a file that did not change, so a live
   * service that re-plans after each change judges only the changed files again. Folders whose rules
   * depend on the clock are judged afresh every time.
   */
  private readonly memo = new WeakMap<object, readonly CompiledRule[]>();
  private readonly clockFolders = new Set<string>();
  /**
   * One array per distinct answer, shared by every file that gets it: a plan keeps each file's answer,
   * and an array per file was ~130 bytes apiece (a daemon over 300,000 files kept 40 MB of them).
   */
  private readonly answers = new Map<string, readonly CompiledRule[]>();

  constructor(readonly rules: readonly CompiledRule[]) {
    for (const rule of rules) this.byName.set(rule.name, rule);
    for (const rule of rules)
      for (const folder of rule.from) {
        const list = this.byFolder.get(folder) ?? [];
        list.push(rule);
        this.byFolder.set(folder, list);
        if (rule.usesClock) this.clockFolders.add(folder);
      }
  }

  rule(name: string): CompiledRule | undefined {
    return this.byName.get(name);
  }

  /** The rules that read this folder, in order. */
  rulesOf(folder: string): readonly CompiledRule[] {
    return this.byFolder.get(folder) ?? NONE;
  }

  /** Whether any rule over the folder looks at content types (then its files must be sniffed). */
  needsType(folder: string): boolean {
    return this.rulesOf(folder).some((r) => r.needsType);
  }

  catching(folder: string, file: Subject, now: number): readonly CompiledRule[] {
    const memoize = !this.clockFolders.has(folder);
    if (memoize) {
      const known = this.memo.get(file);
      if (known) return known;
    }
    const out = this.evaluate(folder, file, now);
    if (memoize) this.memo.set(file, out);
    return out;
  }

  private evaluate(folder: string, file: Subject, now: number): readonly CompiledRule[] {
    let key = '';
    const rules = this.rulesOf(folder);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      if (!rule.matches(file, now)) continue;
      key += `${i},`;
      if (rule.stop) break;
    }
    if (key === '') return NONE;
    key = `${folder}\u0000${key}`;
    let out = this.answers.get(key);
    if (!out) {
      out = key
        .slice(folder.length + 1, -1)
        .split(',')
        .map((i) => rules[Number(i)] as CompiledRule);
      this.answers.set(key, out);
    }
    return out;
  }
}
