import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Bandwidth } from '../../src/main/engine/transfer/bandwidth';

/** A clock the test moves by hand; fake timers keep setTimeout in step with it. */
let t = 0;
const now = () => t;

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
  it('lets a burst of one second worth through at once', async () => {
    const bw = new Bandwidth(1000, now);
    expect(await settled(bw.take(400))).toBe(true);
    expect(await settled(bw.take(600))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('makes the next take wait in proportion to the bytes beyond the budget', async () => {
    const bw = new Bandwidth(1000, now);
    await bw.take(1000);
    const p = bw.take(250);
    expect(await settled(p)).toBe(false);
    await advance(249);
    expect(await settled(p)).toBe(false);
    await advance(1);
    expect(await settled(p)).toBe(true);
  });

  it('refills over time, so a later take does not wait', async () => {
    const bw = new Bandwidth(1000, now);
    await bw.take(1000);
    t += 500;
    expect(await settled(bw.take(500))).toBe(true);
    const p = bw.take(100);
    expect(await settled(p)).toBe(false);
  });

  it('holds the average rate over many takes', async () => {
    const bw = new Bandwidth(10_000, now);
    let sent = 0;
    const run = (async () => {
      for (let i = 0; i < 30; i++) {
        await bw.take(1000);
        sent += 1000;
      }
    })();
    // 10 000 bytes of burst, then 20 000 more at 10 000 B/s: two seconds.
    await advance(1990);
    expect(sent).toBeLessThan(30_000);
    await advance(20);
    await run;
    expect(sent).toBe(30_000);
  });

  it('lets a request larger than the burst through once the bucket is full, then owes the excess', async () => {
    const bw = new Bandwidth(1000, now);
    expect(await settled(bw.take(3000))).toBe(true);
    const p = bw.take(1);
    await advance(2000);
    expect(await settled(p)).toBe(false);
    await advance(2);
    expect(await settled(p)).toBe(true);
  });

  it('never waits at rate 0', async () => {
    const bw = new Bandwidth(0, now);
    for (let i = 0; i < 5; i++) expect(await settled(bw.take(1e12))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lifts the limit when the rate is set to 0', async () => {
    const bw = new Bandwidth(1000, now);
    await bw.take(1000);
    bw.setRate(0);
    expect(await settled(bw.take(1e9))).toBe(true);
  });

  it('shrinks the burst when the rate is lowered', async () => {
    const bw = new Bandwidth(1000, now);
    bw.setRate(100);
    expect(await settled(bw.take(100))).toBe(true);
    const p = bw.take(50);
    expect(await settled(p)).toBe(false);
    await advance(500);
    expect(await settled(p)).toBe(true);
  });
});
