import { relative, sep } from 'node:path';
import { isTempName } from '../scan/ignoreRules';

export type AggregatorOptions = {
  /** Quiet time after the last event before a batch is handed over: writes must have settled. */
  settleMs: number;
  /** A batch is handed over at the latest this long after its first event, even if events go on. */
  maxDelayMs: number;
  /** Beyond this many distinct paths a batch asks for a full rescan of the folder instead. */
  maxPaths: number;
};

// 80 ms of quiet covers an editor's write-temp-then-rename and a burst of saves; a file that is still
// being written when it is read is caught anyway (its size or mtime moves) and read again later.
export const DEFAULT_AGGREGATOR: AggregatorOptions = { settleMs: 80, maxDelayMs: 2000, maxPaths: 2000 };

/** What changed in a folder, as hints: relative paths, or "everything" after an overflow. */
export type ChangeBatch = { folder: string; paths: Set<string>; full: boolean };

/**
 * Coalesces a folder's watcher events (a burst of saves, a `git checkout`, an editor's
 * write-temp-then-rename) into one batch once they have settled, so a burst costs one scan.
 */
export class ChangeAggregator {
  private paths = new Set<string>();
  private full = false;
  private first = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly folder: string,
    private readonly root: string,
    private readonly onBatch: (batch: ChangeBatch) => void,
    private readonly opts: AggregatorOptions = DEFAULT_AGGREGATOR,
    private readonly now: () => number = Date.now,
  ) {}

  add(absPaths: readonly string[]): void {
    for (const abs of absPaths) {
      const rel = relative(this.root, abs).split(sep).join('/');
      if (rel.startsWith('..')) continue;
      const name = rel.slice(rel.lastIndexOf('/') + 1);
      if (isTempName(name)) continue; // our own temporaries, when a destination sits inside a folder
      if (this.paths.size === 0 && !this.full) this.first = this.now();
      if (this.paths.size < this.opts.maxPaths) this.paths.add(rel);
      else this.full = true;
    }
    this.schedule();
  }

  /** Asks for a full rescan (the safety net, or a watcher that overflowed). */
  addFull(): void {
    if (this.paths.size === 0 && !this.full) this.first = this.now();
    this.full = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.paths.size === 0 && !this.full) return;
    if (this.timer) clearTimeout(this.timer);
    const waited = this.now() - this.first;
    const delay = Math.max(0, Math.min(this.opts.settleMs, this.opts.maxDelayMs - waited));
    this.timer = setTimeout(() => this.flush(), delay);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.paths.size === 0 && !this.full) return;
    const batch = { folder: this.folder, paths: this.paths, full: this.full };
    this.paths = new Set();
    this.full = false;
    this.onBatch(batch);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
