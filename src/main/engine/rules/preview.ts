import type { RuleConfig } from '../../../shared/config';
import type { PreviewResult } from '../../../shared/contract';
import type { LocalFile } from '../../../shared/models';
import { type FolderDispatch, targetPathOf } from '../plan/planner';
import { Dispatcher } from './dispatch';
import { compileRule, type CompiledRule } from './ruleMatcher';

/** Which saved rules caught each file at the last plan (used for a folder only if its file map is the one planned). */
export type CaughtCache = ReadonlyMap<string, FolderDispatch>;

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
  const taken = new Map<string, LocalFile>();

  for (const [folder, files] of input.folders) {
    const reads = draft.from.includes(folder);
    const planned = input.caught?.get(folder);
    const cached = planned?.files === files ? planned.lists : undefined;
    let i = -1;
    const after = savedDispatch.rulesOf(folder).filter((r) => (position.get(r.name) ?? 0) > k);
    const ctx = { k, position, now: input.now };
    for (const file of files.values()) {
      // `list`: the saved rules catching the file, in order, ending at the first `stop`.
      i++;
      const list = cached?.[i] ?? savedDispatch.catching(folder, file, input.now);
      const last = list.at(-1);
      const stoppedBy = last?.stop && (position.get(last.name) ?? 0) < k ? last : undefined;
      const hit = reads && draft.matches(file, input.now);
      const catches = hit && !stoppedBy;
      if (reads && draft.needsType && file.mime === undefined) out.untyped++;
      const old = replaced === -1 ? undefined : list.find((r) => r.name === draft.name);
      const others = () => othersOf(list, old, stoppedBy !== undefined || (catches && draft.stop), ctx, after, file);

      if (hit && stoppedBy) {
        out.shadowed.count++;
        if (out.shadowed.sample.length < SAMPLE)
          out.shadowed.sample.push({ folder, path: file.path, by: stoppedBy.name });
      }
      if (reads && !catches) out.unmatched++;
      if (!catches && stoppedBy === undefined && (old === undefined ? list.length : others().length) === 0) {
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
          out.collisions.sample.push({
            remotePath,
            paths: [`${owner.folder}/${owner.path}`, `${folder}/${file.path}`],
          });
      } else taken.set(remotePath, file);
      if (out.matches.length < input.limit)
        out.matches.push({
          folder,
          path: file.path,
          size: file.size,
          remotePath,
          also: others().map((r) => r.name),
        });
    }
  }
  return out;
}

/** The other rules that catch the file with the draft in place. */
function othersOf(
  list: readonly CompiledRule[],
  old: CompiledRule | undefined,
  cutAtDraft: boolean,
  ctx: { k: number; position: ReadonlyMap<string, number>; now: number },
  after: readonly CompiledRule[],
  file: LocalFile,
): readonly CompiledRule[] {
  if (cutAtDraft) return list.filter((r) => (ctx.position.get(r.name) ?? 0) < ctx.k);
  // The old rule in the draft's place stopped the dispatch: the rules after it were never asked.
  if (old?.stop) return [...list.filter((r) => r !== old), ...firstMatches(after, file, ctx.now)];
  return old ? list.filter((r) => r !== old) : list;
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
