/**
 * With FERRY_TRACE_PHASES set, each step of a pass prints its time and the process's memory to stderr:
 * how the figures of the scale bench break down, without a profiler.
 */
const on = Boolean(process.env.FERRY_TRACE_PHASES);
const t0 = performance.now();
let last = t0;

export function phase(name: string): void {
  if (!on) return;
  const now = performance.now();
  const m = process.memoryUsage();
  const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
  process.stderr.write(
    `[phase] ${name.padEnd(28)} +${((now - last) / 1000).toFixed(2)} s (at ${((now - t0) / 1000).toFixed(2)} s) rss ${mb(m.rss)} peak ${mb(process.resourceUsage().maxRSS * 1024)} heap ${mb(m.heapUsed)} ext ${mb(m.external + m.arrayBuffers)}\n`,
  );
  last = now;
}

if (on) setInterval(() => phase('…'), 5000).unref();
