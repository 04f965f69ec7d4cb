const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/**
 * 1_234_000 → "1.2 MB" (decimal units, as file managers show sizes); with `digits: 3`, "1.23 MB" (the
 * terminal's live line, where a tenth of a megabyte is worth seeing move). Every face says sizes alike.
 */
export function formatBytes(n: number, digits: 2 | 3 = 2): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  const places = digits === 3 ? (v < 10 ? 2 : v < 100 ? 1 : 0) : v < 10 ? 1 : 0;
  return `${v.toFixed(places)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}
