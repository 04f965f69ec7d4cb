import type { FolderConfig } from '../../../shared/config';
import {
  inotifyLimit,
  isNetworkMount,
  watchChokidar,
  watchNative,
  type OnPaths,
  type OnWatchError,
  type WatchHandle,
} from './backends';

export type WatchMode = 'auto' | 'native' | 'poll';

/**
 * Watches one folder with the best backend that works: @parcel/watcher by default; polling for
 * network mounts (where the OS delivers no events for changes made elsewhere) or when asked; Node's
 * watcher when the native module cannot load. Reaching the OS watch limit falls back to polling
 * with a warning that says how to raise it: changes are never silently missed.
 */
export async function watchFolder(
  folder: FolderConfig,
  onPaths: OnPaths,
  onError: OnWatchError,
  warn: (message: string) => void,
  /** The watcher may have missed changes (it was set up afresh): rescan the whole folder. */
  onFull: () => void = () => undefined,
): Promise<WatchHandle> {
  const mode: WatchMode = folder.watch;
  if (mode === 'poll') return watchChokidar(folder.path, true, onPaths, onError);
  if (mode === 'auto' && isNetworkMount(folder.path)) {
    warn(`folder "${folder.id}" is on a network file system: it is polled (changes show within a few seconds)`);
    return watchChokidar(folder.path, true, onPaths, onError);
  }
  try {
    return await watchNative(folder.path, onPaths, onError, onFull);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/ENOSPC|No space left|max_user_watches|too many/i.test(message)) {
      const limit = inotifyLimit();
      warn(
        `folder "${folder.id}": the system's limit on watched folders is reached${limit ? ` (fs.inotify.max_user_watches = ${limit})` : ''}; ` +
          'Ferry polls this folder instead, which notices changes within seconds rather than at once. ' +
          'Raise the limit with: sudo sysctl fs.inotify.max_user_watches=524288 (and add the setting to /etc/sysctl.conf to keep it)',
      );
      return watchChokidar(folder.path, true, onPaths, onError);
    }
    warn(`folder "${folder.id}": the native watcher is unavailable (${message}); using Node's watcher`);
    return watchChokidar(folder.path, false, onPaths, onError);
  }
}
