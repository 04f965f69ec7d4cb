import type { FerryEventName, FerryEvents } from '../../shared/events';
import { bigintReplacer } from '../../shared/json';

/** Where one subscriber's messages go: a WebSocket, or anything that says how much it still holds. */
export type EventSink = { readonly bufferedAmount: number; send(text: string): void };

export type FanoutLimits = {
  /** Messages wait this long so that states arriving meanwhile collapse into their latest value. */
  flushMs: number;
  /** Entries one subscriber may hold; past it the subscriber gets the current state instead. */
  maxQueue: number;
  /** Bytes a sink may hold unsent before it counts as a slow reader (nothing more is sent meanwhile). */
  highWater: number;
};

export const FANOUT_LIMITS: FanoutLimits = { flushMs: 100, maxQueue: 512, highWater: 1024 * 1024 };

type Outgoing = { event: FerryEventName; payload: unknown; key: string | undefined; text?: string };

/**
 * Events that describe a state (the latest supersedes the earlier ones) carry a key; the others are
 * history (a transfer finished) and are all delivered, in order.
 */
function stateKey<K extends FerryEventName>(event: K, payload: FerryEvents[K]): string | undefined {
  const p = payload as Partial<{ jobId: number; folder: string }>;
  switch (event) {
    case 'transfer:progress':
      return `transfer:${String(p.jobId)}`;
    case 'scan:progress':
      return `scan:${String(p.folder)}`;
    case 'folder:status':
      return `folder:${String(p.folder)}`;
    case 'queue:changed':
    case 'service:status':
    case 'deletions:held':
    case 'progress':
      return event;
    default:
      return undefined;
  }
}

/** The state an event closes: a finished transfer or scan has no progress left to report. */
function endedKey(o: Outgoing): string | undefined {
  const p = o.payload as Partial<{ jobId: number; folder: string }>;
  if (o.event === 'transfer:done' || o.event === 'transfer:failed' || o.event === 'transfer:stopped')
    return `transfer:${String(p.jobId)}`;
  if (o.event === 'scan:done') return `scan:${String(p.folder)}`;
  return undefined;
}

const serialize = (o: Outgoing): string =>
  (o.text ??= JSON.stringify({ event: o.event, payload: o.payload }, bigintReplacer));

/**
 * One subscriber's queue: progress coalesces (latest state wins, per transfer, scan and folder), history
 * keeps its order, and a reader too slow to keep up is sent the current state and told what it missed,
 * so fifty idle windows cost the daemon a few messages a second each, not one per progress tick.
 */
export class Subscriber {
  private queue: Outgoing[] = [];
  /** Where each state waiting in `queue` sits, for states queued after the last history event. */
  private pendingAt = new Map<string, number>();
  /** The latest value of every live state: what a reader that fell behind is sent instead. */
  private readonly latest = new Map<string, Outgoing>();
  private skipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly sink: EventSink,
    private readonly limits: FanoutLimits = FANOUT_LIMITS,
  ) {}

  push(o: Outgoing): void {
    if (this.closed) return;
    if (o.key !== undefined) {
      this.latest.set(o.key, o);
      const at = this.pendingAt.get(o.key);
      if (at !== undefined) this.queue[at] = o;
      else {
        this.pendingAt.set(o.key, this.queue.length);
        this.queue.push(o);
      }
    } else {
      const ended = endedKey(o);
      if (ended !== undefined) this.latest.delete(ended);
      // A state that changes after this event is sent after it.
      this.pendingAt.clear();
      this.queue.push(o);
    }
    if (this.queue.length > this.limits.maxQueue) this.collapse();
    this.timer ??= setTimeout(() => this.flush(), this.limits.flushMs);
  }

  /** The reader is too far behind: drop the history it has not read, keep the current state. */
  private collapse(): void {
    this.skipped += this.queue.filter((o) => o.key === undefined).length;
    this.queue = [...this.latest.values()];
    this.pendingAt = new Map(this.queue.map((o, i) => [o.key as string, i]));
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.queue.length === 0) return;
    if (this.sink.bufferedAmount > this.limits.highWater) {
      this.timer = setTimeout(() => this.flush(), this.limits.flushMs);
      return;
    }
    const out = this.queue;
    this.queue = [];
    this.pendingAt.clear();
    if (this.skipped > 0) {
      const message = `${this.skipped} events were skipped because this window read them too slowly; what it shows now is current`;
      this.skipped = 0;
      this.sink.send(serialize({ event: 'warning', payload: { message }, key: undefined }));
    }
    for (const o of out) this.sink.send(serialize(o));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.queue = [];
  }
}

/** Wraps each event once (serialized at most once, whatever the number of subscribers). */
export function outgoing<K extends FerryEventName>(event: K, payload: FerryEvents[K]): Outgoing {
  return { event, payload, key: stateKey(event, payload) };
}
