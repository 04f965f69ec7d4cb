/** Time as the desktop modules see it: injectable, so tests drive it with fake clocks. */
export type Timers = {
  /** Runs `fn` once after `ms`; returns the function that cancels it. */
  set: (fn: () => void, ms: number) => () => void;
  now: () => number;
};

/** The real clock. Timers never keep the process alive: quitting is the app's decision, not a timer's. */
export const systemTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  now: () => Date.now(),
};
