import { describe, expect, it } from 'vitest';
import {
  bandwidthScheduleProblem,
  describeLimit,
  hourGrid,
  limitAt,
  parseBandwidthSchedule,
  scheduleFromGrid,
} from '../../src/shared/bandwidthSchedule';
import { parseConfig } from '../../src/main/engine/config/loadConfig';
import { BandwidthLimits, type ScheduleClock } from '../../src/main/engine/transfer/bandwidthLimits';

const K = 1024;
const M = 1024 * 1024;

/** 2026-12-07 is a Monday. Local times, as the schedule reads them. */
const at = (day: number, h: number, m = 0) => new Date(2026, 11, 7 + day, h, m);

/** A clock whose time moves only when told to, running the timers that fall due on the way. */
function fakeClock(start: Date): ScheduleClock & { advance(ms: number): void; timers: number } {
  let now = start.getTime();
  const timers = new Map<number, { due: number; fn: () => void }>();
  let id = 0;
  return {
    now: () => new Date(now),
    setTimer: (fn, ms) => {
      timers.set(++id, { due: now + ms, fn });
      return id;
    },
    clearTimer: (h) => void timers.delete(h as number),
    get timers() {
      return timers.size;
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].due - b[1].due)[0];
        if (!next || next[1].due > end) break;
        timers.delete(next[0]);
        now = next[1].due;
        next[1].fn();
      }
      now = end;
    },
  };
}

describe("bandwidth_schedule reads rclone's --bwlimit timetable", () => {
  it('one limit for all times, binary units as rclone reads them, KiB when no unit is given', () => {
    expect(parseBandwidthSchedule('10M').entries).toEqual([{ day: 0, minute: 0, limit: { up: 10 * M, down: 10 * M } }]);
    expect(parseBandwidthSchedule('512').entries[0]?.limit).toEqual({ up: 512 * K, down: 512 * K });
    expect(parseBandwidthSchedule('1M:512k').entries[0]?.limit).toEqual({ up: M, down: 512 * K });
    expect(parseBandwidthSchedule('off').entries[0]?.limit).toEqual({ up: 0, down: 0 });
    expect(parseBandwidthSchedule('1.5MiB').entries[0]?.limit.up).toBe(1.5 * M);
    expect(parseBandwidthSchedule('100B').entries[0]?.limit.up).toBe(100);
    expect(parseBandwidthSchedule('off:2M').entries[0]?.limit).toEqual({ up: 0, down: 2 * M });
  });

  it('a daily timetable holds each limit until the next time, the last one wrapping past midnight', () => {
    const s = parseBandwidthSchedule('08:00,2M 18:00,off');
    expect(s.entries).toHaveLength(14);
    expect(limitAt(s, at(0, 7, 59)).limit.up).toBe(0); // Sunday's 18:00 "off" still holds
    expect(limitAt(s, at(0, 8, 0)).limit.up).toBe(2 * M);
    const noon = limitAt(s, at(0, 12));
    expect(noon.limit).toEqual({ up: 2 * M, down: 2 * M });
    expect(noon.until).toEqual(at(0, 18));
    const evening = limitAt(s, at(2, 23, 30));
    expect(evening.limit.up).toBe(0);
    expect(evening.until).toEqual(at(3, 8));
  });

  it('day names set one day; entries without a day hold every day; ";" separates as spaces do', () => {
    const s = parseBandwidthSchedule('Mon-09:00,1M:256k;Fri-17:00,off Sat-10:00,4M');
    expect(limitAt(s, at(0, 8)).limit.up).toBe(4 * M); // Monday before 09:00: Saturday's entry wraps round
    expect(limitAt(s, at(0, 9)).limit).toEqual({ up: M, down: 256 * K });
    expect(limitAt(s, at(3, 12)).limit.up).toBe(M); // Thursday
    expect(limitAt(s, at(4, 17)).limit.up).toBe(0); // Friday 17:00
    expect(limitAt(s, at(5, 10)).limit.up).toBe(4 * M);
    const full = parseBandwidthSchedule('Sunday-20:00,off monday-06:00,3M');
    expect(limitAt(full, at(-1, 21)).limit.up).toBe(0);
    expect(limitAt(full, at(0, 7)).limit.up).toBe(3 * M);
  });

  it('a mix: Mon-00:00 and a daily 12:00 (the example rclone documents)', () => {
    const s = parseBandwidthSchedule('Mon-00:00,512 12:00,1M Sun-20:00,off');
    expect(limitAt(s, at(0, 0, 30)).limit.up).toBe(512 * K);
    expect(limitAt(s, at(2, 13)).limit.up).toBe(M);
    expect(limitAt(s, at(6, 19)).limit.up).toBe(M); // Sunday 12:00 daily entry
    expect(limitAt(s, at(6, 20)).limit.up).toBe(0);
  });

  it('names the entry and what is wrong with it', () => {
    expect(bandwidthScheduleProblem('')).toMatch(/the schedule is empty/);
    expect(bandwidthScheduleProblem('fast')).toBe(
      '"fast" is not a limit: write a number with a unit (512k, 10M, 1.5G) or off',
    );
    expect(bandwidthScheduleProblem('08:00,2M 25:00,off')).toBe(
      '"25:00,off": "25:00" is not a time of day; write HH:MM, 00:00 to 23:59',
    );
    expect(bandwidthScheduleProblem('8:00,2M')).toMatch(/"8:00" is not a time of day/);
    expect(bandwidthScheduleProblem('Mun-08:00,2M')).toBe(
      '"Mun-08:00,2M": "Mun" is not a day; write Mon, Tue, Wed, Thu, Fri, Sat or Sun',
    );
    expect(bandwidthScheduleProblem('08:00,2X')).toBe(
      '"08:00,2X": "2X" is not a limit: write a number with a unit (512k, 10M, 1.5G) or off',
    );
    expect(bandwidthScheduleProblem('08:00')).toMatch(/"08:00" is a time without a limit/);
    expect(bandwidthScheduleProblem('08:00,1M 18:00')).toMatch(/"18:00" is not a schedule entry: write TIME,LIMIT/);
    expect(bandwidthScheduleProblem('08:00,1M:2M:3M')).toMatch(/is not a limit: write one \(10M\) or upload:download/);
    expect(bandwidthScheduleProblem('08:00,2M 18:00,off')).toBeUndefined();
  });

  it('the config refuses a schedule it cannot read, naming the field', () => {
    const text = 'settings:\n  bandwidth_schedule: "08:00,2M 18:00,lots"\n';
    expect(() => parseConfig(text, '/tmp/ferry.yml', '/tmp')).toThrow(
      /ferry\.yml:2:\d+: settings\.bandwidth_schedule: "18:00,lots": "lots" is not a limit/,
    );
    expect(
      parseConfig('settings:\n  bandwidth_schedule: "1M:512k"\n', '/tmp/f.yml', '/tmp').settings.bandwidth_schedule,
    ).toBe('1M:512k');
  });

  it("the window's painted week of hours becomes a timetable that means the same week", () => {
    const s = parseBandwidthSchedule('Mon-00:00,1M:256k Sat-00:00,off');
    const grid = hourGrid(s);
    expect(grid[0]?.[0]).toEqual({ up: M, down: 256 * K }); // Monday first
    expect(grid[6]?.[23]).toEqual({ up: 0, down: 0 }); // Sunday last
    expect(scheduleFromGrid(grid)).toBe('Mon-00:00,1M:256k Sat-00:00,off');
    (grid[0] as { up: number; down: number }[])[9] = { up: 2 * M, down: 2 * M };
    const text = scheduleFromGrid(grid);
    expect(text).toBe('Mon-00:00,1M:256k Mon-09:00,2M Mon-10:00,1M:256k Sat-00:00,off');
    expect(hourGrid(parseBandwidthSchedule(text))).toEqual(grid);
    // Daily entries round-trip too, and a week of one limit is that limit alone (none when off).
    const daily = hourGrid(parseBandwidthSchedule('08:00,2M 18:00,off'));
    expect(hourGrid(parseBandwidthSchedule(scheduleFromGrid(daily)))).toEqual(daily);
    expect(scheduleFromGrid(hourGrid(parseBandwidthSchedule('1.5M')))).toBe('1.50M');
    expect(scheduleFromGrid(hourGrid(parseBandwidthSchedule('off')))).toBe('');
  });

  it('says a limit in words', () => {
    expect(describeLimit({ up: 0, down: 0 })).toBe('no limit');
    expect(describeLimit({ up: 2 * M, down: 2 * M })).toBe('2M/s each way');
    expect(describeLimit({ up: M, down: 0 })).toBe('up 1M/s, down no limit');
    expect(describeLimit({ up: 1.5 * M, down: 512 * K })).toBe('up 1.50M/s, down 512k/s');
  });
});

