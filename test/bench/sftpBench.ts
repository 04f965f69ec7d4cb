/**
 * The SFTP scenario: Ferry's `sync --once` against `rclone copy --transfers N` (Debian's rclone, its
 * sftp backend) to the same `rclone serve sftp` on loopback, same transfers, interleaved (ferry,
 * rclone, rclone, ferry …), each run into a fresh folder, every copy verified byte for byte afterwards
 * in the server's data folder.
 *
 *   small  1,000 × 64 KiB (× scale) in 10 folders: files/s
 *   big    10 × 100 MB (× scale, at least 1): MB/s
 *
 * Both verify what they send with the server's md5sum over exec (rclone serve sftp offers it). Ferry's
 * time includes what a person waits for: start, scan and hash (fresh state), the listing, the uploads.
 * rclone copy's includes its listing of the (empty) destination. rclone runs from RCLONE_CONFIG_BENCH_*
 * environment variables (no config file) and without AWS_CA_BUNDLE.
 *
 * Standalone: `npx tsx test/bench/sftpBench.ts` (BENCH_SCALE, BENCH_RUNS, BENCH_DIR); it builds
 * nothing: run `npm run build:node` first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startRcloneSftp } from '../servers/sshd';

export type SftpFigures = {
  transfers: number;
  small: { files: number; bytesEach: number; ferryFilesPerSec: number; rcloneFilesPerSec: number; ratio: number };
  big: { files: number; bytesEach: number; ferryMBps: number; rcloneMBps: number; ratio: number };
  runs: number;
  samples: { tool: 'ferry' | 'rclone'; set: 'small' | 'big'; seconds: number }[];
};

const KiB = 1024;
const MB = 1e6;
const TRANSFERS = 4;

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

/** The copy in the server's data folder is exact (rclone's VFS hands files over just after close: wait a little). */
async function verify(src: Map<string, string>, root: string, what: string): Promise<void> {
  let problem = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const got = existsDir(root) ? hashes(root) : new Map<string, string>();
    problem = '';
    if (got.size !== src.size) problem = `${got.size} files at the destination, ${src.size} expected`;
    else for (const [p, h] of src) if (got.get(p) !== h) problem = `${p} differs at the destination`;
    if (problem === '') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: ${problem}`);
}

function writeData(small: string, big: string, smallCount: number, bigCount: number, bigSize: number): void {
  for (let i = 0; i < smallCount; i++) {
    const d = join(small, `d${i % 10}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.bin`), randomBytes(64 * KiB));
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

export async function sftpBench(opts: {
  dir: string;
  runs: number;
  scale: number;
  cli: string;
  log: (s: string) => void;
}): Promise<SftpFigures> {
  const { dir, runs, scale, cli, log } = opts;
  const smallCount = Math.max(50, Math.round(1000 * scale));
  const bigCount = Math.max(1, Math.round(10 * scale));
  const smallSize = 64 * KiB;
  const bigSize = 100 * MB;
  const data = join(dir, 'sftp-data');
  const small = join(data, 'small');
  const big = join(data, 'big');
  if (!existsDir(small) || readdirSync(small).length === 0) {
    log(`sftp: writing ${smallCount} × 64 KiB and ${bigCount} × 100 MB`);
    writeData(small, big, smallCount, bigCount, bigSize);
  }
  const srcHashes = { small: hashes(small), big: hashes(big) };
  const server = await startRcloneSftp();
  const obscured = execFileSync('rclone', ['obscure', server.password as string], { encoding: 'utf8' }).trim();
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_BENCH_TYPE: 'sftp',
    RCLONE_CONFIG_BENCH_HOST: server.host,
    RCLONE_CONFIG_BENCH_PORT: String(server.port),
    RCLONE_CONFIG_BENCH_USER: server.user,
    RCLONE_CONFIG_BENCH_PASS: obscured,
  };
  delete rcloneEnv.AWS_CA_BUNDLE;
  const samples: SftpFigures['samples'] = [];
  try {
    for (let r = 1; r <= runs; r++) {
      for (const set of ['small', 'big'] as const) {
        const order: ('ferry' | 'rclone')[] = r % 2 === 1 ? ['ferry', 'rclone'] : ['rclone', 'ferry'];
        for (const tool of order) {
          const folder = `${tool}-${set}-${r}`;
          const src = set === 'small' ? small : big;
          hashes(src); // back in the page cache, for both tools alike
          let seconds: number;
          if (tool === 'ferry') {
            const work = mkdtempSync(join(dir, 'ferry-state-'));
            const config = join(work, 'ferry.yml');
            writeFileSync(
              config,
              [
                'folders:',
                '  - id: src',
                `    path: ${JSON.stringify(src)}`,
                'destinations:',
                '  - id: box',
                '    type: sftp',
                `    host: ${server.host}`,
                `    port: ${server.port}`,
                `    user: ${server.user}`,
                '    password: env:BENCH_SFTP_PASSWORD',
                `    host_key: ${server.hostKey}`,
                '    path: /',
                `    prefix: ${folder}`,
                `    connections: ${TRANSFERS}`,
                'rules:',
                '  - name: all',
                '    from: [src]',
                '    to: [box]',
                `settings:\n  transfers: ${TRANSFERS}\n  state_dir: ${JSON.stringify(join(work, 'state'))}`,
                '',
              ].join('\n'),
            );
            const t0 = performance.now();
            const res = await run(process.execPath, [cli, 'sync', '--once', '--json', '--config', config], {
              ...process.env,
              BENCH_SFTP_PASSWORD: server.password,
            });
            seconds = (performance.now() - t0) / 1000;
            if (res.code !== 0) throw new Error(`ferry sync failed (${res.code}):\n${res.out}`);
          } else {
            const t0 = performance.now();
            const res = await run(
              'rclone',
              ['copy', src, `bench:${folder}`, '--transfers', String(TRANSFERS), '--config', '/dev/null'],
              rcloneEnv,
            );
            seconds = (performance.now() - t0) / 1000;
            if (res.code !== 0) throw new Error(`rclone copy failed (${res.code}):\n${res.out}`);
          }
          await verify(srcHashes[set], join(server.dataDir, folder), `${tool} ${set} run ${r}`);
          samples.push({ tool, set, seconds });
          const count = set === 'small' ? smallCount : bigCount;
          const bytes = count * (set === 'small' ? smallSize : bigSize);
          log(
            `sftp ${set} run ${r} ${tool.padEnd(6)} ${seconds.toFixed(2)} s  ${(count / seconds).toFixed(0)} files/s  ${(bytes / MB / seconds).toFixed(1)} MB/s  (verified)`,
          );
        }
      }
    }
  } finally {
    await server.stop();
  }
  const med = (tool: 'ferry' | 'rclone', set: 'small' | 'big') =>
    median(samples.filter((s) => s.tool === tool && s.set === set).map((s) => s.seconds));
  const ferrySmall = smallCount / med('ferry', 'small');
  const rcloneSmall = smallCount / med('rclone', 'small');
  const ferryBig = (bigCount * bigSize) / MB / med('ferry', 'big');
  const rcloneBig = (bigCount * bigSize) / MB / med('rclone', 'big');
  const figures: SftpFigures = {
    transfers: TRANSFERS,
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
    `sftp small (${smallCount} × 64 KiB): ferry ${ferrySmall.toFixed(0)} files/s, rclone ${rcloneSmall.toFixed(0)} files/s, ratio ${figures.small.ratio.toFixed(2)}`,
  );
  log(
    `sftp big (${bigCount} × 100 MB): ferry ${ferryBig.toFixed(1)} MB/s, rclone ${rcloneBig.toFixed(1)} MB/s, ratio ${figures.big.ratio.toFixed(2)}`,
  );
  return figures;
}

function existsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

if (process.argv[1] && /sftpBench\.[cm]?[jt]s$/.test(process.argv[1])) {
  const given = process.env.BENCH_DIR;
  const dir = given ?? mkdtempSync(join(tmpdir(), 'ferry-sftp-bench-'));
  sftpBench({
    dir,
    runs: Number(process.env.BENCH_RUNS ?? 3),
    scale: Number(process.env.BENCH_SCALE ?? 1),
    cli: join(__dirname, '..', '..', 'out', 'node', 'cli.js'),
    log: (s) => console.log(s),
  }).then(
    (f) => {
      console.log(JSON.stringify({ small: f.small, big: f.big, transfers: f.transfers, runs: f.runs }, null, 2));
      if (!given) rmSync(dir, { recursive: true, force: true });
    },
    (err: unknown) => {
      console.error(err);
      if (!given) rmSync(dir, { recursive: true, force: true });
      process.exitCode = 1;
    },
  );
}
