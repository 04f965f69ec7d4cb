import type { HistoryEntry } from './models';

const HEADER = [
  'time',
  'outcome',
  'kind',
  'rule',
  'destination',
  'folder',
  'path',
  'remote_path',
  'bytes',
  'duration_ms',
  'tags',
  'error',
];

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled. */
function cell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${HEADER.join(',')}\r\n`;
}

export function csvRows(rows: readonly HistoryEntry[]): string {
  return rows
    .map(
      (r) =>
        [
          new Date(r.at).toISOString(),
          r.outcome,
          r.kind,
          r.rule,
          r.destination,
          r.folder,
          r.path,
          r.remotePath,
          r.bytes,
          r.durationMs,
          r.tags.join(' '),
          r.error?.message ?? null,
        ]
          .map(cell)
          .join(',') + '\r\n',
    )
    .join('');
}
