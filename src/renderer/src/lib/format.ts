import { formatBytes } from '../../../shared/units';

export { formatBytes, formatRate } from '../../../shared/units';

/** 65_000 → "1 min 5 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(m / 60);
  return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** Time left for `bytes` at `rate`, or "—" when nothing moves. */
export function formatEta(bytes: number, rate: number): string {
  if (bytes <= 0) return 'done';
  if (rate <= 0) return '—';
  return formatDuration((bytes / rate) * 1000);
}

/** "20 s left" beside a running file; "verifying" once every byte is sent (never "done left"). */
export function formatTimeLeft(bytes: number, rate: number): string {
  if (bytes <= 0) return 'verifying';
  if (rate <= 0) return 'time left unknown';
  return `${formatEta(bytes, rate)} left`;
}

/**
 * The queue in one line, each figure once and only when it says something:
 * "4 running, 12 waiting · 800 MB to ship · 1 failed"; "nothing to ship".
 */
export function queueSentence(q: { pending: number; active: number; failed: number; bytesPending: number }): string {
  const moving = [
    q.active > 0 ? `${q.active.toLocaleString()} running` : '',
    q.pending > 0 ? `${q.pending.toLocaleString()} waiting` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const parts = [
    moving || 'nothing to ship',
    moving && q.bytesPending > 0 ? `${formatBytes(q.bytesPending)} to ship` : '',
    q.failed > 0 ? `${q.failed.toLocaleString()} failed` : '',
  ].filter(Boolean);
  const text = parts.join(' · ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** Today's times as a time, older ones with their date. */
export function formatWhen(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'never';
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

const dayOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** A moment as its date and its time, both always said (a list of past events spans days). */
export function formatDayAndTime(ms: number): { day: string; time: string } {
  const d = new Date(ms);
  return { day: dayOnly.format(d), time: timeOnly.format(d) };
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
