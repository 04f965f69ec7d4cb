import { randomInt } from 'node:crypto';

export const SAMPLE_BLOCK = 64 * 1024;

/**
 * Keeps copies of a few ranges of the bytes as they are sent — the first and the last 64 KiB and one
 * random 64 KiB block (all of a file up to 192 KiB) — so that what the server then holds there can be
 * read back and compared. The server gives no hash of its own in that case: size plus these samples
 * is the verification (it catches truncation, framing and offset mistakes, not a flipped bit between).
 */
export class Sampler {
  readonly ranges: { start: number; bytes: Buffer }[];

  constructor(size: number) {
    const spans: [number, number][] = [];
    if (size <= 3 * SAMPLE_BLOCK) spans.push([0, size]);
    else {
      const r = randomInt(SAMPLE_BLOCK, size - 2 * SAMPLE_BLOCK + 1);
      spans.push([0, SAMPLE_BLOCK], [r, r + SAMPLE_BLOCK], [size - SAMPLE_BLOCK, size]);
    }
    this.ranges = spans.filter(([a, b]) => b > a).map(([a, b]) => ({ start: a, bytes: Buffer.alloc(b - a) }));
  }

  /** Copies whatever part of `chunk` (which starts at `pos`) falls inside a sampled range. */
  feed(chunk: Buffer, pos: number): void {
    const end = pos + chunk.length;
    for (const r of this.ranges) {
      const rEnd = r.start + r.bytes.length;
      const from = Math.max(pos, r.start);
      const to = Math.min(end, rEnd);
      if (to > from) chunk.copy(r.bytes, from - r.start, from - pos, to - pos);
    }
  }
}
