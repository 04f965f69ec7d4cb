/** Its state, shared by every thread that sends bytes: the cap and the next free instant (ns). */
const RATE = 0;
const NEXT = 1;

/**
 * How far ahead of the cap a sender may run after a quiet spell. Small, so that the cap holds over
 * short windows too (a second's worth would let 4 s of bytes through in any 3 s after a pause).
 */
const BURST_NS = 50_000_000n;

/**
 * A sender woken this much later than its booking was due (a busy event loop, a starved thread) sends
 * at once but books its bytes again, so that the senders after it make up for the slot it missed:
 * otherwise its late bytes would land on top of theirs and a window would take more than the cap.
 */
const LATE_NS = 20_000_000n;

/** What a sender should hand over per `take` under a cap: a twentieth of a second's worth (≥ 16 KiB). */
export function paceGrain(bytesPerSecond: number): number {
  return Math.max(16 * 1024, Math.floor(bytesPerSecond / 20));
}

/**
 * How many bytes an upload may have in flight (sent, not yet acknowledged) under a cap: a tenth of a
 * second's worth (at least two of the protocol's writes), not its uncapped window. Whatever is in
 * flight can land at once when a stalled server catches up, on top of what the cap lets through then;
 * a window of seconds of the cap would break it over any short span. A tenth of a second still fills
 * a link with up to 100 ms of round trip at the cap.
 */
export function inFlightWindow(uncapped: number, writeSize: number, sharedCap: SharedArrayBuffer | undefined): number {
  const rate = sharedCap ? Bandwidth.attach(sharedCap).rate : 0;
  if (rate <= 0) return uncapped;
  return Math.min(uncapped, Math.max(2 * writeSize, Math.floor(rate / 10)));
}

const monotonicNs = (): bigint => process.hrtime.bigint();

/**
 * One cap for every transfer, on every thread (a generic cell rate algorithm): each `take(n)` books
 * the next n / rate seconds of the cap and goes ahead when its booking is due. Its state lives in a
 * SharedArrayBuffer, so the file workers' copies book from the same cap (`Bandwidth.attach`) instead
 * of pacing themselves beside it. Over any window, what goes through is at most the cap times the
 * window plus one booking (or the small burst): senders keep their bookings to `paceGrain` bytes.
 * A rate of 0 means unlimited.
 */
export class Bandwidth {
  readonly shared: SharedArrayBuffer;
  private readonly cells: BigInt64Array;

  /** `now` (ns) is for tests: every thread must read one clock, which the default (monotonic) is. */
  constructor(
    bytesPerSecond: number,
    private readonly now: () => bigint = monotonicNs,
    shared?: SharedArrayBuffer,
  ) {
    this.shared = shared ?? new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
    this.cells = new BigInt64Array(this.shared);
    if (!shared) this.setRate(bytesPerSecond);
  }

  /** The same cap seen from another thread (a file worker). */
  static attach(shared: SharedArrayBuffer): Bandwidth {
    return new Bandwidth(0, monotonicNs, shared);
  }

  /** The cap in bytes per second; 0 when unlimited. */
  get rate(): number {
    return Number(Atomics.load(this.cells, RATE));
  }

  setRate(bytesPerSecond: number): void {
    Atomics.store(this.cells, RATE, BigInt(Math.max(0, Math.floor(bytesPerSecond))));
  }

  /** Books `bytes` and returns the instant (ns) the booking is due; 0 when there is no cap. */
  private book(bytes: number): bigint {
    const rate = Atomics.load(this.cells, RATE);
    if (rate <= 0n || bytes <= 0) return 0n;
    const cost = (BigInt(Math.ceil(bytes)) * 1_000_000_000n) / rate;
    for (;;) {
      const now = this.now();
      const next = Atomics.load(this.cells, NEXT);
      // A quiet spell leaves no credit beyond the burst.
      const start = next > now ? next : now;
      const end = start + cost;
      if (Atomics.compareExchange(this.cells, NEXT, next, end) !== next) continue;
      return end - BURST_NS;
    }
  }

  /** After a wait for a booking due at `due`: a late sender books its bytes again (see LATE_NS). */
  private woke(bytes: number, due: bigint): void {
    if (this.now() - due > LATE_NS) this.book(bytes);
  }

  /** Resolves when `bytes` may be sent; early if `signal` aborts (the caller looks at it). */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const due = this.book(bytes);
    const waitNs = due - this.now();
    if (due === 0n || waitNs <= 0n || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, Math.ceil(Number(waitNs) / 1e6)));
      signal?.addEventListener('abort', done, { once: true });
    });
    if (!signal?.aborted) this.woke(bytes, due);
  }

  /**
   * `take` for a worker thread, which may block: sleeps until `bytes` may be sent, waking every
   * 100 ms to see whether it was cancelled (then it returns at once).
   */
  takeSync(bytes: number, cancelled: () => boolean): void {
    const due = this.book(bytes);
    if (due - this.now() <= 0n) return;
    for (;;) {
      const left = due - this.now();
      if (left <= 0n) return this.woke(bytes, due);
      if (cancelled()) return;
      Atomics.wait(sleeper, 0, 0, Math.min(100, Math.ceil(Number(left) / 1e6)));
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
