/**
 * Does the engine keep the process that hosts it responsive while it hashes? The desktop app runs the
 * engine in Electron's main process (hashing and copying happen in worker threads); this measures what
 * the window would feel there: the round trip of `status:get` to the daemon (the same engine, the same
 * process layout) every 50 ms during a cold first sync of 1 GiB, against the same requests when idle.
 * Runnable alone: `node --import tsx test/bench/engineLagBench.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../e2e/harness';
import { runStandalone } from './standalone';
import type { BenchOptions } from './versusRclone';

export type LagFigures = {
  files: number;
  bytes: number;
  busy: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
  idle: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
  syncSec: number;
};

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { samples: s.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: s[s.length - 1] ?? 0 };
}

export async function engineLagBench(opts: BenchOptions): Promise<LagFigures> {
  const files = Math.max(16, Math.round(1024 * opts.scale));
  const size = 1024 * 1024;
  const [src, dest, state] = ['src', 'dest', 'state'].map((d) => join(opts.dir, d)) as [string, string, string];
  for (const d of [src, dest, state]) mkdirSync(d, { recursive: true });
  const block = randomBytes(size);
  for (let i = 0; i < files; i++) {
    block.writeUInt32LE(i, 0); // every file distinct
    writeFileSync(join(src, `f${String(i).padStart(5, '0')}.bin`), block);
  }
  const config = join(opts.dir, 'ferry.yml');
  writeFileSync(
    config,
    `folders:\n  - { id: work, path: ${JSON.stringify(src)} }\ndestinations:\n  - { id: nas, type: local, path: ${JSON.stringify(dest)} }\nrules:\n  - { name: all, from: [work], to: [nas] }\n`,
  );
  const daemon = await startDaemon(config, state, join(opts.dir, 'ferry.log'));
  const ask = async () => {
    const t = performance.now();
    const res = await fetch(`${daemon.url}/api/status:get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${daemon.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { state: string; queue: { pending: number; active: number } };
    return { ms: performance.now() - t, body };
  };
  try {
    const busy: number[] = [];
    const started = performance.now();
    let sawWork = false;
    for (;;) {
      const { ms, body } = await ask();
      busy.push(ms);
      const working = body.state !== 'idle' || body.queue.pending + body.queue.active > 0;
      sawWork ||= working;
      if (sawWork && !working) break;
      if (performance.now() - started > 300_000) throw new Error('the first sync did not finish in 5 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    const syncSec = (performance.now() - started) / 1000;
    const idle: number[] = [];
    for (let i = 0; i < 100; i++) {
      idle.push((await ask()).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
    opts.log(
      `  ${files} × 1 MiB synced in ${syncSec.toFixed(1)} s; status:get p99 ${stats(busy).p99Ms.toFixed(1)} ms busy, ${stats(idle).p99Ms.toFixed(1)} ms idle`,
    );
    return { files, bytes: files * size, busy: stats(busy), idle: stats(idle), syncSec };
  } finally {
    await daemon.stop();
  }
}

runStandalone('engineLagBench', engineLagBench);