describe('the engine follows the schedule with its clock', () => {
  it('sets the upload and download caps as the week goes round, without being asked', () => {
    const clock = fakeClock(at(0, 7));
    const limits = new BandwidthLimits({ bandwidth: 0, bandwidth_schedule: '08:00,2M:1M 18:00,off' }, clock);
    expect([limits.up.rate, limits.down.rate]).toEqual([0, 0]);
    clock.advance(60 * 60_000); // 08:00
    expect([limits.up.rate, limits.down.rate]).toEqual([2 * M, M]);
    clock.advance(10 * 60 * 60_000); // 18:00
    expect([limits.up.rate, limits.down.rate]).toEqual([0, 0]);
    clock.advance(14 * 60 * 60_000); // Tuesday 08:00
    expect([limits.up.rate, limits.down.rate]).toEqual([2 * M, M]);
    expect(limits.inForce()).toMatchObject({ scheduled: true, until: at(1, 18) });
    limits.stop();
    expect(clock.timers).toBe(0);
  });

  it('a clock that jumps (the computer slept) is caught up within a minute', () => {
    let now = at(0, 7).getTime();
    const fns: (() => void)[] = [];
    const clock: ScheduleClock = {
      now: () => new Date(now),
      setTimer: (fn) => fns.push(fn),
      clearTimer: () => undefined,
    };
    const limits = new BandwidthLimits({ bandwidth: 0, bandwidth_schedule: '08:00,2M 18:00,off' }, clock);
    now = at(0, 12).getTime(); // woke five hours later; the pending timer fires once
    fns.at(-1)?.();
    expect(limits.up.rate).toBe(2 * M);
  });

  it('new settings take effect at once on the same caps (running transfers book from them)', () => {
    const clock = fakeClock(at(0, 12));
    const limits = new BandwidthLimits({ bandwidth: 5 * M }, clock);
    const { up, down } = limits;
    expect([up.rate, down.rate]).toEqual([5 * M, 5 * M]);
    expect(limits.inForce().scheduled).toBe(false);
    limits.apply({ bandwidth: 5 * M, bandwidth_schedule: '1M:256k' });
    expect([up.rate, down.rate]).toEqual([M, 256 * K]);
    limits.apply({ bandwidth: 0 });
    expect([up.rate, down.rate]).toEqual([0, 0]);
    limits.stop();
  });
});
