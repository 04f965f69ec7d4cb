/**
 * `settings.bandwidth_schedule`: rclone's `--bwlimit` timetable (rclone.org/docs/#bwlimit-bandwidth-spec),
 * so that a line copied from an rclone command means the same here:
 *
 * - one limit for all times: `10M`, `off`, or upload:download `1M:512k`;
 * - a timetable of `HH:MM,LIMIT` (every day) or `Day-HH:MM,LIMIT` (`Mon`…`Sun`, or the full name),
 *   entries separated by spaces or `;`: `"08:00,512k 12:00,10M 18:00,30M 23:00,off"`. A limit holds
 *   from its time until the next entry's, the last one of the week wrapping round to the first.
 *
 * Sizes are binary as rclone reads them: a bare number is KiB/s, suffixes B, K, M, G, T, P (`k` = `K`,
 * an optional `i`/`iB` after them), fractions allowed; `off` (or 0) is no limit.
 */

export type Limit = {
  /** Bytes per second; 0 = no limit. */
  up: number;
  down: number;
};

export type ScheduleEntry = {
  /** 0 = Sunday … 6 = Saturday, as Date.getDay(). */
  day: number;
  /** Minutes from that day's midnight. */
  minute: number;
  limit: Limit;
};

/** Entries sorted by their minute of the week; a single limit is one entry at Sunday 00:00. */
export type BandwidthSchedule = { entries: ScheduleEntry[] };

export type InForce = {
  limit: Limit;
  /** The entry that set it; undefined for a schedule of one limit. */
  since: ScheduleEntry | undefined;
  /** When the limit next changes (local time); undefined when it never does. */
  until: Date | undefined;
};

export class ScheduleError extends Error {}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
export const DAY_LABELS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const UNIT: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const WEEK = 7 * 24 * 60;

function parseRate(text: string, where: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'off') return 0;
  const m = /^(\d+(?:\.\d+)?)(?:(b)|([kmgtp])(?:ib?|b)?)?$/.exec(t);
  if (!m)
    throw new ScheduleError(`${where}"${text}" is not a limit: write a number with a unit (512k, 10M, 1.5G) or off`);
  const unit = m[2] ?? m[3] ?? 'k';
  return Math.round(Number(m[1]) * (UNIT[unit] as number));
}

function parseLimit(text: string, where = ''): Limit {
  const parts = text.split(':');
  if (parts.length > 2 || text === '')
    throw new ScheduleError(`${where}"${text}" is not a limit: write one (10M) or upload:download (1M:512k)`);
  const up = parseRate(parts[0] as string, where);
  return { up, down: parts.length === 2 ? parseRate(parts[1] as string, where) : up };
}

function parseTime(text: string, entry: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (!m || h > 23 || min > 59)
    throw new ScheduleError(`"${entry}": "${text}" is not a time of day; write HH:MM, 00:00 to 23:59`);
  return h * 60 + min;
}

function parseDay(text: string, entry: string): number {
  const t = text.toLowerCase();
  const i = DAYS.indexOf(t as (typeof DAYS)[number]);
  const j = DAY_NAMES.indexOf(t);
  if (i < 0 && j < 0)
    throw new ScheduleError(`"${entry}": "${text}" is not a day; write Mon, Tue, Wed, Thu, Fri, Sat or Sun`);
  return i >= 0 ? i : j;
}

/** Parses the schedule; a ScheduleError names the entry and what is wrong with it. */
export function parseBandwidthSchedule(text: string): BandwidthSchedule {
  const s = text.trim();
  if (s === '')
    throw new ScheduleError('the schedule is empty: write a limit (10M), or times and limits ("08:00,2M 18:00,off")');
  const tokens = s.split(/[\s;]+/).filter((t) => t !== '');
  const lone = tokens.length === 1 && !s.includes(',');
  // rclone would read "08:00" as upload 8 KiB/s, download 0: it is a time without its limit.
  if (lone && /^(\w+-)?\d{1,2}:\d{2}$/.test(s))
    throw new ScheduleError(`"${s}" is a time without a limit: write TIME,LIMIT ("08:00,2M"), or a limit alone (10M)`);
  if (lone) return { entries: [{ day: 0, minute: 0, limit: parseLimit(tokens[0] as string) }] };
  const byMinute = new Map<number, ScheduleEntry>();
  for (const tok of tokens) {
    const parts = tok.split(',');
    if (parts.length !== 2)
      throw new ScheduleError(
        `"${tok}" is not a schedule entry: write TIME,LIMIT ("08:00,2M") or DAY-TIME,LIMIT ("Mon-08:00,2M")`,
      );
    const [when, limitText] = parts as [string, string];
    const limit = parseLimit(limitText, `"${tok}": `);
    const dash = when.indexOf('-');
    if (dash < 0) {
      const minute = parseTime(when, tok);
      for (let day = 0; day < 7; day++) byMinute.set(day * 24 * 60 + minute, { day, minute, limit });
    } else {
      const day = parseDay(when.slice(0, dash), tok);
      const minute = parseTime(when.slice(dash + 1), tok);
      byMinute.set(day * 24 * 60 + minute, { day, minute, limit });
    }
  }
  // An entry for a given day and time written twice: the later one wins, as a person reads a list.
  return { entries: [...byMinute.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e) };
}

