import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bandwidth, paceGrain } from '../../src/main/engine/transfer/bandwidth';

/** A clock the test moves by hand (ms); fake timers keep setTimeout in step with it. */
let t = 0;
const now = () => BigInt(t) * 1_000_000n;

beforeEach(() => {
  t = 0;
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Advances both the clock and the timers, letting promises settle in between. */
async function advance(ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    t += 1;
    await vi.advanceTimersByTimeAsync(1);
  }
}

/** Whether `p` has settled after pending microtasks ran. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('Bandwidth', () => {
  it('lets only a twentieth of a second worth through at once after a quiet spell', async () => {
    const bw = new Bandwidth(1000, now);
    expect(await settled(bw.take(50))).toBe(true);
    const p = bw.take(100);
    expect(await settled(p)).toBe(false);
    await advance(99);
    expect(await settled(p)).toBe(false);
    await advance(1);
    expect(await settled(p)).toBe(true);
  });

  it('gives no credit for a quiet spell beyond that burst', async () => {
    const bw = new Bandwidth(1000, now);
    await advance(10_000);
    expect(await settled(bw.take(50))).toBe(true);
    expect(await settled(bw.take(10))).toBe(false);
  });

  it('holds the cap over every 3 s window for many senders sharing it, within one grain', async () => {
    const rate = 100_000;
    const grain = 1000;
    const bw = new Bandwidth(rate, now);
    const sent: { at: number; bytes: number }[] = [];
    let stop = false;
    const sender = async () => {
      while (!stop) {
        await bw.take(grain);
        sent.push({ at: t, bytes: grain });
      }
    };
    const senders = [sender(), sender(), sender(), sender()];
    await advance(10_000);
    stop = true;
    await advance(100);
    await Promise.all(senders);
    for (let from = 0; from + 3000 <= 10_000; from += 50) {
      const inWindow = sent.filter((s) => s.at >= from && s.at < from + 3000).reduce((n, s) => n + s.bytes, 0);
      expect(inWindow).toBeLessThanOrEqual(rate * 3 + Math.max(grain, rate / 20));
      // …and it is not far below either: the senders are not starved.
      expect(inWindow).toBeGreaterThanOrEqual(rate * 3 - 2 * grain);
    }
  });

  it('is one cap for every holder of its shared state (the file workers book from it too)', async () => {
    const bw = new Bandwidth(1000, now);
    const other = new Bandwidth(0, now, bw.shared);
    expect(other.rate).toBe(1000);
    await bw.take(50);
    const p = other.take(100);
    expect(await settled(p)).toBe(false);
    await advance(100);
    expect(await settled(p)).toBe(true);
    bw.setRate(0);
    expect(other.rate).toBe(0);
    expect(await settled(other.take(1e9))).toBe(true);
  });

  it('returns early when its signal aborts', async () => {
    const bw = new Bandwidth(1000, now);
    await bw.take(50);
    const ac = new AbortController();
    const p = bw.take(10_000, ac.signal);
    expect(await settled(p)).toBe(false);
    ac.abort();
    expect(await settled(p)).toBe(true);
  });

  it('never waits at rate 0', async () => {
    const bw = new Bandwidth(0, now);
    for (let i = 0; i < 5; i++) expect(await settled(bw.take(1e12))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lifts the limit when the rate is set to 0', async () => {
    const bw = new Bandwidth(1000, now);
    await bw.take(50);
    expect(await settled(bw.take(1000))).toBe(false);
    bw.setRate(0);
    expect(await settled(bw.take(1e9))).toBe(true);
  });

  it('sizes the grain to a twentieth of a second, at least 16 KiB', () => {
    expect(paceGrain(20_000_000)).toBe(1_000_000);
    expect(paceGrain(1000)).toBe(16 * 1024);
  });
});

describe('Bandwidth.takeSync (a worker thread)', () => {
  it('blocks until the booking is due, and stops waiting once cancelled', () => {
    vi.useRealTimers();
    const bw = new Bandwidth(1_000_000);
    bw.takeSync(50_000, () => false);
    const start = process.hrtime.bigint();
    bw.takeSync(100_000, () => false);
    // A lower bound only: the booking is 100 ms of the cap, the first 50 ms of it the burst.
    expect(process.hrtime.bigint() - start).toBeGreaterThanOrEqual(45_000_000n);
    let asked = 0;
    const before = process.hrtime.bigint();
    bw.takeSync(10_000_000, () => ++asked > 1);
    expect(asked).toBe(2);
    expect(process.hrtime.bigint() - before).toBeLessThan(5_000_000_000n);
  });
});
