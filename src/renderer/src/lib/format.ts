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

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** Today's times as a time, older ones with their date. */
export function formatWhen(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'never';
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
