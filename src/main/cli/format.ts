import { formatBytes } from '../../shared/units';

/** Sizes for the terminal: three significant figures (whole bytes: a rate is rarely one). */
export function bytes(n: number): string {
  return formatBytes(n, 3);
}

/** Human-readable durations and counts for the terminal. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
