import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArrivalMeter } from '../helpers/capMeter';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/daemon';
import { snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
let daemon: Daemon | undefined;
let meter: ArrivalMeter | undefined;

afterEach(async () => {
  meter?.stop();
  meter = undefined;
  await stopDaemon(daemon);
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

/** The requirement: the cap holds within 10 % over any 3 s. */
const TOLERANCE = 1.1;
const WINDOW_MS = 3000;

async function until(what: string, check: () => boolean, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the bandwidth cap', () => {
  it('holds within 10 % over every 3 s window for four local copies at once (file-worker copies share the cap)', async () => {
    const cap = 8_000_000;
    const files = 4;
    const size = 20 * 1024 * 1024;
    // Some ten seconds of copying at the cap: three windows of 3 s end to end, and many overlapping ones.
    const w = (ws = workspace({ rules: [{ mode: 'backup' }], settings: `  bandwidth: ${cap}\n  transfers: ${files}` }));
    for (let i = 0; i < files; i++) writeFileSync(join(w.src, `big${i}.bin`), randomBytes(size));
    meter = new ArrivalMeter(w.dest);
    meter.start();
    daemon = await startDaemon(w);
    const arrived = () => readdirSync(w.dest).filter((n) => n.startsWith('big')).length === files;
    await until('every file to arrive', arrived, 180_000);
    meter.stop();
    expect(meter.bytes).toBeGreaterThanOrEqual(files * size);
    const worst = meter.worstWindow(cap, WINDOW_MS);
    console.log(`worst 3 s window: ${worst.ratio.toFixed(3)} × the cap over ${worst.windows} windows`);
    expect(worst.windows).toBeGreaterThan(10);
    expect(worst.ratio).toBeLessThanOrEqual(TOLERANCE);
    expect(snapshot(w.dest)).toEqual(snapshot(w.src));
  });
});
