import type { FerryEventName, FerryEvents } from '../../shared/events';
import { anyEvent } from './anyEvent';

/** A rate older than this is from a transfer that stalled or whose end we missed: it no longer counts. */
const STALE_MS = 5000;

type Running = { bytes: number; rate: number; at: number };

/**
 * What the status request does not say and the tray shows: the current throughput and how far the
 * work queued since the queue was last empty has come (for "45 % (1.2 GB left)"). Fed engine events.
 */
export class TrayActivity {
  private readonly running = new Map<number, Running>();
  private doneBytes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  observe<K extends FerryEventName>(name: K, payload: FerryEvents[K]): void {
    const event = anyEvent(name, payload);
    switch (event.name) {
      case 'transfer:progress':
        this.running.set(event.payload.jobId, {
          bytes: event.payload.bytes,
          rate: event.payload.rate,
          at: this.now(),
        });
        break;
      case 'transfer:done':
        this.running.delete(event.payload.jobId);
        this.doneBytes += event.payload.bytes;
        break;
      case 'transfer:failed':
      case 'transfer:stopped':
      case 'transfer:retry':
        this.running.delete(event.payload.jobId);
        break;
      case 'queue:changed':
        // An empty queue ends a batch: the next percentage counts from there.
        if (event.payload.pending + event.payload.active === 0) {
          this.doneBytes = 0;
          this.running.clear();
        }
        break;
      default:
        break;
    }
  }

  private fresh(): Running[] {
    const now = this.now();
    for (const [id, r] of this.running) if (now - r.at > STALE_MS) this.running.delete(id);
    return [...this.running.values()];
  }

  /** Bytes per second across the transfers running now. */
  throughput(): number {
    return this.fresh().reduce((sum, r) => sum + r.rate, 0);
  }

  /**
   * Done and left bytes of the current batch. `bytesPending` (from the queue counts) still holds the
   * running transfers whole, so what they have sent so far moves from "left" to "done".
   */
  progress(bytesPending: number): { doneBytes: number; leftBytes: number } {
    const inFlight = this.fresh().reduce((sum, r) => sum + r.bytes, 0);
    const leftBytes = Math.max(0, bytesPending - inFlight);
    return { doneBytes: this.doneBytes + Math.min(inFlight, bytesPending), leftBytes };
  }
}
