/**
 * The shared shape of the network-destination benches: Ferry's `sync --once` against `rclone copy
 * --transfers N` to the same server on loopback, same transfers, interleaved (ferry, rclone, rclone,
 * ferry …), each run into a fresh folder (never delete between runs: ext4 slows down for a while after
 * mass deletes), every copy verified byte for byte afterwards in the server's data folder.
 *
 * Ferry's time includes what a person waits for: start, scan and hash (fresh state), the listing, the
 * uploads. rclone copy's includes its listing of the (empty) destination. rclone runs from
 * RCLONE_CONFIG_BENCH_* environment variables (no config file) and without AWS_CA_BUNDLE.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';

export type NetworkFigures = {
  transfers: number;
  small: { files: number; bytesEach: number; ferryFilesPerSec: number; rcloneFilesPerSec: number; ratio: number };
  big: { files: number; bytesEach: number; ferryMBps: number; rcloneMBps: number; ratio: number };
  runs: number;
  samples: { tool: 'ferry' | 'rclone'; set: 'small' | 'big'; seconds: number }[];
};

export type BenchOptions = { dir: string; runs: number; scale: number; cli: string; log: (s: string) => void };

/** What differs between destinations: how Ferry and rclone reach the server, and where files land. */
export type ServerSide = {
  name: string;
  transfers: number;
  /** The server's folder on disk, where each run's folder is checked. */
  dataDir: string;
  /** The YAML lines of Ferry's destination (id `box`) for a run's folder, indented as list items. */
  ferryDestination: (folder: string) => string[];
  /** Environment for Ferry (the secrets its destination refers to). */
  ferryEnv: NodeJS.ProcessEnv;
  /** RCLONE_CONFIG_BENCH_* variables for rclone's `bench:` remote. */
  rcloneConfig: Record<string, string>;
  /** Prepares a run's folder on the server when the destination needs it to exist. */
  beforeFerry?: (folder: string) => Promise<void>;
  /** Servers that hand files over just after close (rclone's VFS) are polled for a moment. */
  settles?: boolean;
};

const KiB = 1024;
const MB = 1e6;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

function existsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const abs = join(dir, n);
      if (statSync(abs).isDirectory()) walk(abs);
      else out.set(relative(root, abs), createHash('sha256').update(readFileSync(abs)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

async function verify(src: Map<string, string>, root: string, what: string, settles: boolean): Promise<void> {
  let problem = '';
  for (let attempt = 0; attempt < (settles ? 50 : 1); attempt++) {
    const got = existsDir(root) ? hashes(root) : new Map<string, string>();
    problem = '';
    if (got.size !== src.size) problem = `${got.size} files at the destination, ${src.size} expected`;
    else for (const [p, h] of src) if (got.get(p) !== h) problem = `${p} differs at the destination`;
    if (problem === '') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: ${problem}`);
}

/** 1,000 × 64 KiB in ten folders and 10 × 100 MB (scaled), different bytes per file and chunk. */
export function benchData(dir: string, scale: number, log: (s: string) => void) {
  const smallCount = Math.max(50, Math.round(1000 * scale));
  const bigCount = Math.max(1, Math.round(10 * scale));
  const smallSize = 64 * KiB;
  const bigSize = 100 * MB;
  const small = join(dir, 'small');
  const big = join(dir, 'big');
  if (!existsDir(small) || readdirSync(small).length === 0) {
    log(`writing ${smallCount} × 64 KiB and ${bigCount} × 100 MB`);
    for (let i = 0; i < smallCount; i++) {
      const d = join(small, `d${i % 10}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}.bin`), randomBytes(smallSize));
    }
    mkdirSync(big, { recursive: true });
    for (let i = 0; i < bigCount; i++) {
      const chunk = randomBytes(4 * 1024 * 1024);
      const parts: Buffer[] = [];
      for (let off = 0; off < bigSize; off += chunk.length) {
        const c = Buffer.from(chunk.subarray(0, Math.min(chunk.length, bigSize - off)));
        c.writeUInt32LE(i, 0);
        c.writeUInt32LE(off / chunk.length, 4);
        parts.push(c);
      }
      writeFileSync(join(big, `big-${i}.bin`), Buffer.concat(parts));
    }
  }
  return { small, big, smallCount, bigCount, smallSize, bigSize };
}

export async function versusRclone(opts: BenchOptions, data: ReturnType<typeof benchData>, server: ServerSide) {
  const { dir, runs, cli, log } = opts;
  const { small, big, smallCount, bigCount, smallSize, bigSize } = data;
  const srcHashes = { small: hashes(small), big: hashes(big) };
  const rcloneEnv: NodeJS.ProcessEnv = { ...process.env, ...server.rcloneConfig };
  delete rcloneEnv.AWS_CA_BUNDLE;
  const samples: NetworkFigures['samples'] = [];
  for (let r = 1; r <= runs; r++) {
    for (const set of ['small', 'big'] as const) {
      const order: ('ferry' | 'rclone')[] = r % 2 === 1 ? ['ferry', 'rclone'] : ['rclone', 'ferry'];
      for (const tool of order) {
        const folder = `${tool}-${set}-${r}`;
        const src = set === 'small' ? small : big;
        hashes(src); // back in the page cache, for both tools alike
        let seconds: number;
        if (tool === 'ferry') {
          await server.beforeFerry?.(folder);
          const work = mkdtempSync(join(dir, 'ferry-state-'));
          const config = join(work, 'ferry.yml');
          const yaml = [
            'folders:',
            '  - id: src',
            `    path: ${JSON.stringify(src)}`,
            'destinations:',
            ...server.ferryDestination(folder),
            'rules:',
            '  - name: all',
            '    from: [src]',
            '    to: [box]',
            `settings:\n  transfers: ${server.transfers}\n  state_dir: ${JSON.stringify(join(work, 'state'))}`,
            '',
          ];
          writeFileSync(config, yaml.join('\n'));
          const t0 = performance.now();
          const res = await run(process.execPath, [cli, 'sync', '--once', '--json', '--config', config], {
            ...process.env,
            ...server.ferryEnv,
          });
          seconds = (performance.now() - t0) / 1000;
          if (res.code !== 0) throw new Error(`ferry sync failed (${res.code}):\n${res.out}`);
        } else {
          const t0 = performance.now();
          const args = [
            'copy',
            src,
            `bench:${folder}`,
            '--transfers',
            String(server.transfers),
            '--config',
            '/dev/null',
          ];
          const res = await run('rclone', args, rcloneEnv);
          seconds = (performance.now() - t0) / 1000;
          if (res.code !== 0) throw new Error(`rclone copy failed (${res.code}):\n${res.out}`);
        }
        const what = `${server.name} ${tool} ${set} run ${r}`;
        await verify(srcHashes[set], join(server.dataDir, folder), what, server.settles ?? false);
        samples.push({ tool, set, seconds });
        const count = set === 'small' ? smallCount : bigCount;
        const bytes = count * (set === 'small' ? smallSize : bigSize);
        log(
          `${what}: ${seconds.toFixed(2)} s  ${(count / seconds).toFixed(0)} files/s  ${(bytes / MB / seconds).toFixed(1)} MB/s  (verified)`,
        );
      }
    }
  }
  const med = (tool: 'ferry' | 'rclone', set: 'small' | 'big') =>
    median(samples.filter((s) => s.tool === tool && s.set === set).map((s) => s.seconds));
  const ferrySmall = smallCount / med('ferry', 'small');
  const rcloneSmall = smallCount / med('rclone', 'small');
  const ferryBig = (bigCount * bigSize) / MB / med('ferry', 'big');
  const rcloneBig = (bigCount * bigSize) / MB / med('rclone', 'big');
  const figures: NetworkFigures = {
    transfers: server.transfers,
    small: {
      files: smallCount,
      bytesEach: smallSize,
      ferryFilesPerSec: ferrySmall,
      rcloneFilesPerSec: rcloneSmall,
      ratio: ferrySmall / rcloneSmall,
    },
    big: {
      files: bigCount,
      bytesEach: bigSize,
      ferryMBps: ferryBig,
      rcloneMBps: rcloneBig,
      ratio: ferryBig / rcloneBig,
    },
    runs,
    samples,
  };
  log(
    `${server.name} small (${smallCount} × 64 KiB): ferry ${ferrySmall.toFixed(0)} files/s, rclone ${rcloneSmall.toFixed(0)} files/s, ratio ${figures.small.ratio.toFixed(2)}`,
  );
  log(
    `${server.name} big (${bigCount} × 100 MB): ferry ${ferryBig.toFixed(1)} MB/s, rclone ${rcloneBig.toFixed(1)} MB/s, ratio ${figures.big.ratio.toFixed(2)}`,
  );
  return figures;
}
