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
    let out: CompiledRule[] | undefined;
    for (const rule of this.rulesOf(folder)) {
      if (!rule.matches(file, now)) continue;
      (out ??= []).push(rule);
      if (rule.stop) break;
    }
    return out ?? NONE;
  }
}