/** The schedule's problem in a sentence, or undefined when it parses. */
export function bandwidthScheduleProblem(text: string): string | undefined {
  try {
    parseBandwidthSchedule(text);
    return undefined;
  } catch (err) {
    if (err instanceof ScheduleError) return err.message;
    throw err;
  }
}

const weekMinute = (e: Pick<ScheduleEntry, 'day' | 'minute'>) => e.day * 24 * 60 + e.minute;

/** The limit in force at `at` (local time) and when it next changes to another one. */
export function limitAt(schedule: BandwidthSchedule, at: Date): InForce {
  const entries = schedule.entries;
  const first = entries[0];
  if (!first) return { limit: { up: 0, down: 0 }, since: undefined, until: undefined };
  if (entries.length === 1) return { limit: first.limit, since: undefined, until: undefined };
  const now = at.getDay() * 24 * 60 + at.getHours() * 60 + at.getMinutes();
  let idx = -1;
  for (let i = 0; i < entries.length; i++) if (weekMinute(entries[i] as ScheduleEntry) <= now) idx = i;
  // Before the week's first entry, the week's last one still holds (it wraps round).
  if (idx < 0) idx = entries.length - 1;
  const current = entries[idx] as ScheduleEntry;
  // The next entry that changes something (a daily entry repeats its limit on each day).
  let ahead: number | undefined;
  for (let k = 1; k < entries.length; k++) {
    const e = entries[(idx + k) % entries.length] as ScheduleEntry;
    if (e.limit.up === current.limit.up && e.limit.down === current.limit.down) continue;
    ahead = (weekMinute(e) - now + WEEK) % WEEK || WEEK;
    break;
  }
  const until =
    ahead === undefined
      ? undefined
      : new Date(at.getFullYear(), at.getMonth(), at.getDate(), at.getHours(), at.getMinutes() + ahead);
  return { limit: current.limit, since: current, until };
}

/** Bytes per second as rclone writes them (binary units): 0 is "off". */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond <= 0) return 'off';
  for (const [u, n] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['k', 1024],
  ] as const)
    if (bytesPerSecond >= n) {
      const v = bytesPerSecond / n;
      return `${Number.isInteger(v) ? v : v.toFixed(v < 10 ? 2 : 1)}${u}`;
    }
  return `${bytesPerSecond}B`;
}

/** A limit in words for the window and the status: "up 2M/s, down off". */
export function describeLimit(l: Limit): string {
  if (l.up === 0 && l.down === 0) return 'no limit';
  if (l.up === l.down) return `${formatRate(l.up)}/s each way`;
  return `up ${l.up === 0 ? 'no limit' : `${formatRate(l.up)}/s`}, down ${l.down === 0 ? 'no limit' : `${formatRate(l.down)}/s`}`;
}

/** A limit as the timetable writes it: `2M`, `1M:256k`, `off`. */
export function limitText(l: Limit): string {
  return l.up === l.down ? formatRate(l.up) : `${formatRate(l.up)}:${formatRate(l.down)}`;
}

/** Days in the order a week reads in the window (Monday first); Date.getDay() numbers. */
export const WEEK_DAYS = [1, 2, 3, 4, 5, 6, 0] as const;

/** The limit at the start of each hour of the week, by `WEEK_DAYS` row and hour. */
export function hourGrid(schedule: BandwidthSchedule): Limit[][] {
  // Any week: only its days and hours matter (2026-01-05 is a Monday).
  return WEEK_DAYS.map((day) =>
    Array.from({ length: 24 }, (_, h) => limitAt(schedule, new Date(2026, 0, 4 + (day === 0 ? 7 : day), h)).limit),
  );
}

/**
 * The timetable for a week of hourly limits (the window's painted grid): an entry where the limit
 * changes, `Day-HH:00,LIMIT`; one limit for the whole week is written alone (`off` → empty: none).
 */
export function scheduleFromGrid(grid: readonly (readonly Limit[])[]): string {
  const cells = WEEK_DAYS.flatMap((day, row) => (grid[row] ?? []).map((limit, hour) => ({ day, hour, limit })));
  const same = (a: Limit, b: Limit) => a.up === b.up && a.down === b.down;
  const first = cells[0];
  if (!first) return '';
  if (cells.every((c) => same(c.limit, first.limit)))
    return first.limit.up === 0 && first.limit.down === 0 ? '' : limitText(first.limit);
  const entries: string[] = [];
  cells.forEach((c, i) => {
    const prev = cells[(i + cells.length - 1) % cells.length] as (typeof cells)[number];
    if (!same(prev.limit, c.limit))
      entries.push(`${DAY_LABELS[c.day]}-${String(c.hour).padStart(2, '0')}:00,${limitText(c.limit)}`);
  });
  return entries.join(' ');
}
