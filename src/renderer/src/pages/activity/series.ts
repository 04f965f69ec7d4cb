import type { ActivityRow } from '../../../../shared/contract';

export type Bucket = 'day' | 'week' | 'month';
export type ChartRow = { bucket: string; label: string } & Record<string, number | string>;

const pad = (n: number) => String(n).padStart(2, '0');

/** SQLite's %W: the week of the year, weeks starting on Monday, days before the first Monday in week 0. */
function sqliteWeek(d: Date): string {
  const jan1 = new Date(d.getFullYear(), 0, 1);
  const dayOfYear = Math.round((d.getTime() - jan1.getTime()) / 86_400_000);
  const daysSinceMonday = (d.getDay() + 6) % 7;
  return `${d.getFullYear()}-W${pad(Math.floor((dayOfYear + 7 - daysSinceMonday) / 7))}`;
}

/** The bucket key the engine uses for a local date (activity:aggregate with the viewer's UTC offset). */
export function bucketKey(d: Date, bucket: Bucket): string {
  if (bucket === 'month') return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
  if (bucket === 'week') return sqliteWeek(d);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// "Dec 2026", never "Dec 26": a two-digit year reads as the day of the month.
const monthName = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric' });
const dayName = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** The last `count` buckets up to `now`, oldest first, each with its key and a label for the axis. */
export function lastBuckets(now: Date, bucket: Bucket, count: number): { key: string; label: string; start: Date }[] {
  const out: { key: string; label: string; start: Date }[] = [];
  for (let i = count - 1; i >= 0; i--) {
    let d: Date;
    if (bucket === 'month') d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    else if (bucket === 'week') {
      const monday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - ((now.getDay() + 6) % 7));
      d = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() - 7 * i);
    } else d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - i);
    const label =
      bucket === 'month' ? monthName.format(d) : bucket === 'week' ? `wk of ${dayName.format(d)}` : dayName.format(d);
    out.push({ key: bucketKey(d, bucket), label, start: d });
  }
  return out;
}

/**
 * Rows for a stacked chart: one per bucket (empty buckets included, so gaps show as gaps), one numeric
 * column per destination. A week that straddles New Year has two keys in SQLite's numbering: both count.
 */
export function toChartRows(
  rows: readonly ActivityRow[],
  buckets: readonly { key: string; label: string; start: Date }[],
  metric: 'files' | 'bytes',
  bucket: Bucket,
): { data: ChartRow[]; destinations: string[] } {
  const destinations = [...new Set(rows.map((r) => r.destination ?? 'source'))].sort();
  const byKey = new Map<string, ChartRow>();
  const data = buckets.map((b) => {
    const row: ChartRow = { bucket: b.key, label: b.label };
    for (const d of destinations) row[d] = 0;
    byKey.set(b.key, row);
    if (bucket === 'week') {
      // The days of this week that fall in the next year are keyed as that year's week 00.
      const sunday = new Date(b.start.getFullYear(), b.start.getMonth(), b.start.getDate() + 6);
      if (sunday.getFullYear() !== b.start.getFullYear()) byKey.set(bucketKey(sunday, 'week'), row);
    }
    return row;
  });
  for (const r of rows) {
    const row = byKey.get(r.bucket);
    if (!row) continue;
    const d = r.destination ?? 'source';
    row[d] = (row[d] as number) + (metric === 'files' ? r.files : r.bytes);
  }
  return { data, destinations };
}
