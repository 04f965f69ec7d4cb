/**
 * How well the bandwidth cap holds: four big files to a local destination under a 20 MiB/s cap, by
 * the daemon and by `rclone copy --bwlimit 20M --transfers 4`, each watched at the destination file
 * by file (test/helpers/capMeter.ts). Figures: the worst 3 s window against the cap (the requirement:
 * at most 1.10) and the mean rate from first byte to last against the cap (how much of it is used).
 * Runnable alone: `node --import tsx test/bench/capBench.ts`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../e2e/harness';
import { ArrivalMeter } from '../helpers/capMeter';
import { runStandalone } from './standalone';
import type { BenchOptions } from './versusRclone';

export const CAP = 20 * 1024 * 1024;

export type CapRun = { worst3s: number; windows: number; meanOfCap: number; sec: number };
export type CapFigures = { cap: number; files: number; bytes: number; ferry: CapRun[]; rclone: CapRun[] };

async function watch(dest: string, bytes: number, run: () => Promise<void>): Promise<CapRun> {
  const meter = new ArrivalMeter(dest, 50);
  meter.start();
  const t = performance.now();
  try {
    await run();
  } finally {
    meter.stop();
  }
  const sec = (performance.now() - t) / 1000;
  const worst = meter.worstWindow(CAP, 3000);
  const copying = meter.activeSpanMs() / 1000;
  return { worst3s: worst.ratio, windows: worst.windows, meanOfCap: bytes / copying / CAP, sec };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 600_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function capBench(opts: BenchOptions): Promise<CapFigures> {
  const files = 4;
  const size = Math.max(8, Math.round(64 * opts.scale)) * 1024 * 1024;
  const src = join(opts.dir, 'src');
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(src, `big${i}.bin`), randomBytes(size));
  const figures: CapFigures = { cap: CAP, files, bytes: files * size, ferry: [], rclone: [] };
  const arrived = (dest: string) => readdirSync(dest).filter((n) => n.startsWith('big')).length === files;
  for (let r = 0; r < opts.runs; r++) {
    const dest = join(opts.dir, `ferry-${r}`);
    const state = join(opts.dir, `state-${r}`);
    mkdirSync(dest);
    const config = join(opts.dir, `ferry-${r}.yml`);
    writeFileSync(
      config,
      `folders:\n  - { id: work, path: ${JSON.stringify(src)} }\ndestinations:\n  - { id: nas, type: local, path: ${JSON.stringify(dest)} }\nrules:\n  - { name: all, from: [work], to: [nas] }\nsettings:\n  bandwidth: ${CAP}\n  transfers: ${files}\n`,
    );
    const daemon = await startDaemon(config, state, join(opts.dir, `ferry-${r}.log`));
    try {
      const f = await watch(dest, figures.bytes, () => until(() => arrived(dest), 'Ferry to copy'));
      figures.ferry.push(f);
      opts.log(
        `  ferry:  worst 3 s ${f.worst3s.toFixed(3)} × cap, mean ${f.meanOfCap.toFixed(3)} × cap (${f.sec.toFixed(1)} s)`,
      );
    } finally {
      await daemon.stop();
    }
    rmSync(dest, { recursive: true, force: true });
    const peerDest = join(opts.dir, `rclone-${r}`);
    mkdirSync(peerDest);
    const p = await watch(peerDest, figures.bytes, async () => {
      const child = spawn(
        'rclone',
        ['copy', src, peerDest, '--transfers', `${files}`, '--bwlimit', '20M', '--config', '/dev/null'],
        {
          stdio: 'ignore',
        },
      );
      await new Promise<void>((resolve, reject) =>
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`rclone exited ${code}`)))),
      );
    });
    figures.rclone.push(p);
    opts.log(
      `  rclone: worst 3 s ${p.worst3s.toFixed(3)} × cap, mean ${p.meanOfCap.toFixed(3)} × cap (${p.sec.toFixed(1)} s)`,
    );
    rmSync(peerDest, { recursive: true, force: true });
  }
  return figures;
}

runStandalone('capBench', capBench);
