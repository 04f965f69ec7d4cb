import { stat } from 'node:fs/promises';
import type { FerryConfig } from '../../../shared/config';
import type { FolderStatus } from '../../../shared/events';
import type { EventBus } from '../events';
import { activeFolders } from '../sync/runSteps';
import { ChangeAggregator, DEFAULT_AGGREGATOR, type AggregatorOptions, type ChangeBatch } from '../watch/aggregator';
import type { WatchHandle } from '../watch/backends';
import { watchFolder } from '../watch/folderWatcher';

type Hooks = {
  /** A folder's changes (coalesced), or a full rescan. */
  dirty: (batch: ChangeBatch) => void;
  setFolder: (folder: string, patch: Partial<Omit<FolderStatus, 'folder'>>) => void;
};

/**
 * One watcher per synced folder, and the look every few seconds at each folder's path: a folder
 * renamed away or unmounted sends no event its watcher sees, and one that is back (or another folder
 * now at its path) needs a new watcher.
 */
export class FolderWatchers {
  private readonly watchers = new Map<string, { handle: WatchHandle; aggregator: ChangeAggregator }>();
  /** Folders whose path was missing (or not a folder) at the last look: looked for again every few seconds. */
  private readonly absent = new Set<string>();
  /** The inode of each folder as its watcher found it: another one at that path is not watched. */
  private readonly watchedIno = new Map<string, number>();

  constructor(
    private readonly cfg: FerryConfig,
    private readonly events: EventBus,
    private readonly hooks: Hooks,
    private readonly aggregator: AggregatorOptions = DEFAULT_AGGREGATOR,
  ) {}

  async start(folderId: string): Promise<void> {
    const folder = this.cfg.folders.find((f) => f.id === folderId);
    if (!folder) return;
    const aggregator = new ChangeAggregator(folder.id, folder.path, (b) => this.hooks.dirty(b), this.aggregator);
    try {
      const handle = await watchFolder(
        folder,
        (paths) => aggregator.add(paths),
        (err) => {
          // A watcher that errs may have lost events: rescan the whole folder.
          this.events.emit('warning', { folder: folder.id, message: `watcher error: ${err.message}` });
          aggregator.addFull();
        },
        (message) => this.events.emit('warning', { folder: folder.id, message }),
        () => aggregator.addFull(),
      );
      this.watchers.set(folder.id, { handle, aggregator });
      const ino = await stat(folder.path).then(
        (st) => (st.isDirectory() ? st.ino : undefined),
        () => undefined,
      );
      if (ino === undefined) this.watchedIno.delete(folder.id);
      else this.watchedIno.set(folder.id, ino);
      this.hooks.setFolder(folder.id, { watcher: handle.backend });
    } catch (err) {
      // No watcher at all (the folder is missing, say): it is looked for again every few seconds.
      this.absent.add(folder.id);
      this.hooks.setFolder(folder.id, {
        state: 'error',
        error: `cannot watch ${folder.path}: ${(err as Error).message}`,
      });
    }
  }

  /** Watches a folder afresh: a watcher on a folder that went away and came back sees nothing. */
  async rewatch(folderId: string): Promise<void> {
    this.absent.delete(folderId);
    const old = this.watchers.get(folderId);
    this.watchers.delete(folderId);
    if (old) {
      old.aggregator.close();
      await old.handle.close().catch(() => undefined);
    }
    await this.start(folderId);
  }

  /** Each watcher looks again at its folder (the safety net, before a full rescan). */
  refreshAll(): Promise<unknown> {
    return Promise.all([...this.watchers.values()].map((w) => w.handle.refresh?.().catch(() => undefined)));
  }

  /** A scan found the folder missing: it is looked for again every few seconds. */
  markAbsent(folderId: string): void {
    this.absent.add(folderId);
  }

  /**
   * Looks at each synced folder's path (a stat each): one that went away is scanned (the scan says it
   * is missing, and deletes nothing); one that is back, or another folder now at its path, is watched
   * afresh and scanned.
   */
  async check(signal: AbortSignal): Promise<void> {
    for (const folder of activeFolders(this.cfg)) {
      if (signal.aborted) return;
      const st = await stat(folder.path).catch(() => undefined);
      const here = st?.isDirectory() === true;
      const full = () => this.hooks.dirty({ folder: folder.id, paths: new Set(), full: true });
      if (this.absent.has(folder.id)) {
        if (!here) continue;
        await this.rewatch(folder.id).finally(full);
      } else if (!here) {
        this.absent.add(folder.id);
        full();
      } else if (this.watchedIno.has(folder.id) && this.watchedIno.get(folder.id) !== st?.ino) {
        await this.rewatch(folder.id).finally(full);
      }
    }
  }

  async close(): Promise<void> {
    for (const { handle, aggregator } of this.watchers.values()) {
      aggregator.close();
      await handle.close().catch(() => undefined);
    }
  }
}
