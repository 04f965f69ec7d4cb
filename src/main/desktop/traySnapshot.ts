import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { FerryConfig } from '../../shared/config';
import type { FerryApi, HistoryEntry, StatusResult } from '../../shared/contract';
import type { FerryEventName, FerryEvents } from '../../shared/events';
import {
  RECENT_IN_MENU,
  type MenuBarTheme,
  type RecentFile,
  type TrayDestination,
  type TrayFolder,
  type TrayPlatform,
  type TraySnapshot,
} from './trayModel';

/**
 * Destination types whose provider makes share links (the ShareLinks capability in
 * engine/providers/types.ts); a unit test keeps this list true to the providers.
 */
export const SHARE_LINK_TYPES: ReadonlySet<string> = new Set(['local', 's3', 'gcs']);

/** What the snapshot reads from the engine: the contract, nothing more. */
export type TrayApi = Pick<FerryApi, 'status:get' | 'history:query' | 'config:get'>;

/** What the snapshot reads from the machine (the shell gives Electron's answers). */
export type TrayEnvironment = {
  /** True when the OS says there is no network. */
  offline: () => boolean;
  theme: () => MenuBarTheme;
  platform: TrayPlatform;
  /** Whether a local file is still there (a move rule removes what it shipped); never blocks the process. */
  exists?: (path: string) => Promise<boolean>;
  now?: () => number;
};

/** History rows looked at for the recent list: enough to fill it after skipping deletes and repeats. */
const HISTORY_LOOKBACK = 50;
/** While files keep shipping, the history is read again at most this often. */
const RECENT_REFRESH_MS = 3000;

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The recent files for the menu: shipped copies (uploads, remote moves and copies, never deletions)
 * of folders that are still configured, one entry per file and destination, newest first.
 */
export async function recentFiles(
  entries: readonly HistoryEntry[],
  folders: FerryConfig['folders'],
  exists: (path: string) => Promise<boolean> = fileExists,
): Promise<RecentFile[]> {
  const out: Omit<RecentFile, 'localExists'>[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (out.length >= RECENT_IN_MENU) break;
    if (e.outcome !== 'done' || e.kind === 'delete-remote' || e.kind === 'delete-local') continue;
    if (e.destination === null || e.remotePath === null) continue;
    const folder = folders.find((f) => f.id === e.folder);
    if (!folder) continue;
    const key = JSON.stringify([e.folder, e.path, e.destination]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      folder: e.folder,
      path: e.path,
      localPath: join(folder.path, e.path),
      destination: e.destination,
      remotePath: e.remotePath,
      at: e.at,
    });
  }
  // Asynchronous: a stat on a network folder that hangs must not freeze the app's main process.
  return Promise.all(out.map(async (f) => ({ ...f, localExists: await exists(f.localPath) })));
}

export function trayFolders(config: FerryConfig, status: StatusResult): TrayFolder[] {
  return config.folders.map((f) => {
    const st = status.folders.find((s) => s.folder === f.id);
    return {
      id: f.id,
      state: st?.state ?? null,
      paused: f.paused || st?.state === 'paused',
      pausedInConfig: f.paused,
      error: st?.error ?? null,
    };
  });
}

export function trayDestinations(config: FerryConfig, status: StatusResult): TrayDestination[] {
  return config.destinations.map((d) => {
    const st = status.destinations.find((s) => s.id === d.id);
    // Not connected without an error is a destination no rule uses, or one still connecting: no trouble.
    const ok = st === undefined || st.ok || st.error === null;
    return {
      id: d.id,
      type: d.type,
      ok,
      error: ok ? null : (st?.error ?? null),
      shareLinks: SHARE_LINK_TYPES.has(d.type),
    };
  });
}

/**
 * Builds the tray's snapshot from the contract: status (with the one progress model's figures, the same
 * the window shows), config, the history's recent done files. The history is read again only after a
 * transfer is done.
 */
export class TraySnapshotSource {
  private readonly now: () => number;
  private recent: { files: RecentFile[]; config: FerryConfig; readAt: number } | undefined;
  private recentStale = true;

  constructor(
    private readonly api: TrayApi,
    private readonly env: TrayEnvironment,
  ) {
    this.now = env.now ?? Date.now;
  }

  observe<K extends FerryEventName>(name: K, _payload: FerryEvents[K]): void {
    if (name === 'transfer:done') this.recentStale = true;
  }

  private async recentFiles(config: FerryConfig, busy: boolean): Promise<RecentFile[]> {
    const cached = this.recent;
    // A new config (folders moved or removed) reads again at once; new shipments too, but only every
    // few seconds while the queue is busy.
    const readRecently = cached !== undefined && busy && this.now() - cached.readAt < RECENT_REFRESH_MS;
    if (cached?.config === config && (!this.recentStale || readRecently)) return cached.files;
    this.recentStale = false;
    const page = await this.api['history:query']({ offset: 0, limit: HISTORY_LOOKBACK, outcome: 'done' });
    const files = await recentFiles(page.items, config.folders, this.env.exists);
    this.recent = { files, config, readAt: this.now() };
    return files;
  }

  async snapshot(): Promise<TraySnapshot> {
    const [status, config] = await Promise.all([this.api['status:get']({}), this.api['config:get']({})]);
    return {
      service: status.state,
      queue: status.queue,
      throughput: status.progress.rate,
      progress: { doneBytes: status.progress.bytesDone, leftBytes: status.progress.bytesLeft },
      folders: trayFolders(config, status),
      destinations: trayDestinations(config, status),
      offline: this.env.offline(),
      heldDeletions: status.heldDeletions.map(({ rule, deletes }) => ({ rule, deletes })),
      leftBehind: status.leftBehind.map(({ rule, count }) => ({ rule, count })),
      recent: await this.recentFiles(config, status.queue.pending + status.queue.active > 0),
      theme: this.env.theme(),
      platform: this.env.platform,
    };
  }
}
