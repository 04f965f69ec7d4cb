import type { FerryConfig, RuleConfig } from '../../shared/config';
import type { LocalFile } from '../../shared/models';
import { previewRule } from '../engine/rules/preview';
import type { Prepared } from '../engine/sync/syncRun';
import { count } from './format';
import { planLines } from './summary';

const LISTED = 200;

/**
 * `ferry plan`: the actions, the problems, and the files no rule catches; with a rule, only that
 * rule's actions and, from the same scan, every file it catches and where it would land.
 */
export function planReport(
  cfg: FerryConfig,
  prepared: Prepared,
  only: RuleConfig | undefined,
): { lines: string[]; json: unknown } {
  const { plan } = prepared;
  const actions = only ? plan.actions.filter((a) => a.rule === only.name) : plan.actions;
  const problems = only ? plan.problems.filter((p) => p.rule === only.name) : plan.problems;
  const belowQuorum = only ? plan.belowQuorum.filter((b) => b.rule === only.name) : plan.belowQuorum;
  const preview = only
    ? previewRule({
        rules: cfg.rules,
        draft: only,
        folders: new Map<string, ReadonlyMap<string, LocalFile>>([...prepared.scans].map(([id, s]) => [id, s.files])),
        now: Date.now(),
        limit: Number.MAX_SAFE_INTEGER,
        caught: plan.caught,
      })
    : undefined;

  const lines = planLines({ ...plan, actions, problems });
  for (const d of prepared.destinationErrors) lines.push(`✗ destination ${d.destination}: ${d.error.message}`);
  if (only && preview) {
    lines.push('', `Rule "${only.name}" catches ${count(preview.total)} file(s):`);
    for (const m of preview.matches.slice(0, LISTED))
      lines.push(
        `  ${m.folder}/${m.path} → ${only.to.map((d) => `${d}:${m.remotePath}`).join(', ')}${m.also.length > 0 ? `  (also: ${m.also.join(', ')})` : ''}`,
      );
    if (preview.total > LISTED) lines.push(`  … and ${count(preview.total - LISTED)} more (--json lists them all)`);
    if (preview.shadowed.count > 0)
      lines.push(
        `${count(preview.shadowed.count)} file(s) it would catch go no further than an earlier rule with stop: ${preview.shadowed.sample
          .slice(0, 5)
          .map((s) => `${s.folder}/${s.path} (by "${s.by}")`)
          .join(', ')}`,
      );
    if (preview.collisions.count > 0)
      lines.push(
        `✗ ${count(preview.collisions.count)} name collision(s): ${preview.collisions.sample
          .slice(0, 5)
          .map((c) => `${c.paths.join(' and ')} → ${c.remotePath}`)
          .join('; ')}`,
      );
  }
  for (const b of belowQuorum.slice(0, LISTED))
    lines.push(`below quorum  ${b.folder}/${b.path}: ${b.copies} of ${b.needed} verified copies (rule "${b.rule}")`);
  if (plan.uncaught.length > 0) {
    lines.push('', `${count(plan.uncaught.length)} file(s) no rule catches (left alone):`);
    for (const u of plan.uncaught.slice(0, LISTED)) lines.push(`  ${u.folder}/${u.path}`);
    if (plan.uncaught.length > LISTED)
      lines.push(`  … and ${count(plan.uncaught.length - LISTED)} more (--json lists them all)`);
  }
  lines.push(
    `${count(actions.length)} action(s), ${count(plan.inSync)} file(s) already in place, ${count(plan.unmatched)} caught by no rule.`,
  );

  const json = {
    ...(only ? { rule: only.name, preview } : {}),
    actions,
    problems,
    inSync: plan.inSync,
    unmatched: plan.unmatched,
    uncaught: plan.uncaught,
    belowQuorum: belowQuorum.map(({ rule, folder, path, copies, needed }) => ({ rule, folder, path, copies, needed })),
    destinationErrors: prepared.destinationErrors,
  };
  return { lines, json };
}
