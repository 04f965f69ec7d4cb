import { lstat } from 'node:fs/promises';
import { sep } from 'node:path';
import type { AsyncSubscription, Event, subscribe } from '@parcel/watcher';
import type { OnPaths, OnWatchError } from './backends';

type Parcel = { subscribe: typeof subscribe };

/** Beyond this many directories watched on their own, everything is watched afresh (and rescanned). */
export const MAX_SUBTREES = 64;

/**
 * @parcel/watcher's inotify backend (Linux, and the BSDs' kqueue alike) watches a directory that appears
 * after it started, but nothing inside it: the folders of a tree moved in, or of `mkdir -p a/b/c`, go
 * unwatched (parcel-bundler/watcher#97), and below a renamed directory events keep the old name. So
 * every directory that appears gets a subscription of its own, which reads its whole tree and watches
 * all of it under its real name; once its watches are in place the directory is handed over again,
 * so what was written into it before is scanned too. A directory that goes away takes its
 * subscriptions along. When too many pile up (a big checkout), the folder is watched afresh in one
 * subscription and rescanned whole, which also covers the moment between the two. FSEvents and
 * ReadDirectoryChangesW watch whole trees themselves: there, one subscription is all it takes.
 */
export class NativeTreeWatch {
  private main: AsyncSubscription | undefined;
  private readonly subtrees = new Map<string, Promise<AsyncSubscription | undefined>>();
  private readonly appeared = new Set<string>();
  private settling: Promise<void> | undefined;
  private closed = false;
  private readonly perDirectory = process.platform !== 'darwin' && process.platform !== 'win32';

  constructor(
    private readonly parcel: Parcel,
    private readonly root: string,
    private readonly onPaths: OnPaths,
    private readonly onError: OnWatchError,
    /** Everything may have changed unseen: rescan the whole folder. */
    private readonly onFull: () => void,
  ) {}

  async start(): Promise<void> {
    this.main = await this.parcel.subscribe(this.root, (err, events) => this.handle(err, events));
  }

  private handle(err: Error | null, events: Event[]): void {
    if (err) {
      this.onError(err);
      return;
    }
    if (events.length === 0 || this.closed) return;
    this.onPaths(events.map((e) => e.path));
    if (!this.perDirectory) return;
    for (const e of events) {
      if (e.type === 'delete') void this.dropUnder(e.path);
      else if (e.type === 'create') this.appeared.add(e.path);
    }
    this.settling ??= this.settle().finally(() => (this.settling = undefined));
  }

  /** Gives each directory among the paths created a subscription of its own. */
  private async settle(): Promise<void> {
    await Promise.resolve();
    while (this.appeared.size > 0 && !this.closed) {
      const paths = [...this.appeared];
      this.appeared.clear();
      const dirs: string[] = [];
      await Promise.all(
        paths.map(async (p) => {
          const st = await lstat(p).catch(() => undefined);
          if (st?.isDirectory()) dirs.push(p);
        }),
      );
      // The topmost only: a subscription reads and watches everything below its directory.
      dirs.sort();
      const top = dirs.filter((d, i) => !dirs.slice(0, i).some((a) => d.startsWith(a + sep)));
      if (this.subtrees.size + top.length > MAX_SUBTREES) {
        this.appeared.clear();
        await this.rewatch(true);
        return;
      }
      await Promise.all(top.map((d) => this.watchSubtree(d)));
    }
  }

  private async watchSubtree(dir: string): Promise<void> {
    const previous = this.subtrees.get(dir);
    if (previous) {
      // The same name again (deleted and made anew, renamed back): its old subscription is stale.
      this.subtrees.delete(dir);
      await (await previous)?.unsubscribe().catch(() => undefined);
    }
    const sub = this.parcel
      .subscribe(dir, (err, events) => this.handle(err, events))
      .catch((err: unknown) => {
        // Gone already: its deletion was reported. Anything else (the OS's watch limit) leaves it unwatched.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !/ENOENT|No such file/.test(String(err)))
          this.onError(err as Error);
        return undefined;
      });
    this.subtrees.set(dir, sub);
    const ready = await sub;
    if (this.closed || this.subtrees.get(dir) !== sub) {
      await ready?.unsubscribe().catch(() => undefined);
      return;
    }
    // Its watches are in place: what was written into it before they were is scanned now.
    if (ready) this.onPaths([dir]);
  }

  private async dropUnder(path: string): Promise<void> {
    const gone = [...this.subtrees].filter(([d]) => d === path || d.startsWith(path + sep));
    for (const [d] of gone) this.subtrees.delete(d);
    await Promise.all(gone.map(async ([, s]) => (await s)?.unsubscribe().catch(() => undefined)));
  }

  /**
   * Watches the folder afresh in one subscription (a new one reads the whole tree again). With `full`,
   * the folder is rescanned whole afterwards: changes between the old watch and the new are not lost.
   */
  async rewatch(full: boolean): Promise<void> {
    if (this.closed) return;
    await this.dropUnder(this.root);
    await this.main?.unsubscribe().catch(() => undefined);
    this.main = undefined;
    try {
      await this.start();
    } catch (err) {
      this.onError(err as Error);
    }
    if (full) this.onFull();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.dropUnder(this.root);
    await this.main?.unsubscribe();
  }
}
