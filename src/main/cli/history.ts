import type { FerryConfig } from '../../shared/config';
import { csvHeader, csvRows } from '../../shared/historyCsv';
import { TRANSFER_OUTCOMES, type HistoryEntry, type TransferOutcome } from '../../shared/models';
import type { HistoryQuery } from '../engine/store/historyStore';
import { EXIT, ExitError } from './exit';
import { bytes, count } from './format';
import { parseSince, SINCE_FORMS } from './sinceTime';

export type HistoryOptions = {
  destination?: string;
  outcome?: string;
  since?: string;
  search?: string;
};

type Filters = Omit<HistoryQuery, 'offset' | 'limit'>;

/**
 * The filters of `ferry history` as the `history:query` request takes them; a value that names
 * nothing is refused with what it may be (exit 2). `knownDestination` says whether an id not in the
 * config still has history (a destination removed since).
 */
export function historyFilters(
  cfg: FerryConfig,
  opts: HistoryOptions,
  knownDestination: (id: string) => boolean,
  now = new Date(),
): Filters {
  const q: Filters = {};
  if (opts.outcome !== undefined) {
    if (!(TRANSFER_OUTCOMES as readonly string[]).includes(opts.outcome))
      throw new ExitError(
        EXIT.usage,
        `--outcome "${opts.outcome}" is not an outcome; use one of ${TRANSFER_OUTCOMES.join(', ')}`,
      );
    q.outcome = opts.outcome as TransferOutcome;
  }
  if (opts.since !== undefined) {
    const at = parseSince(opts.since, now);
    if (at === undefined) throw new ExitError(EXIT.usage, `--since "${opts.since}" is not a time; give ${SINCE_FORMS}`);
    q.from = at;
  }
  if (opts.destination !== undefined) {
    if (!cfg.destinations.some((d) => d.id === opts.destination) && !knownDestination(opts.destination))
      throw new ExitError(
        EXIT.usage,
        `--destination "${opts.destination}": no such destination in the config or the history (destinations: ${cfg.destinations.map((d) => d.id).join(', ') || 'none'})`,
      );
    q.destination = opts.destination;
  }
  if (opts.search !== undefined && opts.search.trim() !== '') q.search = opts.search.trim();
  return q;
}

function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Aligned lines for a terminal: when, outcome, what, size, where; a failure's reason on the next line. */
export function historyText(items: readonly HistoryEntry[], total: number): string {
  if (items.length === 0) return 'No transfers match.\n';
  const where = (r: HistoryEntry) => r.destination ?? 'this computer';
  const wWhere = Math.min(24, Math.max(11, ...items.map((r) => where(r).length)));
  const wKind = Math.max(4, ...items.map((r) => r.kind.length));
  const lines = [
    `${'WHEN'.padEnd(19)}  ${'OUTCOME'.padEnd(9)}  ${'KIND'.padEnd(wKind)}  ${'SIZE'.padStart(9)}  ${'DESTINATION'.padEnd(wWhere)}  FILE`,
  ];
  for (const r of items) {
    const file = r.remotePath && r.remotePath !== r.path ? `${r.path} → ${r.remotePath}` : r.path;
    lines.push(
      `${localTime(r.at)}  ${r.outcome.padEnd(9)}  ${r.kind.padEnd(wKind)}  ${bytes(r.bytes).padStart(9)}  ${where(r).slice(0, wWhere).padEnd(wWhere)}  ${file}  (${r.rule})`,
    );
    if (r.error) lines.push(`${' '.repeat(21)}${r.error.message}${r.error.hint ? ` — ${r.error.hint}` : ''}`);
  }
  lines.push(`${count(total)} transfer${total === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export function historyJson(items: readonly HistoryEntry[]): string {
  return `${JSON.stringify(items, null, 2)}\n`;
}

/** The window's CSV export, byte for byte (src/shared/historyCsv.ts). */
export function historyCsv(items: readonly HistoryEntry[]): string {
  return csvHeader() + csvRows(items);
}
