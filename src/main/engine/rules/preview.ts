import type { RuleConfig } from '../../../shared/config';
import type { PreviewResult } from '../../../shared/contract';
import type { LocalFile } from '../../../shared/models';
import { targetPathOf } from '../plan/planner';
import { Dispatcher } from './dispatch';
import { compileRule, type CompiledRule } from './ruleMatcher';

/** Which saved rules caught each file at the last plan: folder → path → rules, in order. */
export type CaughtCache = ReadonlyMap<string, ReadonlyMap<string, readonly CompiledRule[]>>;

export type PreviewInput = {
  /** The saved rule set, in order. */
  rules: readonly RuleConfig[];
  /** Takes the place of the saved rule with its name, or comes last when it is new. */
  draft: RuleConfig;
  /** Every active folder's files, as the index knows them. */
  folders: ReadonlyMap<string, ReadonlyMap<string, LocalFile>>;
  now: number;
  limit: number;
  /** The last plan's dispatch of these very rules; saves evaluating every saved rule on every keystroke. */
  caught?: CaughtCache;
};

const SAMPLE = 50;

/**
 * What a draft rule would do, computed from the index alone: the files it catches and the remote path
 * each gets, the files an earlier `stop` rule keeps from it, two files it would send to one name, and
 * the files no rule would catch any more with the draft in place.
 */
export function previewRule(input: PreviewInput): PreviewResult {
  const saved = input.rules.map(compileRule);
  const draft = compileRule(input.draft);
  const replaced = saved.findIndex((r) => r.name === draft.name);
  const k = replaced === -1 ? saved.length : replaced;
  const position = new Map(saved.map((r, i) => [r.name, i]));
  const savedDispatch = new Dispatcher(saved);

  const out: PreviewResult = {
    matches: [],
    total: 0,
    unmatched: 0,
    shadowed: { count: 0, sample: [] },
    uncaught: { count: 0, sample: [] },
    collisions: { count: 0, sample: [] },
    untyped: 0,
  };
  const taken = new Map<string, string>();

  for (const [folder, files] of input.folders) {
    const reads = draft.from.includes(folder);
    const cached = input.caught?.get(folder);
    const after = savedDispatch.rulesOf(folder).filter((r) => (position.get(r.name) ?? 0) > k);
    for (const file of files.values()) {
      const before: CompiledRule[] = [];
      let later: CompiledRule[] = [];
      const list = cached?.get(file.path) ?? savedDispatch.catching(folder, file, input.now);
      for (const r of list) {
        const at = position.get(r.name) ?? 0;
        if (at < k) before.push(r);
        else if (at > k) later.push(r);
      }
      const stoppedBy = before.at(-1)?.stop ? before.at(-1) : undefined;
      const hit = reads && draft.matches(file, input.now);
      const catches = hit && !stoppedBy;
      if (reads && draft.needsType && file.mime === undefined) out.untyped++;
      // The old rule at the draft's place stopped the dispatch: what follows it was never asked.
      const oldStopped = replaced !== -1 && list.some((r) => r.name === draft.name && r.stop);
      if (stoppedBy || (catches && draft.stop)) later = [];
      else if (oldStopped) later = firstMatches(after, file, input.now);

      if (hit && stoppedBy) {
        out.shadowed.count++;
        if (out.shadowed.sample.length < SAMPLE)
          out.shadowed.sample.push({ folder, path: file.path, by: stoppedBy.name });
      }
      if (reads && !catches) out.unmatched++;
      if (!catches && before.length === 0 && later.length === 0) {
        out.uncaught.count++;
        if (out.uncaught.sample.length < SAMPLE) out.uncaught.sample.push({ folder, path: file.path });
      }
      if (!catches) continue;

      out.total++;
      let remotePath: string;
      try {
        remotePath = targetPathOf(draft, file);
      } catch (err) {
        remotePath = `(invalid: ${(err as Error).message})`;
      }
      const owner = taken.get(remotePath);
      if (owner !== undefined) {
        out.collisions.count++;
        if (out.collisions.sample.length < SAMPLE)
          out.collisions.sample.push({ remotePath, paths: [owner, `${folder}/${file.path}`] });
      } else taken.set(remotePath, `${folder}/${file.path}`);
      if (out.matches.length < input.limit)
        out.matches.push({
          folder,
          path: file.path,
          size: file.size,
          remotePath,
          also: [...before, ...later].map((r) => r.name),
        });
    }
  }
  return out;
}

function firstMatches(rules: readonly CompiledRule[], file: LocalFile, now: number): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const r of rules) {
    if (!r.matches(file, now)) continue;
    out.push(r);
    if (r.stop) break;
  }
  return out;
}
