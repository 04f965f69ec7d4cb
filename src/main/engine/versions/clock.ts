/** Milliseconds since the epoch; passed in so that pruning by age can be tested without waiting. */
export type Clock = () => number;

/**
 * The process's clock. `FERRY_CLOCK_SHIFT_MS` (tests only, like FERRY_KILL_POINT) moves it, so that a
 * test of the real binary can keep versions "days" apart and see them pruned by age.
 */
export function processClock(): Clock {
  const shift = Number(process.env.FERRY_CLOCK_SHIFT_MS ?? 0);
  const offset = Number.isFinite(shift) ? shift : 0;
  return () => Date.now() + offset;
}
