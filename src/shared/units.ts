const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1_234_000 → "1.2 MB" (decimal units, as file managers show sizes). The window and the tray say it alike. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}
