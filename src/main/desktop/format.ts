// Words and numbers for the tray and the notifications (the window's lib/format.ts reads the same way).

export { formatBytes, formatRate } from '../../shared/units';

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
