import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One look at one file at the destination: its size, seen between `t0` and `t1` (ms, monotonic). */
type Look = { t0: number; t1: number; size: number };

/**
 * Watches what arrives in a local folder, file by file (by inode, so that a temporary file renamed
 * into place stays one file), by looking at every size every `everyMs`. Each look is timed around its
 * own stat call, not the sweep's, so a sweep slowed by a busy machine blurs nothing.
 */
export class ArrivalMeter {
  private readonly looks = new Map<string, Look[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly everyMs = 100,
  ) {}

  start(): void {
    const tick = () => {
      this.sweep(this.dir);
      this.timer = setTimeout(tick, this.everyMs);
    };
    tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.sweep(this.dir);
  }

  /** Bytes seen so far (each file at its largest). */
  get bytes(): number {
    let n = 0;
    for (const l of this.looks.values()) n += l.at(-1)?.size ?? 0;
    return n;
  }

  /** From the first byte seen to the last file's last growth (ms): the time the copying took. */
  activeSpanMs(): number {
    let first = Infinity;
    let last = -Infinity;
    for (const l of this.looks.values()) {
      const firstByte = l.find((x) => x.size > 0);
      if (firstByte) first = Math.min(first, firstByte.t0);
      const top = l.at(-1)?.size ?? 0;
      const reached = l.find((x) => x.size === top);
      if (reached) last = Math.max(last, reached.t1);
    }
    return Math.max(0, last - first);
  }

  private sweep(dir: string): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        const t0 = performance.now();
        const st = lstatSync(path, { bigint: true });
        const t1 = performance.now();
        if (st.isDirectory()) {
          this.sweep(path);
          continue;
        }
        if (!st.isFile()) continue;
        const key = `${st.dev}:${st.ino}`;
        const seen = this.looks.get(key) ?? [];
        seen.push({ t0, t1, size: Number(st.size) });
        this.looks.set(key, seen);
      } catch {
        // renamed or removed between the listing and the look: the next sweep finds it
      }
    }
  }

  /**
   * The most that arrived in any window of about `windowMs` (from 80 % of it up to it), against the
   * cap: bytes seen to arrive between two looks at one file, both inside the window, summed over the
   * files. That undercounts (bytes before a file's first look in the window are not counted), never
   * overcounts, so a figure over 1 + tolerance is a cap that leaks, whatever the machine's load.
   * Returns the worst ratio of bytes to cap × window, how many windows were measured, and where
   * the worst began.
   */
  worstWindow(capBytesPerSec: number, windowMs: number): { ratio: number; windows: number; at: number } {
    const times = [...new Set([...this.looks.values()].flatMap((l) => l.map((x) => x.t0)))].sort((a, b) => a - b);
    let worst = { ratio: 0, windows: 0, at: 0 };
    for (const from of times) {
      const to = from + windowMs;
      let bytes = 0;
      let first = Infinity;
      let last = -Infinity;
      for (const l of this.looks.values()) {
        const inside = l.filter((x) => x.t0 >= from && x.t1 <= to);
        const a = inside[0];
        const b = inside.at(-1);
        if (!a || !b || a === b) continue;
        bytes += b.size - a.size;
        // The bytes arrived after the first look began and before the last one ended.
        first = Math.min(first, a.t0);
        last = Math.max(last, b.t1);
      }
      const span = last - first;
      if (span < windowMs * 0.8) continue;
      const ratio = bytes / ((capBytesPerSec * span) / 1000);
      worst =
        ratio > worst.ratio
          ? { ratio, windows: worst.windows + 1, at: from }
          : { ...worst, windows: worst.windows + 1 };
    }
    return worst;
  }
}
