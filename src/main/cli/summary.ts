import { isBlockingProblem, type Plan, type PlanProblem } from '../engine/plan/planner';
import type { SyncSummary } from '../engine/sync/syncRun';
import { bytes, count } from './format';

export function describeProblem(p: PlanProblem): string {
  switch (p.kind) {
    case 'collision':
      return `rule "${p.rule}": ${p.folder}/${p.path} would land on ${p.destination}:${p.remotePath}, already taken by ${p.takenBy} — nothing was overwritten; change one rule's path template`;
    case 'delete-brake':
      return `rule "${p.rule}": would delete ${count(p.deletes)} of ${count(p.total)} files on ${p.destination}${p.earlier ? `, after ${count(p.earlier)} deleted since deletions were last confirmed` : ''} — stopped to be safe; if that is what you want, run again with --confirm-deletes`;
    case 'deletes-withheld':
      return `rule "${p.rule}": no deletions from folder ${p.folder}: ${p.reason}`;
    case 'left-behind':
      return `rule "${p.rule}": ${count(p.count)} file(s) on ${p.destination} came from files that still exist but that the rule no longer sends there (e.g. ${p.sample.slice(0, 3).join(', ')}) — kept; run with --confirm-deletes to remove them`;
    case 'two-way':
      return `rule "${p.rule}": ${p.path ? `${p.path}: ` : ''}${p.message}`;
  }
}

export function planLines(plan: Plan): string[] {
  const lines = plan.actions.map((a) => {
    const local = a.kind === 'delete-local' || a.kind === 'trash-local' || a.kind === 'move-local';
    const where = a.destination && !local ? `${a.destination}:${a.remotePath}` : `${a.folder}/${a.path}`;
    const from = a.kind === 'upload' ? `${a.folder}/${a.path} → ` : a.fromRemotePath ? `${a.fromRemotePath} → ` : '';
    return `${a.kind.padEnd(13)} ${from}${where}  (${a.reason}${a.kind === 'upload' ? `, ${bytes(a.size)}` : ''})`;
  });
  for (const p of plan.problems) lines.push(`problem       ${describeProblem(p)}`);
  return lines;
}

/** The closing report of `ferry sync`: what was done, and each failure with what to do about it. */
export function summaryLines(s: SyncSummary): string[] {
  const lines: string[] = [];
  const { done, skipped, failed, bytes: sent } = s.stats;
  lines.push(
    `${s.ok ? 'Done' : 'Incomplete'}: ${count(done)} action${done === 1 ? '' : 's'} done (${bytes(sent)} sent), ${count(s.plan.inSync)} already in place, ${count(skipped)} skipped, ${count(failed)} failed.`,
  );
  if (s.cleanedPartials > 0)
    lines.push(`Removed ${count(s.cleanedPartials)} partial file(s) left by an interrupted run.`);
  for (const d of s.destinationErrors)
    lines.push(`✗ destination ${d.destination}: ${d.error.message}${d.error.hint ? ` — ${d.error.hint}` : ''}`);
  for (const i of s.blockingIssues) lines.push(`✗ ${i.folder}/${i.path}: ${i.message}`);
  for (const p of s.plan.problems) lines.push(`${isBlockingProblem(p) ? '✗' : '!'} ${describeProblem(p)}`);
  const shown = s.failures.slice(0, 50);
  for (const f of shown)
    lines.push(
      `✗ ${f.kind} ${f.folder}/${f.path}${f.destination ? ` → ${f.destination}:${f.remotePath}` : ''}: ${f.error.message}${f.error.hint ? ` — ${f.error.hint}` : ''}`,
    );
  if (s.failures.length > shown.length)
    lines.push(`… and ${count(s.failures.length - shown.length)} more failures (ferry history lists them all)`);
  for (const b of s.belowQuorum.slice(0, 50))
    lines.push(
      `! ${b.folder}/${b.path}: ${b.copies} of ${b.needed} verified copies (rule "${b.rule}"): kept until enough destinations hold it`,
    );
  if (s.plan.unmatched > 0)
    lines.push(`${count(s.plan.unmatched)} file(s) matched no rule and were left alone (ferry plan lists them).`);
  return lines;
}

export function summaryJson(s: SyncSummary) {
  return {
    ok: s.ok,
    stats: s.stats,
    inSync: s.plan.inSync,
    unmatched: s.plan.unmatched,
    uncaught: s.plan.uncaught,
    belowQuorum: s.belowQuorum.length,
    cleanedPartials: s.cleanedPartials,
    destinationErrors: s.destinationErrors,
    scanIssues: [...s.scans.values()].flatMap((x) => x.issues),
    problems: s.plan.problems,
    failures: s.failures,
  };
}
