import type { Settings } from '../../../shared/config';
import {
  limitAt,
  parseBandwidthSchedule,
  type BandwidthSchedule,
  type InForce,
} from '../../../shared/bandwidthSchedule';
import { Bandwidth } from './bandwidth';

/** The wall clock and its timers, injected so that tests can move through a week in no time. */
export type ScheduleClock = {
  now(): Date;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
};

export const systemClock: ScheduleClock = {
  now: () => new Date(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * A wall clock may jump (sleep, a time zone or DST change): the schedule is looked at again at least
 * this often, not only at the next change it predicted.
 */
const RECHECK_MS = 60_000;

export type BandwidthSettings = Pick<Settings, 'bandwidth' | 'bandwidth_schedule'>;

/**
 * The caps every transfer books from: one for uploads (local copies included), one for downloads,
 * set from `settings.bandwidth_schedule` as the clock goes round the week (else `settings.bandwidth`,
 * both ways). `apply` takes new settings at once, without stopping the transfers that book from them.
 */
export class BandwidthLimits {
  readonly up: Bandwidth;
  readonly down: Bandwidth;
  private schedule: BandwidthSchedule | undefined;
  private flat = 0;
  private timer: unknown;
  private stopped = false;

  constructor(
    settings: BandwidthSettings,
    private readonly clock: ScheduleClock = systemClock,
  ) {
    this.up = new Bandwidth(0);
    this.down = new Bandwidth(0);
    this.apply(settings);
  }

  apply(settings: BandwidthSettings): void {
    this.schedule =
      settings.bandwidth_schedule === undefined || settings.bandwidth_schedule.trim() === ''
        ? undefined
        : parseBandwidthSchedule(settings.bandwidth_schedule);
    this.flat = settings.bandwidth;
    this.tick();
  }

  /** The limit in force now and until when; `scheduled` when a schedule sets it. */
  inForce(): InForce & { scheduled: boolean } {
    if (!this.schedule)
      return { limit: { up: this.flat, down: this.flat }, since: undefined, until: undefined, scheduled: false };
    return { ...limitAt(this.schedule, this.clock.now()), scheduled: true };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.inForce();
    this.up.setRate(now.limit.up);
    this.down.setRate(now.limit.down);
    if (!now.until) return;
    const ms = Math.max(1, Math.min(RECHECK_MS, now.until.getTime() - this.clock.now().getTime()));
    this.timer = this.clock.setTimer(() => this.tick(), ms);
  }
}
