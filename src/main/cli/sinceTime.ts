const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** What `--since` takes, in the words its error message uses. */
export const SINCE_FORMS =
  'a date (2026-12-01), a date and time (2026-12-01 14:30, local time unless it ends in Z or +01:00), today, yesterday, or a span back from now (90m, 12h, 7d, 2w)';

/**
 * The instant `--since` names, in ms since the epoch, or undefined when it names none. Dates and times
 * without a zone are local, as the window's date filters are.
 */
export function parseSince(text: string, now: Date = new Date()): number | undefined {
  const t = text.trim().toLowerCase();
  const span = /^(\d+)\s*(m|h|d|w)$/.exec(t);
  if (span) return now.getTime() - Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS];
  if (t === 'today' || t === 'yesterday')
    return new Date(now.getFullYear(), now.getMonth(), now.getDate() - (t === 'yesterday' ? 1 : 0)).getTime();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(z|[+-]\d{2}:?\d{2})?)?$/.exec(
    t,
  );
  if (!m) return undefined;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1, 7) as (string | undefined)[];
  const n = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  // Date.UTC and new Date(...) roll 2026-02-30 over to March: such a date is refused, not moved.
  const probe = new Date(Date.UTC(n[0], n[1] - 1, n[2], n[3], n[4], n[5]));
  if (
    probe.getUTCFullYear() !== n[0] ||
    probe.getUTCMonth() !== n[1] - 1 ||
    probe.getUTCDate() !== n[2] ||
    n[3] > 23 ||
    n[4] > 59 ||
    n[5] > 59
  )
    return undefined;
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const zone = m[8];
  if (zone === undefined) return new Date(n[0], n[1] - 1, n[2], n[3], n[4], n[5], ms).getTime();
  if (zone === 'z') return probe.getTime() + ms;
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!z) return undefined;
  const offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  return probe.getTime() + ms - offsetMin * 60_000;
}
