// Words and numbers for the tray and the notifications (the window's lib/format.ts reads the same way).

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1_234_000 → "1.2 MB" (decimal units, as file managers show sizes). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

/** 1 → "1 file", 1500 → "1,500 files". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** An id or a name as the person typed it, set apart from the sentence around it. */
export function quoted(name: string): string {
  return `“${name}”`;
}

/** Keeps both ends of a long name: "a-very-long-rep…-final.pdf". */
export function middleTruncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}

/** Cuts a sentence to `max` characters, with an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
