import type { StatusResult } from './contract';
import { parseBrakeSite } from './models';

/** Something only the person can settle; each one is a badge in the sidebar and the tray. */
export type Need = {
  kind: 'folder' | 'destination' | 'held-deletions' | 'left-behind' | 'failed' | 'engine';
  /** What it is about: a folder or destination id, a rule name. */
  subject: string;
  /** A clause that completes "Waiting for you: …". */
  text: string;
  /** Where in the window it is settled. */
  href: string;
};

/** How the whole stands, most pressing first: the status sentence's colour and the tray's icon. */
export type HealthLevel = 'attention' | 'paused' | 'busy' | 'warn' | 'ok';

/** The facts the verdict is derived from: all of them, so that "safe" is never said over a problem. */
export type HealthFacts = Omit<StatusResult, 'summary' | 'needs' | 'level' | 'progress' | 'bandwidth' | 'hold'> & {
  /** Why everything is paused without the person asking (on battery, a metered network). */
  hold?: string | null;
};

const n = (count: number, one: string, many = `${one}s`): string =>
  `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;

/** Everything that waits for the person, in the order the status sentence names them. */
export function needsOf(s: HealthFacts): Need[] {
  const needs: Need[] = [];
  for (const d of s.destinations)
    if (d.used && !d.ok && d.error !== null)
      needs.push({
        kind: 'destination',
        subject: d.id,
        text: `destination "${d.id}" is unavailable (${d.error})`,
        href: '#/destinations',
      });
  for (const f of s.folders)
    if (f.state === 'error')
      needs.push({
        kind: 'folder',
        subject: f.folder,
        text: `folder "${f.folder}": ${f.error ?? 'it cannot be read'}`,
        href: '#/folders',
      });
  for (const h of s.heldDeletions) {
    const site = parseBrakeSite(h.where);
    needs.push({
      kind: 'held-deletions',
      subject: h.rule,
      text: `rule "${h.rule}" would delete ${h.deletes} of ${h.total} files at ${site.kind === 'folder' ? `folder "${site.id}"` : site.id}; nothing is deleted until you confirm`,
      href: '#/status',
    });
  }
  for (const l of s.leftBehind)
    needs.push({
      kind: 'left-behind',
      subject: l.rule,
      text: `${n(l.count, 'copy', 'copies')} at ${l.destination} ${l.count === 1 ? 'was' : 'were'} left behind by a change of rule "${l.rule}" (kept until you remove them)`,
      href: '#/status',
    });
  if (s.queue.failed > 0)
    needs.push({
      kind: 'failed',
      subject: 'queue',
      text: `${n(s.queue.failed, 'transfer')} failed: see the queue for why, and retry`,
      href: '#/queue/failed',
    });
  if (s.state === 'error' && needs.length === 0)
    needs.push({ kind: 'engine', subject: 'engine', text: 'the sync stopped on an error', href: '#/status' });
  return needs;
}

export function levelOf(s: HealthFacts, needs: readonly Need[] = needsOf(s)): HealthLevel {
  if (needs.length > 0) return 'attention';
  if (s.state === 'paused') return 'paused';
  if (s.queue.pending + s.queue.active > 0 || s.state === 'syncing' || s.state === 'starting') return 'busy';
  if (s.belowQuorum.count > 0 || s.uncaught > 0) return 'warn';
  return 'ok';
}

/** The one sentence on whether everything is safe, derived from every folder, destination and problem. */
export function sentenceOf(s: HealthFacts, needs: readonly Need[] = needsOf(s)): string {
  const paused = s.state === 'paused' ? 'Paused, and waiting' : 'Waiting';
  const [first, second] = needs;
  if (first && !second) return `${paused} for you: ${first.text}.`;
  if (first && second) {
    const more = needs.length > 2 ? `; and ${needs.length - 2} more` : '';
    return `${paused} for you on ${needs.length} things: ${first.text}; ${second.text}${more}.`;
  }
  if (s.state === 'paused' && s.hold)
    return `Paused ${s.hold}: nothing is being shipped until that changes, or you resume.`;
  if (s.state === 'paused') return 'Paused: nothing is being shipped until you resume.';
  const toGo = s.queue.pending + s.queue.active;
  if (toGo > 0) return `Syncing: ${n(toGo, 'file')} to go.`;
  if (s.state === 'syncing' || s.state === 'starting') return 'Looking for changes…';
  if (s.belowQuorum.count > 0)
    return `${n(s.belowQuorum.count, 'file')} ${s.belowQuorum.count === 1 ? 'has' : 'have'} fewer verified copies than ${s.belowQuorum.count === 1 ? 'its rule requires' : 'their rule requires'} (safe_when): they stay in place until enough destinations hold them.`;
  if (s.uncaught > 0)
    return `Every file the rules catch is safe; ${n(s.uncaught, 'file')} ${s.uncaught === 1 ? 'is' : 'are'} caught by no rule and ${s.uncaught === 1 ? 'goes' : 'go'} nowhere.`;
  return 'Everything is safe: every folder is in sync with its destinations.';
}
