/**
 * File names that are not UTF-8 (`caf\xe9.txt` from a Latin-1 archive): POSIX names are bytes, and
 * Node's string paths cannot reach such a file (the decoder swaps each bad byte for U+FFFD).
 *
 * Inside Ferry such a name is a string in which every byte that is not part of valid UTF-8 is the
 * lone surrogate U+DC80 + byte (Python's "surrogateescape"). The mapping is reversible and cannot
 * collide with a real name: decoding valid UTF-8 never yields a lone surrogate. `fsPath` turns the
 * string back into the exact bytes for the file system; destinations that hold names as Unicode text
 * cannot hold it and refuse it by name (`shownName` writes the bytes as `\xe9`).
 */

const strict = new TextDecoder('utf-8', { fatal: true });
const LONE = /\p{Surrogate}/u;
const ESCAPE_BASE = 0xdc00;

/** Whether a name or path holds bytes that are not UTF-8. */
export function hasRawBytes(s: string): boolean {
  return LONE.test(s);
}

function continuation(buf: Uint8Array, i: number, lo = 0x80, hi = 0xbf): boolean {
  const b = buf[i];
  return b !== undefined && b >= lo && b <= hi;
}

/** The length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
function sequenceAt(buf: Uint8Array, i: number): number {
  const b = buf[i] as number;
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return continuation(buf, i + 1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return continuation(buf, i + 1, lo, hi) && continuation(buf, i + 2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return continuation(buf, i + 1, lo, hi) && continuation(buf, i + 2) && continuation(buf, i + 3) ? 4 : 0;
  }
  return 0;
}

/** A name as the file system gave it (bytes) → Ferry's string for it (see above). */
export function nameFromBytes(buf: Uint8Array): string {
  try {
    return strict.decode(buf);
  } catch {
    let out = '';
    let run = 0;
    const flush = (end: number) => {
      if (end > run) out += strict.decode(buf.subarray(run, end));
    };
    for (let i = 0; i < buf.length;) {
      const n = sequenceAt(buf, i);
      if (n > 0) {
        i += n;
        continue;
      }
      flush(i);
      out += String.fromCharCode(ESCAPE_BASE + (buf[i] as number));
      i++;
      run = i;
    }
    flush(buf.length);
    return out;
  }
}

/** Ferry's string for a name or path → what to hand to `fs`: the string itself, or the exact bytes. */
export function fsPath(s: string): string | Buffer {
  if (!hasRawBytes(s)) return s;
  const parts: Buffer[] = [];
  let text = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xff) {
      if (text !== '') parts.push(Buffer.from(text, 'utf8'));
      text = '';
      parts.push(Buffer.of(c - ESCAPE_BASE));
    } else text += ch;
  }
  if (text !== '') parts.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(parts);
}

/** The length of a name in bytes, as the file system counts it. */
export function nameBytes(s: string): number {
  const p = fsPath(s);
  return typeof p === 'string' ? Buffer.byteLength(p) : p.length;
}

/** A name for people: raw bytes written `\xe9`, the rest as it is. */
export function shownName(s: string): string {
  if (!hasRawBytes(s)) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out +=
      ch.length === 1 && c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xff
        ? `\\x${(c - ESCAPE_BASE).toString(16)}`
        : ch;
  }
  return out;
}

// SQLite keeps text as UTF-8, which has no lone surrogates (they would come back as U+FFFD): in the
// state database a raw byte is written U+FFFF + two hex digits, and a U+FFFF (a noncharacter, which
// no real name holds) U+FFFF + "00". NUL is left alone: job keys use it as a separator.
const MARK = '\uffff';

/** A string as the state database keeps it. */
export function toDbText(s: string): string {
  if (!hasRawBytes(s) && !s.includes(MARK)) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === MARK) out += `${MARK}00`;
    else if (ch.length === 1 && c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xff)
      out += `${MARK}${(c - ESCAPE_BASE).toString(16)}`;
    else out += ch;
  }
  return out;
}

/** The string `toDbText` kept. */
export function fromDbText(s: string): string {
  if (!s.includes(MARK)) return s;
  let out = '';
  let from = 0;
  for (let i = s.indexOf(MARK); i !== -1; i = s.indexOf(MARK, from)) {
    const hex = s.slice(i + 1, i + 3);
    if (!/^(00|[89a-f][0-9a-f])$/.test(hex)) {
      out += s.slice(from, i + 1);
      from = i + 1;
      continue;
    }
    const b = parseInt(hex, 16);
    out += s.slice(from, i) + (b === 0 ? MARK : String.fromCharCode(ESCAPE_BASE + b));
    from = i + 3;
  }
  return out + s.slice(from);
}
