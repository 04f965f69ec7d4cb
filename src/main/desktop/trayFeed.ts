import type { FerryEventName } from '../../shared/events';
import type { EventSource } from './anyEvent';
import { systemTimers, type Timers } from './timers';
import type { TraySnapshot } from './trayModel';
import type { TraySnapshotSource } from './traySnapshot';

/** Events after which the tray may read differently. */
const REFRESH_ON: ReadonlySet<FerryEventName> = new Set<FerryEventName>([
  'queue:changed',
  'service:status',
  'folder:status',
  'transfer:done',
  'transfer:failed',
  'transfer:stopped',
  'transfer:progress',
  'progress',
  'destination:error',
  'deletions:held',
]);

export type TrayFeedOptions = {
  source: Pick<TraySnapshotSource, 'observe' | 'snapshot'>;
  events: EventSource;
  /** Receives each new snapshot (the tray shows it; the notifications learn the destinations' state). */
  update: (snapshot: TraySnapshot) => void;
  /** At most one snapshot this often: a sync emits hundreds of events a second. */
  minIntervalMs?: number;
  /** And one this often regardless: the network, the menu bar's theme and a stalled rate have no event. */
  pollMs?: number;
  log?: (message: string) => void;
  timers?: Timers;
};

export type TrayFeed = { refresh: () => void; stop: () => void };

/**
 * Keeps the tray current: engine events feed the snapshot source and ask for a refresh; refreshes
 * are throttled (leading and trailing edge) and never overlap.
 */
export function startTrayFeed(opts: TrayFeedOptions): TrayFeed {
  const timers = opts.timers ?? systemTimers;
  const minInterval = opts.minIntervalMs ?? 500;
  const pollMs = opts.pollMs ?? 10_000;
  const log = opts.log ?? ((m: string) => console.error(m));
  let lastStart = Number.NEGATIVE_INFINITY;
  let running = false;
  let again = false;
  let stopped = false;
  let cancelDue: (() => void) | undefined;
  let cancelPoll: (() => void) | undefined;

  const refresh = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (cancelDue !== undefined) return; // one is already due
    const wait = lastStart + minInterval - timers.now();
    if (wait <= 0) void run();
    else
      cancelDue = timers.set(() => {
        cancelDue = undefined;
        void run();
      }, wait);
  };

  const run = async (): Promise<void> => {
    running = true;
    lastStart = timers.now();
    try {
      const snapshot = await opts.source.snapshot();
      if (!stopped) opts.update(snapshot);
    } catch (err) {
      // The engine is re-applying a config, say: the tray keeps its last picture until the next one.
      log(`ferry: tray: ${(err as Error).message}`);
    } finally {
      running = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  };

  const poll = (): void => {
    cancelPoll = timers.set(() => {
      refresh();
      poll();
    }, pollMs);
  };

  const off = opts.events.onAny((name, payload) => {
    opts.source.observe(name, payload);
    if (REFRESH_ON.has(name)) refresh();
  });
  refresh();
  poll();

  return {
    refresh,
    stop: () => {
      stopped = true;
      off();
      cancelDue?.();
      cancelPoll?.();
    },
  };
}
