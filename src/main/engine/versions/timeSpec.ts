const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/**
 * A moment as a person writes it: ISO 8601 (`2026-12-07T18:15:00Z`, `2026-12-07 18:15`, local time
 * without a zone) or `N units ago` (`2 hours ago`, `an hour ago`, `3 days ago`), or `now`.
 * Undefined when it is neither.
 */
export function parseMoment(text: string, now: number): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'now') return now;
  const ago = /^(\d+|an?|one)\s*(second|minute|hour|day|week)s?\s+ago$/.exec(t);
  if (ago) {
    const n = /^\d+$/.test(ago[1] as string) ? Number(ago[1]) : 1;
    return now - n * (UNIT_MS[ago[2] as string] as number);
  }
  if (!/^\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(z|[+-]\d{2}:?\d{2})?$/.test(t)) return undefined;
  const ms = Date.parse(text.trim().replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}
