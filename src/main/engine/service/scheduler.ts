import type { ChangeBatch } from '../watch/aggregator';

/**
 * What the live service has to do next: the folders marked dirty (a watcher's paths, or a full rescan)
 * and the pauses. Batches of one folder merge until a cycle takes them; a paused folder's wait for its
 * resume. `next()` resolves with the runnable batches, or an empty list once stopped.
 */
export class Scheduler {
  private readonly dirty = new Map<string, ChangeBatch>();
  private readonly pausedFolders = new Set<string>();
  private pausedAll = false;
  private wake: (() => void) | undefined;
  /** The next cycle lists every destination (the first one, the safety net, a Rescan). */
  listNext = true;

  constructor(private readonly allFolders: () => readonly string[]) {}

  markDirty(batch: ChangeBatch): void {
    const prev = this.dirty.get(batch.folder);
    if (prev) {
      prev.full ||= batch.full;
      for (const p of batch.paths) prev.paths.add(p);
    } else this.dirty.set(batch.folder, { ...batch, paths: new Set(batch.paths) });
    this.wake?.();
  }

  /** Every folder given marked for a full rescan. */
  markFull(folders: Iterable<string>): void {
    for (const folder of folders) this.markDirty({ folder, paths: new Set(), full: true });
  }

  /** The dirty batches of folders not paused, taken off the list; empty when there is none. */
  take(): ChangeBatch[] {
    const runnable = [...this.dirty.keys()].filter((f) => !this.isPaused(f));
    const batch = runnable.map((f) => this.dirty.get(f) as ChangeBatch);
    for (const f of runnable) this.dirty.delete(f);
    return batch;
  }

  /** Resolves at the next mark (or `poke`). */
  idle(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve)).finally(() => (this.wake = undefined));
  }

  /** Ends a wait (on stop). */
  poke(): void {
    this.wake?.();
  }

  get allPaused(): boolean {
    return this.pausedAll;
  }

  isPaused(folder: string): boolean {
    return this.pausedAll || this.pausedFolders.has(folder);
  }

  /** The folders whose work waits: every one when all are paused. */
  held(): string[] {
    return this.pausedAll ? [...this.allFolders()] : [...this.pausedFolders];
  }

  pause(folder?: string): void {
    if (folder === undefined) this.pausedAll = true;
    else this.pausedFolders.add(folder);
  }

  /** Returns whether everything was paused before. */
  resume(folder?: string): boolean {
    const wasAll = this.pausedAll;
    if (folder === undefined) {
      this.pausedAll = false;
      this.pausedFolders.clear();
    } else this.pausedFolders.delete(folder);
    return wasAll;
  }
}
