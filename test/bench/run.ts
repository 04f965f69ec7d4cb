/**
 * Ferry's benchmarks: `npm run bench` (builds out/node first, then runs this file under tsx).
 *
 * Every scenario times Ferry against a peer on the same data, interleaved (ferry, peer, ferry, peer …),
 * and reports medians and the ratio ferry/peer (> 1 means Ferry is faster). See docs in
 * /work/shared/docs/BENCH.md for why these peers and the traps avoided here.
 *
 * Environment:
 *   BENCH_SCALE  multiplies file counts (default 1: 20k files ≈ 1 GiB, 10k small files, 100 × 10 MiB,
 *                100k tiny files in 1,000 folders for watchers/daemon-idle, 500 latency samples)
 *   BENCH_RUNS   timed runs per tool (default 3); medians are reported. latency and daemon-idle run once
 *                (latency's repetitions are its samples, alternated Ferry/peer one by one)
 *   BENCH_DIR    working directory (default a fresh /tmp/ferry-bench-<ts>, deleted at the end). When
 *                given, the generated data under BENCH_DIR/data is kept and reused by the next run.
 *   BENCH_ONLY   comma list of scenarios: cold-index,warm-rescan,small-files,big-files,watchers,latency,daemon-idle,scale,oneshot,rules,s3,webdav,sftp,window,engine-lag,cap,readonce
 *   BENCH_SCALE_FILES  files in the scale and oneshot scenarios' folder (default 100000; 300000 for issue 18's target size)
 *   BENCH_KEEP   1 = keep the copies and state dirs of this run (for inspection)
 *
 * The live scenarios (Linux only: they read /proc):
 *   watchers     each watcher backend in a child process of its own (test/bench/watchProbe.ts): time to
 *                ready, RSS added, inotify watches held, write-to-event latency
 *   latency      change-to-shipped latency of the real daemon vs inotifywait piped to cp
 *   daemon-idle  CPU and RSS of the real daemon watching 100k files once its first sync is done
 *   scale        one edit → shipped (p50/p99) and the daemon's CPU per edit in a folder of 100k files
 *                (BENCH_SCALE_FILES), vs inotifywait piped to cp over a tree of the same size
 *   oneshot      cold and no-op `ferry sync --once` of that folder (BENCH_SCALE_FILES) to a local
 *                destination, time and peak RSS, vs `rsync -a` and `rsync -a --fsync` on the same data
 *
 * Results: stdout (a line per tool, a Markdown table at the end) and test/bench/results-latest.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FolderConfig } from '../../src/shared/config';
import type { StatusResult } from '../../src/shared/contract';
import { EventBus } from '../../src/main/engine/events';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { prng } from '../helpers/tree';
import type { RulesFigures } from './rulesBench';
import { s3Bench } from './s3Bench';
import { sftpBench } from './sftpBench';
import { webdavBench } from './webdavBench';
import { windowBench } from './windowBench';
import { engineLagBench } from './engineLagBench';
import { capBench } from './capBench';
import { readOnceBench } from './readOnceBench';
import type { ProbeMessage } from './watchProbe';
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const MB = 1e6;

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'out', 'node', 'cli.js');
const RESULTS = join(__dirname, 'results-latest.json');
const WATCH_PROBE = join(__dirname, 'watchProbe.ts');

const SCENARIOS = [
  'cold-index',
  'warm-rescan',
  'small-files',
  'big-files',
  'watchers',
  'latency',
  'daemon-idle',
  'scale',
  'oneshot',
  'rules',
  's3',
  'webdav',
  'sftp',
  'window',
  'engine-lag',
  'cap',
  'readonce',
] as const;
type ScenarioName = (typeof SCENARIOS)[number];

// ---- options -------------------------------------------------------------------------------------

type Options = {
  scale: number;
  runs: number;
  dir: string;
  dirGiven: boolean;
  runDir: string;
  only: ScenarioName[];
  keep: boolean;
};

function options(): Options {
  const env = process.env;
  const scale = env.BENCH_SCALE ? Number(env.BENCH_SCALE) : 1;
  if (!Number.isFinite(scale) || scale <= 0)
    throw new Error(`BENCH_SCALE must be a positive number: ${env.BENCH_SCALE}`);
  const runs = env.BENCH_RUNS ? Number(env.BENCH_RUNS) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be an integer ≥ 1: ${env.BENCH_RUNS}`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const dirGiven = Boolean(env.BENCH_DIR);
  const dir = env.BENCH_DIR ? env.BENCH_DIR : join(tmpdir(), `ferry-bench-${stamp}`);
  let only: ScenarioName[] = [...SCENARIOS];
  if (env.BENCH_ONLY) {
    const asked = env.BENCH_ONLY.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = asked.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
    if (unknown.length > 0)
      throw new Error(`BENCH_ONLY: unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
    only = SCENARIOS.filter((s) => asked.includes(s));
  }
  // Every run writes into its own fresh directory: never delete between runs (BENCH.md trap).
  const runDir = join(dir, `run-${stamp}-${process.pid}`);
  return { scale, runs, dir, dirGiven, runDir, only, keep: env.BENCH_KEEP === '1' };
}

// ---- data sets -----------------------------------------------------------------------------------

type FileSpec = { rel: string; size: number };
type DatasetSpec = { name: string; files: FileSpec[]; bytes: number; folders: number };
type Dataset = DatasetSpec & { dir: string };

function shuffle<T>(items: T[], rnd: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The cold-index tree: most files 4–64 KiB (log-uniform), some 1–8 MiB, a few 20–50 MiB, sized so the
 * total is ≈ 1 GiB × scale (the big files absorb the remainder), in ≈ 200 × scale folders.
 */
function treeSpec(scale: number): DatasetSpec {
  const rnd = prng(20_000);
  const count = Math.max(10, Math.round(20_000 * scale));
  const nMedium = Math.max(1, Math.round(100 * scale));
  const folders = Math.max(2, Math.round(200 * scale));
  const target = GiB * scale;
  const medium = Array.from({ length: nMedium }, () => Math.round(MiB + rnd() * 7 * MiB));
  // Small files: log-uniform between 4 and 64 KiB (mean ≈ 21.6 KiB).
  const smallCount = (nLarge: number) => count - nMedium - nLarge;
  const estLarge = Math.max(1, Math.round((target - sum(medium) - smallCount(1) * 21.6 * KiB) / (35 * MiB)));
  const small = Array.from({ length: smallCount(estLarge) }, () => Math.round(4 * KiB * 16 ** rnd()));
  const remaining = target - sum(medium) - sum(small);
  let large = Array.from({ length: estLarge }, () => 20 * MiB + rnd() * 30 * MiB);
  const factor = remaining > 0 ? remaining / sum(large) : 0;
  large = large.map((s) => Math.round(Math.min(50 * MiB, Math.max(20 * MiB, s * factor))));
  const sizes = shuffle([...small, ...medium, ...large], rnd);
  const exts = ['jpg', 'txt', 'bin', 'pdf', 'dat', 'raw', 'md', 'zip'];
  const files = sizes.map((size, i) => {
    const d = i % folders;
    return {
      rel: `g${String(Math.floor(d / 10)).padStart(2, '0')}/d${String(d).padStart(3, '0')}/f${String(i).padStart(5, '0')}.${exts[i % exts.length]}`,
      size,
    };
  });
  return { name: 'tree', files, bytes: sum(sizes), folders };
}

function smallSpec(scale: number): DatasetSpec {
  const count = Math.max(10, Math.round(10_000 * scale));
  const folders = Math.max(1, Math.round(100 * scale));
  const files = Array.from({ length: count }, (_, i) => ({
    rel: `d${String(i % folders).padStart(3, '0')}/s${String(i).padStart(5, '0')}.dat`,
    size: 4 * KiB,
  }));
  return { name: 'small', files, bytes: count * 4 * KiB, folders };
}

function bigSpec(scale: number): DatasetSpec {
  const count = Math.max(2, Math.round(100 * scale));
  const files = Array.from({ length: count }, (_, i) => ({
    rel: `b${String(i).padStart(3, '0')}.bin`,
    size: 10 * MiB,
  }));
  return { name: 'big', files, bytes: count * 10 * MiB, folders: 1 };
}

/** 100k tiny (64-byte) files in 1,000 folders (10 groups of 100), for the watchers and the idle daemon. */
function watchSpec(scale: number): DatasetSpec {
  const count = Math.max(100, Math.round(100_000 * scale));
  const folders = Math.max(10, Math.round(1_000 * scale));
  const files = Array.from({ length: count }, (_, i) => {
    const d = i % folders;
    return {
      rel: `g${String(Math.floor(d / 100)).padStart(2, '0')}/d${String(d).padStart(4, '0')}/w${String(i).padStart(6, '0')}.txt`,
      size: 64,
    };
  });
  return { name: 'watch', files, bytes: count * 64, folders };
}

/** Regular files and their total size under `dir` (everything counted, hidden and temp names too). */
function treeStats(dir: string): { files: number; bytes: number; other: string[] } {
  let files = 0;
  let bytes = 0;
  const other: string[] = [];
  const visit = (abs: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const p = join(abs, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) {
        files++;
        bytes += statSync(p).size;
      } else other.push(p);
    }
  };
  visit(dir);
  return { files, bytes, other };
}

/**
 * Writes a data set once: contents are an AES-256-CTR keystream (incompressible, distinct per file,
 * deterministic, ~GB/s). A manifest beside the folder lets a later run with the same spec reuse it.
 */
function ensureDataset(root: string, spec: DatasetSpec): Dataset {
  const dir = join(root, 'data', spec.name);
  const manifest = `${dir}.manifest.json`;
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 1, files: spec.files }))
    .digest('hex');
  const ds = { ...spec, dir };
  if (existsSync(manifest) && existsSync(dir)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { key?: string };
    const st = treeStats(dir);
    if (m.key === key && st.files === spec.files.length && st.bytes === spec.bytes) {
      log(`  data ${spec.name}: reusing ${dir}`);
      return ds;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(manifest, { force: true });
  const t0 = performance.now();
  const cipher = createCipheriv(
    'aes-256-ctr',
    createHash('sha256').update(`ferry-bench:${spec.name}`).digest(),
    Buffer.alloc(16),
  );
  const zeros = Buffer.alloc(4 * MiB);
  const made = new Set<string>();
  for (const f of spec.files) {
    const abs = join(dir, f.rel);
    const parent = dirname(abs);
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    if (f.size <= zeros.length) writeFileSync(abs, cipher.update(zeros.subarray(0, f.size)));
    else {
      const fd = openSync(abs, 'w');
      try {
        for (let left = f.size; left > 0; left -= zeros.length)
          writeSync(fd, cipher.update(zeros.subarray(0, Math.min(left, zeros.length))));
      } finally {
        closeSync(fd);
      }
    }
  }
  // Flush now, so write-back does not run during the first timed runs.
  spawnSync('sync');
  writeFileSync(manifest, JSON.stringify({ key, files: spec.files.length, bytes: spec.bytes }));
  const secs = (performance.now() - t0) / 1000;
  log(
    `  data ${spec.name}: generated ${fmtInt(spec.files.length)} files, ${fmtBytes(spec.bytes)} in ${spec.folders} folders (${secs.toFixed(1)} s)`,
  );
  return ds;
}

// ---- processes and timing ------------------------------------------------------------------------

type Exec = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; secs: number };

/**
 * Runs a program to its end; `secs` is the wall time from spawn to exit. Output is kept (its last 16 MiB:
 * `ferry status --json` during a first sync of 300,000 files lists a thousand transfers).
 */
function exec(file: string, args: string[]): Promise<Exec> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const keep = (s: string, d: Buffer) => (s + d.toString()).slice(-16 * MiB);
    const t0 = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (stdout = keep(stdout, d)));
    child.stderr.on('data', (d: Buffer) => (stderr = keep(stderr, d)));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, secs: (performance.now() - t0) / 1000 }),
    );
  });
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a bash command line (with pipefail) and returns its wall time; throws if it fails. */
async function sh(cmd: string): Promise<number> {
  const r = await exec('bash', ['-c', `set -o pipefail; ${cmd}`]);
  if (r.code !== 0) throw new Error(`command failed (exit ${r.code ?? r.signal}): ${cmd}\n${r.stderr.slice(-4000)}`);
  return r.secs;
}

/** Reads every file once so the timed run measures the tool, not the disk (untimed). */
const primeCache = (dir: string) => sh(`find ${shq(dir)} -type f -print0 | xargs -0 -r cat >/dev/null`);

/** Flushes dirty pages left by the previous copy, so its write-back is not billed to the next tool. */
const flushDirty = () => void spawnSync('sync');

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function checkCopy(tool: string, dest: string, ds: Dataset): void {
  const st = treeStats(dest);
  if (st.files !== ds.files.length || st.bytes !== ds.bytes || st.other.length > 0)
    throw new Error(
      `${tool} produced a wrong copy in ${dest}: ${st.files} files / ${st.bytes} bytes` +
        `${st.other.length ? ` / ${st.other.length} non-regular entries` : ''}, expected ${ds.files.length} files / ${ds.bytes} bytes`,
    );
}

// ---- output --------------------------------------------------------------------------------------

const log = (s = '') => process.stdout.write(`${s}\n`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtRate = (n: number) => (n >= 100 ? fmtInt(n) : n.toFixed(1));
const fmtSecs = (s: number) => (s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
function fmtBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / KiB).toFixed(1)} KiB`;
}

type ToolResult = {
  tool: string;
  label: string;
  isFerry: boolean;
  timesSec: number[];
  medianSec: number;
  mbPerSec: number;
  filesPerSec: number;
};

type Comparison = { peer: string; ratio: number; target: number | null; met: boolean | null };

type ScenarioResult = {
  name: ScenarioName;
  description: string;
  files: number;
  bytes: number;
  /** What the headline figure is: hashing/copy throughput, or wall time of a metadata pass. */
  figure: 'MB/s' | 'files/s' | 'time';
  tools: ToolResult[];
  comparisons: Comparison[];
  notes: string[];
  /** Wall time of the whole scenario, data generation excluded. */
  tookSec?: number;
};

/** A row of the final table, for the live scenarios: their figures are not one throughput per tool. */
type Row = { scenario: string; ferry: string; peer: string; ratio: string; target: string; met: boolean | null };

type LiveResult = {
  name: ScenarioName;
  description: string;
  rows: Row[];
  /** Every measured figure, raw (seconds, bytes, counts), for the JSON results. */
  figures: Record<string, unknown>;
  notes: string[];
  tookSec?: number;
};

type AnyResult = ScenarioResult | LiveResult;

type Measure = {
  tool: string;
  label: string;
  isFerry?: boolean;
  prepare?: () => Promise<void> | void;
  run: (i: number) => Promise<number>;
};

/** Runs each tool once per round, in order (ferry, peer, ferry, peer …); returns the times in seconds. */
async function interleave(runs: number, tools: Measure[]): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(tools.map((t) => [t.tool, []]));
  for (let i = 0; i < runs; i++) {
    const line: string[] = [];
    for (const t of tools) {
      await t.prepare?.();
      const secs = await t.run(i);
      times.get(t.tool)?.push(secs);
      line.push(`${t.tool} ${fmtSecs(secs)}`);
    }
    log(`    run ${i + 1}/${runs}: ${line.join(', ')}`);
  }
  return times;
}

function summarise(
  base: Omit<ScenarioResult, 'tools' | 'comparisons'>,
  tools: Measure[],
  times: Map<string, number[]>,
  peers: { peer: string; target: number | null }[],
): ScenarioResult {
  const results: ToolResult[] = tools.map((t) => {
    const ts = times.get(t.tool) ?? [];
    const m = median(ts);
    return {
      tool: t.tool,
      label: t.label,
      isFerry: t.isFerry ?? false,
      timesSec: ts,
      medianSec: m,
      mbPerSec: base.bytes / MB / m,
      filesPerSec: base.files / m,
    };
  });
  const ferry = results.find((r) => r.isFerry) as ToolResult;
  // Same work for every tool, so peer time / Ferry time = Ferry's throughput / the peer's.
  const comparisons = peers.map(({ peer, target }) => {
    const p = results.find((r) => r.tool === peer) as ToolResult;
    const ratio = p.medianSec / ferry.medianSec;
    return { peer, ratio, target, met: target === null ? null : ratio >= target };
  });
  const res: ScenarioResult = { ...base, tools: results, comparisons };
  for (const r of results)
    log(`  ${r.label.padEnd(44)} ${toolFigure(res, r)}   [${r.timesSec.map(fmtSecs).join(', ')}]`);
  for (const c of comparisons) {
    const verdict = c.target === null ? '(reference)' : `target ≥ ${c.target}× → ${c.met ? 'met ✓' : 'NOT met ✗'}`;
    log(`  ratio ferry/${c.peer}: ${c.ratio.toFixed(2)}×  ${verdict}`);
  }
  for (const n of res.notes) log(`  note: ${n}`);
  return res;
}

function toolFigure(s: ScenarioResult, r: ToolResult): string {
  switch (s.figure) {
    case 'MB/s':
      return `${fmtRate(r.mbPerSec)} MB/s · ${fmtInt(r.filesPerSec)} files/s (median ${fmtSecs(r.medianSec)})`;
    case 'files/s':
      return `${fmtInt(r.filesPerSec)} files/s · ${fmtRate(r.mbPerSec)} MB/s (median ${fmtSecs(r.medianSec)})`;
    case 'time':
      return `${fmtSecs(r.medianSec)} · ${fmtInt(r.filesPerSec)} files/s`;
  }
}

// ---- scenarios -----------------------------------------------------------------------------------

const folderConfig = (ds: Dataset): FolderConfig => ({
  id: 'bench',
  path: ds.dir,
  ignore: [],
  paused: false,
  watch: 'auto' as const,
});

const poolThreads = Math.max(1, Math.min(availableParallelism(), 8));

/** A fresh store and worker pool; the pool's workers are started (and warmed) before any timing. */
async function openEngine(stateDir: string, warmFile: string) {
  const store = Store.open(stateDir);
  const t0 = performance.now();
  const pool = new FileWorkers();
  // 130 jobs = 3 batches of ≤ 64, so both workers get one and finish starting up.
  await pool.hashAll(
    Array.from({ length: 130 }, () => ({ path: warmFile, size: 1, kinds: [] as [] })),
    () => undefined,
  );
  const warmSecs = (performance.now() - t0) / 1000;
  const deps = { index: store.index, events: new EventBus(), workers: pool };
  return {
    poolName: 'FileWorkers',
    warmSecs,
    deps,
    close: async () => {
      await pool.close();
      store.close();
    },
  };
}

async function coldIndex(o: Options, ds: Dataset, warmFile: string): Promise<ScenarioResult> {
  const work = join(o.runDir, 'cold-index');
  mkdirSync(work, { recursive: true });
  let warmSecs = 0;
  let poolName = 'pool';
  const tools: Measure[] = [
    {
      tool: 'ferry',
      label: `ferry scanFolder (${poolThreads} hash workers)`,
      isFerry: true,
      prepare: () => primeCache(ds.dir).then(() => undefined),
      run: async (i) => {
        const engine = await openEngine(join(work, `state-${i + 1}`), warmFile);
        warmSecs = Math.max(warmSecs, engine.warmSecs);
        poolName = engine.poolName;
        try {
          const t0 = performance.now();
          const scan = await scanFolder(folderConfig(ds), [], engine.deps);
          const secs = (performance.now() - t0) / 1000;
          if (scan.hashed !== ds.files.length || scan.hashedBytes !== ds.bytes || scan.issues.length > 0)
            throw new Error(
              `ferry cold scan hashed ${scan.hashed} files / ${scan.hashedBytes} bytes with ${scan.issues.length} issue(s) ` +
                `(${scan.issues[0]?.message ?? ''}), expected ${ds.files.length} / ${ds.bytes}`,
            );
          return secs;
        } finally {
          await engine.close();
        }
      },
    },
    {
      tool: 'openssl',
      label: 'openssl dgst -sha256 (xargs -P2 -n 64)',
      prepare: () => primeCache(ds.dir).then(() => undefined),
      run: () => sh(`find ${shq(ds.dir)} -type f -print0 | xargs -0 -P2 -n 64 openssl dgst -sha256 >/dev/null`),
    },
  ];
  const description = `${fmtInt(ds.files.length)} files, ${fmtBytes(ds.bytes)} in ${ds.folders} folders, empty index`;
  log(`\n== cold-index: ${description}`);
  log('   page cache primed (every file read once) before every timed run: this measures hashing, not the disk');
  const times = await interleave(o.runs, tools);
  return summarise(
    {
      name: 'cold-index',
      description,
      files: ds.files.length,
      bytes: ds.bytes,
      figure: 'MB/s',
      notes: [
        `Ferry: fresh Store + new ${poolName}() per run; worker start-up (${fmtSecs(warmSecs)} under tsx) is outside the timing`,
      ],
    },
    tools,
    times,
    [{ peer: 'openssl', target: 1.0 }],
  );
}

async function warmRescan(o: Options, ds: Dataset, warmFile: string): Promise<ScenarioResult> {
  const work = join(o.runDir, 'warm-rescan');
  mkdirSync(work, { recursive: true });
  const description = `${fmtInt(ds.files.length)} files, index up to date, nothing changed`;
  log(`\n== warm-rescan: ${description}`);
  await primeCache(ds.dir);
  const engine = await openEngine(join(work, 'state'), warmFile);
  try {
    const first = await scanFolder(folderConfig(ds), [], engine.deps);
    if (first.hashed !== ds.files.length)
      throw new Error(`ferry initial scan hashed ${first.hashed} of ${ds.files.length}`);
    const tools: Measure[] = [
      {
        tool: 'ferry',
        label: 'ferry scanFolder (rescan)',
        isFerry: true,
        run: async () => {
          const t0 = performance.now();
          const scan = await scanFolder(folderConfig(ds), [], engine.deps);
          const secs = (performance.now() - t0) / 1000;
          if (scan.hashed !== 0) throw new Error(`ferry warm rescan hashed ${scan.hashed} files: it must hash none`);
          if (scan.files.size !== ds.files.length)
            throw new Error(`ferry warm rescan saw ${scan.files.size} files, expected ${ds.files.length}`);
          return secs;
        },
      },
      {
        tool: 'find',
        label: "find -printf '%s %T@\\n'",
        run: () => sh(`find ${shq(ds.dir)} -printf '%s %T@\\n' >/dev/null`),
      },
    ];
    const times = await interleave(o.runs, tools);
    return summarise(
      {
        name: 'warm-rescan',
        description,
        files: ds.files.length,
        bytes: ds.bytes,
        figure: 'time',
        notes: ['ratio = find time / Ferry time; every Ferry rescan asserted to hash 0 files'],
      },
      tools,
      times,
      [{ peer: 'find', target: 0.33 }],
    );
  } finally {
    await engine.close();
  }
}

function ferryConfig(file: string, src: string, dest: string, mode: 'backup' | 'mirror' = 'backup'): void {
  const yaml = [
    'folders:',
    '  - id: src',
    `    path: ${JSON.stringify(src)}`,
    'destinations:',
    '  - id: dst',
    '    type: local',
    `    path: ${JSON.stringify(dest)}`,
    'rules:',
    '  - name: bench',
    '    from: [src]',
    '    to: [dst]',
    `    mode: ${mode}`,
    '',
  ].join('\n');
  writeFileSync(file, yaml);
}

/** Median wall time of `node cli.js --version`: the CLI's fixed cost, included in every Ferry copy run. */
let cliStartup: number | undefined;
async function cliStartupSecs(): Promise<number> {
  if (cliStartup === undefined) {
    const ts: number[] = [];
    for (let i = 0; i < 3; i++) ts.push((await exec(process.execPath, [CLI, '--version'])).secs);
    cliStartup = median(ts);
  }
  return cliStartup;
}

/** Copy tools for scenarios 3–4; each run copies into a fresh, empty directory, checked afterwards. */
function copyTools(work: string, ds: Dataset, peers: { tool: string; label: string; cmd: (dst: string) => string }[]) {
  const prepare = async () => {
    await primeCache(ds.dir);
    flushDirty();
  };
  const fresh = (tool: string, i: number) => {
    const d = join(work, `${tool}-${i + 1}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const ferrySaid: string[] = [];
  const tools: Measure[] = [
    {
      tool: 'ferry',
      label: 'ferry sync --once (local destination)',
      isFerry: true,
      prepare,
      run: async (i) => {
        const base = fresh('ferry', i);
        const dest = join(base, 'dst');
        mkdirSync(dest);
        const cfg = join(base, 'ferry.yml');
        ferryConfig(cfg, ds.dir, dest);
        const r = await exec(process.execPath, [
          CLI,
          'sync',
          '--once',
          '--config',
          cfg,
          '--state-dir',
          join(base, 'state'),
        ]);
        if (r.code !== 0)
          throw new Error(
            `ferry sync exited ${r.code ?? r.signal}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`,
          );
        checkCopy('ferry', dest, ds);
        if (i === 0)
          ferrySaid.push(
            ...r.stdout.trim().split('\n').slice(0, 3),
            ...r.stderr.split('\n').filter((l) => l.startsWith('scanned ')),
          );
        return r.secs;
      },
    },
    ...peers.map((p): Measure => ({
      tool: p.tool,
      label: p.label,
      prepare,
      run: async (i) => {
        const dest = join(fresh(p.tool, i), 'dst');
        mkdirSync(dest);
        const secs = await sh(p.cmd(dest));
        checkCopy(p.tool, dest, ds);
        return secs;
      },
    })),
  ];
  return { tools, ferrySaid };
}

async function smallFiles(o: Options, ds: Dataset): Promise<ScenarioResult> {
  const work = join(o.runDir, 'small-files');
  const description = `${fmtInt(ds.files.length)} files × 4 KiB in ${ds.folders} folders, local → local`;
  log(`\n== small-files: ${description}`);
  const src = shq(ds.dir);
  const { tools, ferrySaid } = copyTools(work, ds, [
    { tool: 'rsync', label: 'rsync -a', cmd: (d) => `rsync -a ${src}/ ${shq(d)}/` },
    {
      tool: 'rclone',
      label: 'rclone copy --transfers 4',
      cmd: (d) => `rclone copy ${src} ${shq(d)} --transfers 4 --config /dev/null`,
    },
    // The same durability as Ferry, which flushes every file before it shows it under its name
    // (Debian's rsync has --fsync: each file flushed before its rename, one after another).
    { tool: 'rsync-fsync', label: 'rsync -a --fsync', cmd: (d) => `rsync -a --fsync ${src}/ ${shq(d)}/` },
    // Durable only at the end, in one flush of the file system: no file is durable when it shows.
    {
      tool: 'rsync-durable',
      label: 'rsync -a && sync -f',
      cmd: (d) => `rsync -a ${src}/ ${shq(d)}/ && sync -f ${shq(d)}`,
    },
  ]);
  const times = await interleave(o.runs, tools);
  return summarise(
    {
      name: 'small-files',
      description,
      files: ds.files.length,
      bytes: ds.bytes,
      figure: 'files/s',
      notes: [
        'wall time of whole processes (Ferry: CLI start-up, scan, hash, copy, fsync, state); fresh destination and state dir each run; source re-read and `sync` before each run',
        `\`ferry --version\` alone takes ${fmtSecs(await cliStartupSecs())} (CLI start-up, included in Ferry's time)`,
        ...ferrySaid.map((l) => `ferry said: ${l}`),
      ],
    },
    tools,
    times,
    // Issue 18: ≥ 0.5× rsync -a, ≥ 2.5× rsync -a --fsync (the peer with Ferry's durability).
    [
      { peer: 'rsync', target: 0.5 },
      { peer: 'rsync-fsync', target: 2.5 },
      { peer: 'rclone', target: null },
      { peer: 'rsync-durable', target: null },
    ],
  );
}

async function bigFiles(o: Options, ds: Dataset): Promise<ScenarioResult> {
  const work = join(o.runDir, 'big-files');
  const description = `${fmtInt(ds.files.length)} files × 10 MiB random, local → local`;
  log(`\n== big-files: ${description}`);
  const src = shq(ds.dir);
  const { tools, ferrySaid } = copyTools(work, ds, [
    {
      tool: 'rclone',
      label: 'rclone copy --transfers 4 (checksum on)',
      cmd: (d) => `rclone copy ${src} ${shq(d)} --transfers 4 --config /dev/null`,
    },
    { tool: 'rsync', label: 'rsync -a', cmd: (d) => `rsync -a ${src}/ ${shq(d)}/` },
    {
      tool: 'rclone-nocheck',
      label: 'rclone copy --transfers 4 --ignore-checksum',
      cmd: (d) => `rclone copy ${src} ${shq(d)} --transfers 4 --ignore-checksum --config /dev/null`,
    },
    // Durable only at the end, in one flush of the file system.
    {
      tool: 'rclone-durable',
      label: 'rclone copy --transfers 4 (checksum on) && sync -f',
      cmd: (d) => `rclone copy ${src} ${shq(d)} --transfers 4 --config /dev/null && sync -f ${shq(d)}`,
    },
    // The same durability as Ferry: each file flushed before its rename.
    { tool: 'rsync-fsync', label: 'rsync -a --fsync', cmd: (d) => `rsync -a --fsync ${src}/ ${shq(d)}/` },
  ]);
  // The disk's durable write rate: as many bytes, in one file written in 4 MiB blocks, flushed at the end.
  const ddBlocks = Math.ceil(ds.bytes / (4 * MiB));
  tools.push({
    tool: 'dd',
    label: `dd bs=4M conv=fdatasync (${fmtBytes(ddBlocks * 4 * MiB)} of zeros: the disk's durable write rate)`,
    prepare: flushDirty,
    run: (i) => {
      const d = join(work, `dd-${i + 1}`);
      mkdirSync(d, { recursive: true });
      return sh(`dd if=/dev/zero of=${shq(join(d, 'dd.bin'))} bs=4M count=${ddBlocks} conv=fdatasync status=none`);
    },
  });
  const times = await interleave(o.runs, tools);
  return summarise(
    {
      name: 'big-files',
      description,
      files: ds.files.length,
      bytes: ds.bytes,
      figure: 'MB/s',
      notes: [
        'source re-read (cat) and `sync` before every run; Ferry hashes, copies, fsyncs and verifies every file',
        `\`ferry --version\` alone takes ${fmtSecs(await cliStartupSecs())} (CLI start-up, included in Ferry's time)`,
        ...ferrySaid.map((l) => `ferry said: ${l}`),
      ],
    },
    tools,
    times,
    // Issue 18: ≥ 0.9× the disk's durable write rate and ≥ 1.0× rclone (the earlier target of 2.0 stands).
    [
      { peer: 'rclone', target: 2.0 },
      { peer: 'dd', target: 0.9 },
      { peer: 'rsync', target: null },
      { peer: 'rsync-fsync', target: null },
      { peer: 'rclone-nocheck', target: null },
      { peer: 'rclone-durable', target: null },
    ],
  );
}

// ---- live: watchers, latency, daemon-idle --------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fmtMs = (secs: number) => `${(secs * 1000).toFixed(secs < 0.01 ? 2 : 1)} ms`;
const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0)} MB`;
const fmtRatio = (r: number) => `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;

/** Nearest-rank percentile (p in 0–100). */
function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of no samples');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** inotify watches a process holds: the `inotify wd:` lines of its inotify descriptors' fdinfo. */
function inotifyWatches(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    for (const line of text.split('\n')) if (line.startsWith('inotify wd:')) n++;
  }
  return n;
}

let clkTck: number | undefined;
/** CPU time (s) a process has used, all its threads: utime + stime of /proc/<pid>/stat. */
function cpuSecs(pid: number): number {
  clkTck ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 (state): utime is 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clkTck;
}

/** A field of /proc/<pid>/status given in kB (VmRSS, VmHWM …), in bytes. */
function procStatusBytes(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * KiB;
}

// -- watchers

type WatchRun = {
  backend: string;
  readySec: number;
  rssDelta: number;
  rssAfter: number;
  watches: number;
  eventsSec: number[];
};

/** One backend in a fresh child process (its RSS and watches are its own); see watchProbe.ts. */
async function watchRun(kind: 'native' | 'chokidar', root: string, probesFile: string): Promise<WatchRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', WATCH_PROBE, kind, root, probesFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8 * KiB));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const inbox: ProbeMessage[] = [];
  let wake: (() => void) | undefined;
  let exit: string | undefined;
  child.on('message', (m) => {
    inbox.push(m as ProbeMessage);
    wake?.();
  });
  const closed = new Promise<number | null>((resolve) =>
    child.on('close', (code, signal) => {
      exit = `exited ${code ?? signal}`;
      wake?.();
      resolve(code);
    }),
  );
  child.on('error', (err) => {
    exit = `failed to start: ${err.message}`;
    wake?.();
  });
  const fail = (what: string) => new Error(`watchers/${kind}: ${what}\n${output.slice(-4000)}`);
  const next = async <T extends ProbeMessage['type']>(type: T, limitMs: number) => {
    const until = performance.now() + limitMs;
    for (;;) {
      const m = inbox.shift();
      if (m?.type === 'error') throw fail(`the probe failed: ${m.message}`);
      if (m) {
        if (m.type !== type) throw fail(`expected "${type}" from the probe, got "${m.type}"`);
        return m as Extract<ProbeMessage, { type: T }>;
      }
      if (exit) throw fail(`the probe ${exit} before "${type}"`);
      const left = until - performance.now();
      if (left <= 0) throw fail(`no "${type}" from the probe within ${Math.round(limitMs / 1000)} s`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      wake = undefined;
    }
  };
  try {
    const ready = await next('ready', 300_000);
    const watches = inotifyWatches(child.pid as number);
    child.send('probe');
    const events = await next('events', 300_000);
    child.send('close');
    const code = await closed;
    if (code !== 0) throw fail(`the probe exited ${code}`);
    return {
      backend: ready.backend,
      readySec: ready.readyMs / 1000,
      rssDelta: ready.rssAfter - ready.rssBefore,
      rssAfter: ready.rssAfter,
      watches,
      eventsSec: events.latenciesMs.map((ms) => ms / 1000),
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

async function watchers(o: Options, ds: Dataset): Promise<LiveResult> {
  const work = join(o.runDir, 'watchers');
  mkdirSync(work, { recursive: true });
  const root = realpathSync(ds.dir);
  const description = `${fmtInt(ds.files.length)} files in ${fmtInt(ds.folders)} folders, each backend in its own process`;
  log(`\n== watchers: ${description}`);
  // 20 files spread over the tree, rewritten with their own bytes (the data set stays as generated).
  const probes = Array.from({ length: 20 }, (_, i) => {
    const f = ds.files[Math.floor(((i + 0.5) * ds.files.length) / 20)] as FileSpec;
    return join(root, f.rel);
  });
  const probesFile = join(work, 'probes.json');
  writeFileSync(probesFile, JSON.stringify(probes));
  const backends = [
    { kind: 'native' as const, label: '@parcel/watcher (watchNative)' },
    { kind: 'chokidar' as const, label: 'chokidar fs.watch (watchChokidar, no polling)' },
  ];
  const runs = new Map<string, WatchRun[]>(backends.map((b) => [b.kind, []]));
  for (let i = 0; i < o.runs; i++) {
    const line: string[] = [];
    for (const b of backends) {
      await sh(`find ${shq(root)} -printf '' >/dev/null`); // directory entries and inodes warm for both
      const r = await watchRun(b.kind, root, probesFile);
      // Every folder needs a watch of its own for inotify to see new files in it.
      if (r.watches < ds.folders)
        throw new Error(`watchers/${b.kind}: ${r.watches} inotify watches for ${ds.folders} folders: not watching`);
      runs.get(b.kind)?.push(r);
      line.push(
        `${b.kind} ready ${fmtSecs(r.readySec)} +${fmtMB(r.rssDelta)} ${fmtInt(r.watches)} watches event ${fmtMs(median(r.eventsSec))}`,
      );
    }
    log(`    run ${i + 1}/${o.runs}: ${line.join('; ')}`);
  }
  const figures: Record<string, unknown> = {};
  const rows: Row[] = [];
  for (const b of backends) {
    const rs = runs.get(b.kind) ?? [];
    const events = rs.flatMap((r) => r.eventsSec);
    const f = {
      backend: rs[0]?.backend,
      readySec: median(rs.map((r) => r.readySec)),
      rssDeltaBytes: median(rs.map((r) => r.rssDelta)),
      rssAfterBytes: median(rs.map((r) => r.rssAfter)),
      inotifyWatches: median(rs.map((r) => r.watches)),
      eventP50Sec: median(events),
      eventP90Sec: percentile(events, 90),
      eventMaxSec: Math.max(...events),
      runs: rs,
    };
    figures[b.kind] = f;
    const text = `ready ${fmtSecs(f.readySec)} · +${fmtMB(f.rssDeltaBytes)} RSS · ${fmtInt(f.inotifyWatches)} inotify watches · event ${fmtMs(f.eventP50Sec)} (p90 ${fmtMs(f.eventP90Sec)})`;
    log(`  ${b.label.padEnd(48)} ${text}; process RSS after ready ${fmtMB(f.rssAfterBytes)}`);
    rows.push({ scenario: `watchers: ${b.label}`, ferry: text, peer: '—', ratio: '—', target: '—', met: null });
  }
  const notes = [
    `${fmtInt(ds.files.length)} files + ${fmtInt(ds.folders + Math.ceil(ds.folders / 100) + 1)} directories; metadata warmed with find before each run`,
    'Ferry uses native (@parcel/watcher) by default; chokidar with polling for network mounts and when the OS watch limit is reached; chokidar fs.watch (this row) only if the native module fails to load',
  ];
  for (const n of notes) log(`  note: ${n}`);
  return { name: 'watchers', description, rows, figures, notes };
}

// -- the real daemon

type Daemon = {
  proc: ChildProcess;
  pid: number;
  stateDir: string;
  pidfile: string;
  logFile: string;
  output: () => string;
  closed: Promise<number | null>;
};

/** Starts `ferry daemon` on one folder with a local destination (backup rule), once it says where it listens. */
async function startDaemon(work: string, src: string, dst: string): Promise<Daemon> {
  mkdirSync(work, { recursive: true });
  const cfg = join(work, 'ferry.yml');
  ferryConfig(cfg, src, dst);
  const stateDir = join(work, 'state');
  const pidfile = join(work, 'ferry.pid');
  const logFile = join(work, 'ferry.log');
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'daemon',
      '--config',
      cfg,
      '--state-dir',
      stateDir,
      '--port',
      '0',
      '--no-webapp',
      '--pidfile',
      pidfile,
      '--log-file',
      logFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-16 * KiB)));
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16 * KiB)));
  const closed = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  proc.on('error', () => undefined); // seen as an exit below
  const output = () => `stdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}\nlog: ${logTail(logFile)}`;
  const until = performance.now() + 30_000;
  for (;;) {
    const m = /Ferry daemon \(pid (\d+)\) on (http:\S+)\ntoken: \S+/.exec(stdout);
    if (m) {
      const pid = Number(m[1]);
      if (pid !== proc.pid) throw new Error(`the daemon says pid ${pid}, but it was started as ${proc.pid}`);
      return { proc, pid, stateDir, pidfile, logFile, output, closed };
    }
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`ferry daemon exited ${proc.exitCode ?? proc.signalCode} at start:\n${output()}`);
    if (performance.now() > until) {
      proc.kill('SIGKILL');
      throw new Error(`ferry daemon did not say where it listens within 30 s:\n${output()}`);
    }
    await sleep(20);
  }
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `ferry status --json` for the daemon's state dir. */
async function ferryStatus(d: Daemon): Promise<StatusResult> {
  const r = await exec(process.execPath, [CLI, 'status', '--state-dir', d.stateDir, '--json']);
  if (r.code !== 0) throw new Error(`ferry status exited ${r.code ?? r.signal}: ${r.stderr}\n${d.output()}`);
  try {
    return JSON.parse(r.stdout) as StatusResult;
  } catch (err) {
    throw new Error(
      `ferry status --json printed what is not JSON (${(err as Error).message}): ${r.stdout.slice(0, 500)}`,
    );
  }
}

/** Polls `ferry status` until the daemon is idle with an empty queue; throws on failures, errors, a dead daemon. */
async function waitIdle(d: Daemon, what: string, limitMs: number, everyMs: number): Promise<StatusResult> {
  const t0 = performance.now();
  let said = t0;
  for (;;) {
    if (d.proc.exitCode !== null || d.proc.signalCode !== null)
      throw new Error(`ferry daemon exited ${d.proc.exitCode ?? d.proc.signalCode} during ${what}:\n${d.output()}`);
    const st = await ferryStatus(d);
    if (st.queue.failed > 0 || st.state === 'error' || st.folders.some((f) => f.state === 'error'))
      throw new Error(`ferry daemon reports a problem during ${what}: ${st.summary}\n${JSON.stringify(st)}`);
    if (
      st.state === 'idle' &&
      st.queue.pending + st.queue.active === 0 &&
      st.folders.length > 0 &&
      st.folders.every((f) => f.state === 'watching')
    )
      return st;
    const now = performance.now();
    if (now - t0 > limitMs)
      throw new Error(`ferry daemon not idle after ${Math.round(limitMs / 1000)} s (${what}): ${JSON.stringify(st)}`);
    if (now - said > 15_000) {
      said = now;
      log(
        `    … ${what}: ${st.state}, ${fmtInt(st.folders[0]?.files ?? 0)} files scanned, ${fmtInt(st.queue.pending + st.queue.active)} transfer(s) to go (${fmtSecs((now - t0) / 1000)})`,
      );
    }
    await sleep(everyMs);
  }
}

/** `ferry stop --pidfile`, then the process must be gone with exit code 0. */
async function stopDaemon(d: Daemon): Promise<void> {
  const r = await exec(process.execPath, [CLI, 'stop', '--pidfile', d.pidfile]);
  if (r.code !== 0) throw new Error(`ferry stop exited ${r.code ?? r.signal}: ${r.stderr}`);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    d.closed,
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no exit within 30 s'), 30_000))),
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`ferry daemon ended with ${code} after ferry stop:\n${d.output()}`);
}

/** The last resort when a scenario failed: the daemon must not outlive the bench. */
function killDaemon(d: Daemon | undefined): void {
  if (d && d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
}

// -- latency

type Shipper = { tool: string; src: string; dst: string; samples: number[] };

/** The peer: inotifywait piped to a loop that copies each closed file (a process group, killed as one). */
async function startPeer(src: string, dst: string): Promise<ChildProcess> {
  const script = `inotifywait -m -r -e close_write --format '%w%f' "$1" | while IFS= read -r f; do cp -- "$f" "$2/\${f#"$1"/}"; done`;
  const proc = spawn('bash', ['-c', script, 'peer', src, dst], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8 * KiB)));
  proc.on('error', () => undefined);
  const until = performance.now() + 10_000;
  while (!stderr.includes('Watches established.')) {
    if (proc.exitCode !== null || performance.now() > until) {
      stopPeer(proc);
      throw new Error(`inotifywait did not establish its watches: ${stderr}`);
    }
    await sleep(10);
  }
  return proc;
}

function stopPeer(proc: ChildProcess | undefined): void {
  if (proc?.pid === undefined || proc.exitCode !== null) return;
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Writes a new ~1 KiB file and polls (every 2 ms) until the copy is at the destination with its size. */
async function shipOnce(s: Shipper, name: string, limitMs = 10_000): Promise<number> {
  const bytes = randomBytes(KiB); // new content each time: nothing for a copy/move shortcut to reuse
  const dest = join(s.dst, name);
  const t0 = performance.now();
  writeFileSync(join(s.src, name), bytes);
  for (;;) {
    const st = statSync(dest, { throwIfNoEntry: false });
    const now = performance.now();
    if (st?.size === bytes.length) return (now - t0) / 1000;
    if (now - t0 > limitMs)
      throw new Error(
        `latency/${s.tool}: ${name} not at ${dest} with ${bytes.length} bytes ${limitMs / 1000} s after it was written (${st ? `${st.size} bytes` : 'missing'})`,
      );
    await sleep(2);
  }
}

/** Ferry's own account of each sample, from its log: watcher + settle delay to the cycle, then the cycle. */
function latencyBreakdown(logFile: string, written: Map<string, number>): { triggerSec: number[]; cycleSec: number[] } {
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { time: string; message: string; path?: string });
  const starts = lines.filter((l) => l.message === 'service syncing').map((l) => Date.parse(l.time));
  const triggerSec: number[] = [];
  const cycleSec: number[] = [];
  for (const l of lines) {
    const at = l.message === 'transfer done' && l.path !== undefined ? written.get(l.path) : undefined;
    if (at === undefined) continue;
    const done = Date.parse(l.time);
    const start = starts.find((t) => t >= Math.floor(at) && t <= done);
    if (start === undefined) continue;
    triggerSec.push((start - at) / 1000);
    cycleSec.push((done - start) / 1000);
  }
  return { triggerSec, cycleSec };
}

const ISOLATED = 10;

async function latency(o: Options): Promise<LiveResult> {
  const work = join(o.runDir, 'latency');
  const n = Math.max(50, Math.round(500 * o.scale));
  const description = `${n} new ~1 KiB files, one at a time, ~20 ms apart, local → local`;
  log(`\n== latency: ${description}`);
  const dirs = (tool: string) => {
    const src = join(work, `${tool}-src`);
    const dst = join(work, `${tool}-dst`);
    mkdirSync(src, { recursive: true });
    mkdirSync(dst, { recursive: true });
    return { src, dst };
  };
  const ferry: Shipper = { tool: 'ferry', ...dirs('ferry'), samples: [] };
  const peer: Shipper = { tool: 'inotifywait', ...dirs('peer'), samples: [] };
  let daemon: Daemon | undefined;
  let peerProc: ChildProcess | undefined;
  const written = new Map<string, number>();
  const isolated: number[] = [];
  const writtenLone = new Map<string, number>();
  let watcher: string | null | undefined;
  try {
    daemon = await startDaemon(join(work, 'ferry'), ferry.src, ferry.dst);
    const st = await waitIdle(daemon, 'start-up', 60_000, 200);
    watcher = st.folders[0]?.watcher;
    peerProc = await startPeer(peer.src, peer.dst);
    for (let i = 0; i < n; i++) {
      const name = `f${String(i).padStart(4, '0')}.bin`;
      written.set(name, Date.now());
      ferry.samples.push(await shipOnce(ferry, name));
      await sleep(20);
      peer.samples.push(await shipOnce(peer, name));
      await sleep(20);
      if ((i + 1) % 100 === 0 || i + 1 === n)
        log(
          `    ${i + 1}/${n}: ferry p50 ${fmtMs(median(ferry.samples))}, inotifywait+cp p50 ${fmtMs(median(peer.samples))}`,
        );
    }
    // A few writes with quiet time around them: the watcher may deliver a lone event sooner than one
    // of a steady stream (@parcel/watcher batches for 50 ms unless its last batch is > 500 ms old).
    for (let i = 0; i < ISOLATED; i++) {
      await sleep(1000);
      const name = `lone${String(i).padStart(2, '0')}.bin`;
      writtenLone.set(name, Date.now());
      isolated.push(await shipOnce(ferry, name));
    }
    const end = await ferryStatus(daemon);
    if (end.queue.failed > 0) throw new Error(`ferry reports failed transfers after the latency run: ${end.summary}`);
    await stopDaemon(daemon);
  } finally {
    stopPeer(peerProc);
    killDaemon(daemon);
  }
  const f = { p50: median(ferry.samples), p99: percentile(ferry.samples, 99), max: Math.max(...ferry.samples) };
  const p = { p50: median(peer.samples), p99: percentile(peer.samples, 99), max: Math.max(...peer.samples) };
  const met = f.p50 < 0.2 && f.p99 < 1;
  const ratio = p.p50 / f.p50;
  log(
    `  ${'ferry daemon (local destination)'.padEnd(48)} p50 ${fmtMs(f.p50)} · p99 ${fmtMs(f.p99)} · max ${fmtMs(f.max)}`,
  );
  log(`  ${'inotifywait -m -r | cp'.padEnd(48)} p50 ${fmtMs(p.p50)} · p99 ${fmtMs(p.p99)} · max ${fmtMs(p.max)}`);
  log(`  target p50 < 200 ms, p99 < 1 s → ${met ? 'met ✓' : 'NOT met ✗'}`);
  const bd = latencyBreakdown(daemon.logFile, written);
  const lone = latencyBreakdown(daemon.logFile, writtenLone);
  const notes = [
    `daemon watcher: ${watcher ?? 'none'}; ${n} samples per tool, alternated; the destination polled every 2 ms`,
    bd.triggerSec.length > 0
      ? `from Ferry's log (ms resolution, ${bd.triggerSec.length} samples): write → cycle start p50 ${fmtMs(median(bd.triggerSec))}, p99 ${fmtMs(percentile(bd.triggerSec, 99))}; cycle start → transfer done p50 ${fmtMs(median(bd.cycleSec))}, p99 ${fmtMs(percentile(bd.cycleSec, 99))}`
      : 'no latency breakdown: the log held no matching lines',
    `${ISOLATED} more Ferry writes 1 s apart (not in the row): p50 ${fmtMs(median(isolated))}, max ${fmtMs(Math.max(...isolated))}` +
      (lone.triggerSec.length > 0 ? `; write → cycle start p50 ${fmtMs(median(lone.triggerSec))}` : ''),
  ];
  for (const note of notes) log(`  note: ${note}`);
  return {
    name: 'latency',
    description,
    rows: [
      {
        scenario: 'latency (change → shipped)',
        ferry: `p50 ${fmtMs(f.p50)} · p99 ${fmtMs(f.p99)}`,
        peer: `inotifywait + cp: p50 ${fmtMs(p.p50)} · p99 ${fmtMs(p.p99)}`,
        ratio: fmtRatio(ratio),
        target: 'p50 < 200 ms, p99 < 1 s',
        met,
      },
    ],
    figures: {
      samples: n,
      ferry: { ...f, samplesSec: ferry.samples },
      inotifywait: { ...p, samplesSec: peer.samples },
      ferryTriggerSec: bd.triggerSec,
      ferryCycleSec: bd.cycleSec,
      ferryIsolatedSec: isolated,
    },
    notes,
  };
}

// -- daemon-idle

async function daemonIdle(o: Options, ds: Dataset): Promise<LiveResult> {
  const work = join(o.runDir, 'daemon-idle');
  const dst = join(work, 'dst');
  mkdirSync(dst, { recursive: true });
  const description = `daemon watching ${fmtInt(ds.files.length)} files in ${fmtInt(ds.folders)} folders, first sync done, 15 s to settle, 10 s window`;
  log(`\n== daemon-idle: ${description}`);
  let daemon: Daemon | undefined;
  try {
    const t0 = performance.now();
    daemon = await startDaemon(join(work, 'ferry'), ds.dir, dst);
    // Polled every 3 s: each `ferry status` is a Node start-up (~0.3 s of CPU) on a 2-core machine.
    const first = await waitIdle(daemon, 'first sync', 15 * 60_000, 3000);
    const firstSec = (performance.now() - t0) / 1000;
    const copied = treeStats(dst);
    if (copied.files !== ds.files.length || copied.bytes !== ds.bytes)
      throw new Error(
        `daemon-idle: the first sync left ${copied.files} files / ${copied.bytes} bytes at the destination, expected ${ds.files.length} / ${ds.bytes}`,
      );
    const pid = daemon.pid;
    const hwmFirst = procStatusBytes(pid, 'VmHWM');
    const watches = inotifyWatches(pid);
    const threads = readdirSync(`/proc/${pid}/task`).length;
    log(
      `    first sync: ${fmtInt(ds.files.length)} files in ${fmtSecs(firstSec)} (${fmtInt(ds.files.length / firstSec)} files/s, from spawn); watcher ${first.folders[0]?.watcher ?? 'none'}`,
    );
    // Settling: after a big sync the daemon stops its idle file workers (5 s) and collects garbage
    // (6 s); "idle" is measured after that. The settling itself is reported in a note.
    const s0 = cpuSecs(pid);
    const settling: number[] = [];
    for (let i = 0; i < 15; i++) {
      await sleep(1000);
      settling.push(procStatusBytes(pid, 'VmRSS'));
    }
    const settleCpu = cpuSecs(pid) - s0;
    // The window: nothing asks the daemon anything (no status polls) while it is measured.
    const logBefore = statSync(daemon.logFile).size;
    const c0 = cpuSecs(pid);
    const w0 = performance.now();
    const rss: number[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(1000);
      rss.push(procStatusBytes(pid, 'VmRSS'));
    }
    const cpu = cpuSecs(pid) - c0;
    const wall = (performance.now() - w0) / 1000;
    const logGrew = statSync(daemon.logFile).size - logBefore;
    const after = await ferryStatus(daemon);
    if (after.state !== 'idle' || after.queue.pending + after.queue.active + after.queue.failed > 0)
      throw new Error(`daemon-idle: the daemon did not stay idle during the window: ${JSON.stringify(after)}`);
    await stopDaemon(daemon);
    const cpuPct = (cpu / wall) * 100;
    const rssEnd = rss[rss.length - 1] as number;
    const rssMax = Math.max(...rss);
    const met = cpuPct < 1 && rssMax < 250 * MB;
    log(
      `  ${'ferry daemon, idle'.padEnd(48)} CPU ${cpuPct.toFixed(2)} % of one core · RSS ${fmtMB(rssEnd)} (max ${fmtMB(rssMax)} in the window)`,
    );
    log(`  target CPU < 1 %, RSS < 250 MB → ${met ? 'met ✓' : 'NOT met ✗'}`);
    const notes = [
      `first sync of ${fmtInt(ds.files.length)} files took ${fmtSecs(firstSec)} from spawn (${fmtInt(ds.files.length / firstSec)} files/s; ferry status polled every 3 s); peak RSS (VmHWM) by then ${fmtMB(hwmFirst)}`,
      `daemon: ${first.folders[0]?.watcher ?? 'no'} watcher, ${fmtInt(watches)} inotify watches, ${threads} threads; the log grew by ${fmtInt(logGrew)} bytes during the window`,
      `settling (15 s after the first sync, before the window): CPU ${settleCpu.toFixed(2)} s; RSS every second: ${settling.map((b) => (b / MB).toFixed(0)).join(', ')} MB`,
      `window: CPU ${cpu.toFixed(2)} s over ${wall.toFixed(1)} s; RSS sampled every second: ${rss.map((b) => (b / MB).toFixed(0)).join(', ')} MB`,
    ];
    for (const note of notes) log(`  note: ${note}`);
    return {
      name: 'daemon-idle',
      description,
      rows: [
        {
          scenario: `daemon-idle (${fmtInt(ds.files.length)} files)`,
          ferry: `CPU ${cpuPct.toFixed(2)} % of a core · RSS ${fmtMB(rssMax)}`,
          peer: '—',
          ratio: '—',
          target: 'CPU < 1 %, RSS < 250 MB',
          met,
        },
      ],
      figures: {
        firstSyncSec: firstSec,
        cpuSecs: cpu,
        wallSecs: wall,
        cpuPercent: cpuPct,
        rssBytes: rss,
        vmHwmAfterFirstSync: hwmFirst,
        inotifyWatches: watches,
        threads,
        logBytesInWindow: logGrew,
      },
      notes,
    };
  } finally {
    killDaemon(daemon);
  }
}

// -- scale

/** `files` tiny files in folders of 100: the scale scenario's folder (one for Ferry, one for the peer). */
function scaleSpec(name: string, files: number): DatasetSpec {
  const folders = Math.ceil(files / 100);
  const list = Array.from({ length: files }, (_, i) => ({
    rel: `g${String(Math.floor(i / 10_000)).padStart(2, '0')}/d${String(Math.floor(i / 100)).padStart(4, '0')}/s${String(i).padStart(6, '0')}.txt`,
    size: 1000,
  }));
  return { name, files: list, bytes: files * 1000, folders };
}

/** Rewrites an existing file with new bytes and polls (every 2 ms) until its copy holds them. */
async function editOnce(src: string, dst: string, rel: string, what: string, limitMs = 20_000): Promise<number> {
  const bytes = randomBytes(1000);
  const dest = join(dst, rel);
  const t0 = performance.now();
  writeFileSync(join(src, rel), bytes);
  for (;;) {
    let got: Buffer | undefined;
    try {
      got = readFileSync(dest);
    } catch {
      // not there yet
    }
    const now = performance.now();
    if (got?.equals(bytes)) return (now - t0) / 1000;
    if (now - t0 > limitMs)
      throw new Error(`scale/${what}: ${rel} not updated at ${dst} ${limitMs / 1000} s after the edit`);
    await sleep(2);
  }
}

async function scaleScenario(o: Options): Promise<LiveResult> {
  const files = Number(process.env.BENCH_SCALE_FILES ?? 100_000);
  if (!Number.isInteger(files) || files < 1000)
    throw new Error(`BENCH_SCALE_FILES must be an integer ≥ 1000: ${process.env.BENCH_SCALE_FILES}`);
  const edits = Math.max(20, Math.round(60 * o.scale));
  const work = join(o.runDir, 'scale');
  const description = `${edits} edits of existing ~1 KB files, one at a time, in a folder of ${fmtInt(files)} files (local → local), alternated with the peer`;
  log(`\n== scale: ${description}`);
  // Fresh trees in this run's directory: the edits change them.
  const ferrySrc = ensureDataset(work, scaleSpec('ferry-src', files));
  const peerSrc = ensureDataset(work, scaleSpec('peer-src', files));
  const ferryDst = join(work, 'ferry-dst');
  const peerDst = join(work, 'peer-dst');
  mkdirSync(ferryDst, { recursive: true });
  // The peer's destination starts as a copy: it only copies what changes.
  await sh(`cp -r ${shq(peerSrc.dir)} ${shq(peerDst)}`);
  let daemon: Daemon | undefined;
  let peerProc: ChildProcess | undefined;
  const ferry: number[] = [];
  const peer: number[] = [];
  const cpuPerEdit: number[] = [];
  try {
    const t0 = performance.now();
    daemon = await startDaemon(join(work, 'ferry'), ferrySrc.dir, ferryDst);
    await waitIdle(daemon, 'first sync', 30 * 60_000, 3000);
    const firstSec = (performance.now() - t0) / 1000;
    log(`    first sync of ${fmtInt(files)} files: ${fmtSecs(firstSec)}`);
    // The file workers stop and memory is collected after a big scan: measure after that.
    await sleep(15_000);
    const rssIdle = procStatusBytes(daemon.pid, 'VmRSS');
    peerProc = await startPeer(peerSrc.dir, peerDst);
    const rnd = prng(18);
    for (let i = 0; i < edits; i++) {
      const f = ferrySrc.files[Math.floor(rnd() * files)] as FileSpec;
      const c0 = cpuSecs(daemon.pid);
      ferry.push(await editOnce(ferrySrc.dir, ferryDst, f.rel, 'ferry'));
      // What the daemon does after the copy is there (records, history) belongs to the edit too.
      await sleep(150);
      cpuPerEdit.push(cpuSecs(daemon.pid) - c0);
      peer.push(await editOnce(peerSrc.dir, peerDst, f.rel, 'inotifywait'));
      await sleep(150);
      if ((i + 1) % 20 === 0 || i + 1 === edits)
        log(
          `    ${i + 1}/${edits}: ferry p50 ${fmtMs(median(ferry))}, CPU/edit p50 ${fmtMs(median(cpuPerEdit))}; inotifywait+cp p50 ${fmtMs(median(peer))}`,
        );
    }
    const rssAfter = procStatusBytes(daemon.pid, 'VmRSS');
    const end = await ferryStatus(daemon);
    if (end.queue.failed > 0) throw new Error(`ferry reports failed transfers after the scale run: ${end.summary}`);
    await stopDaemon(daemon);
    const f = { p50: median(ferry), p99: percentile(ferry, 99), max: Math.max(...ferry) };
    const p = { p50: median(peer), p99: percentile(peer, 99), max: Math.max(...peer) };
    const cpu = { p50: median(cpuPerEdit), mean: sum(cpuPerEdit) / cpuPerEdit.length };
    // Issue 18: idle under 200 MB at 300,000 files, under 300 MB at 1,000,000.
    const rssTarget = files > 300_000 ? 300 * MB : 200 * MB;
    const met = f.p50 < 0.2 && f.p99 < 1 && cpu.mean < 0.05 && rssIdle < rssTarget;
    log(
      `  ${'ferry daemon RSS, idle after the first sync'.padEnd(48)} ${fmtMB(rssIdle)} (target < ${fmtMB(rssTarget)})`,
    );
    log(
      `  ${'ferry daemon, one edit → shipped'.padEnd(48)} p50 ${fmtMs(f.p50)} · p99 ${fmtMs(f.p99)} · max ${fmtMs(f.max)}`,
    );
    log(`  ${'ferry daemon CPU per edit'.padEnd(48)} p50 ${fmtMs(cpu.p50)} · mean ${fmtMs(cpu.mean)}`);
    log(`  ${'inotifywait -m -r | cp'.padEnd(48)} p50 ${fmtMs(p.p50)} · p99 ${fmtMs(p.p99)} · max ${fmtMs(p.max)}`);
    log(`  ratio (peer p50 / ferry p50) ${fmtRatio(p.p50 / f.p50)}; p99 ${fmtRatio(p.p99 / f.p99)}`);
    log(
      `  target p50 < 200 ms, p99 < 1 s, CPU per edit < 50 ms, idle RSS < ${fmtMB(rssTarget)} → ${met ? 'met ✓' : 'NOT met ✗'}`,
    );
    const notes = [
      `first sync of ${fmtInt(files)} files took ${fmtSecs(firstSec)} from spawn; RSS ${fmtMB(rssIdle)} idle before the edits, ${fmtMB(rssAfter)} after`,
      'CPU per edit = utime+stime of every daemon thread from the edit to 150 ms after its copy was complete',
    ];
    for (const note of notes) log(`  note: ${note}`);
    return {
      name: 'scale',
      description,
      rows: [
        {
          scenario: `scale: one edit → shipped (${fmtInt(files)} files)`,
          ferry: `p50 ${fmtMs(f.p50)} · p99 ${fmtMs(f.p99)} · CPU/edit ${fmtMs(cpu.mean)} · idle ${fmtMB(rssIdle)}`,
          peer: `inotifywait + cp: p50 ${fmtMs(p.p50)} · p99 ${fmtMs(p.p99)}`,
          ratio: fmtRatio(p.p50 / f.p50),
          target: `p50 < 200 ms, p99 < 1 s, CPU/edit < 50 ms, idle < ${fmtMB(rssTarget)}`,
          met,
        },
      ],
      figures: {
        files,
        edits,
        firstSyncSec: firstSec,
        rssIdleBytes: rssIdle,
        rssAfterBytes: rssAfter,
        ferry: { ...f, samplesSec: ferry },
        ferryCpuPerEditSec: cpuPerEdit,
        inotifywait: { ...p, samplesSec: peer },
      },
      notes,
    };
  } finally {
    stopPeer(peerProc);
    killDaemon(daemon);
  }
}

// -- oneshot

/** Wall time, peak RSS, and CPU time (user + system: what the run cost, whatever else loads the machine). */
type Timed = { secs: number; peakRss: number; cpuSecs: number };

/** Runs a program under `/usr/bin/time`: its wall time, its peak RSS; throws if it fails. */
async function timedRun(file: string, args: string[], what: string): Promise<Timed & { stdout: string }> {
  const out = join(tmpdir(), `ferry-bench-time-${process.pid}.txt`);
  const r = await exec('/usr/bin/time', ['-f', '%e %M %U %S', '-o', out, file, ...args]);
  if (r.code !== 0)
    throw new Error(`${what} exited ${r.code ?? r.signal}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
  const figures = readFileSync(out, 'utf8').trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
  rmSync(out, { force: true });
  const [, kb, user, sys] = figures;
  if (figures.length !== 4 || !figures.every(Number.isFinite))
    throw new Error(`${what}: no figures from /usr/bin/time`);
  // /usr/bin/time rounds to 10 ms; the spawn's own clock is finer.
  return { secs: r.secs, peakRss: (kb as number) * KiB, cpuSecs: (user as number) + (sys as number), stdout: r.stdout };
}

/**
 * Issue 18's one-shot targets: cold and no-op `ferry sync --once` of a folder of BENCH_SCALE_FILES small
 * files to a local destination, against `rsync -a` (and `rsync -a --fsync`, the peer with Ferry's
 * durability) on the same data, interleaved; every cold run into a fresh destination.
 */
async function oneshotScenario(o: Options): Promise<LiveResult> {
  const files = Number(process.env.BENCH_SCALE_FILES ?? 100_000);
  if (!Number.isInteger(files) || files < 1000)
    throw new Error(`BENCH_SCALE_FILES must be an integer ≥ 1000: ${process.env.BENCH_SCALE_FILES}`);
  const work = join(o.runDir, 'oneshot');
  const description = `cold and no-op \`sync --once\` of ${fmtInt(files)} files × 1,000 bytes in ${fmtInt(Math.ceil(files / 100))} folders (local → local, mirror), vs rsync`;
  log(`\n== oneshot: ${description}`);
  // Nothing edits this tree: the data folder is reused across runs.
  const ds = ensureDataset(o.dir, scaleSpec('oneshot-src', files));
  const src = ds.dir;
  const fresh = (tool: string, i: number) => {
    const d = join(work, `${tool}-${i + 1}`);
    mkdirSync(join(d, 'dst'), { recursive: true });
    return d;
  };
  const prepare = async () => {
    await primeCache(src);
    flushDirty();
  };
  const runs: Record<'ferryCold' | 'ferryNoop' | 'rsyncCold' | 'rsyncNoop' | 'rsyncFsync', Timed[]> = {
    ferryCold: [],
    ferryNoop: [],
    rsyncCold: [],
    rsyncNoop: [],
    rsyncFsync: [],
  };
  const ferry = async (base: string, what: string) => {
    const r = await timedRun(
      process.execPath,
      [CLI, 'sync', '--once', '--json', '--config', join(base, 'ferry.yml'), '--state-dir', join(base, 'state')],
      what,
    );
    const said = JSON.parse(r.stdout) as { ok: boolean; stats: { done: number }; inSync: number };
    if (!said.ok) throw new Error(`${what}: ferry says the pass is not complete: ${r.stdout.slice(0, 2000)}`);
    return { ...r, said };
  };
  for (let i = 0; i < o.runs; i++) {
    const base = fresh('ferry', i);
    ferryConfig(join(base, 'ferry.yml'), src, join(base, 'dst'), 'mirror');
    await prepare();
    const cold = await ferry(base, 'ferry sync --once (cold)');
    checkCopy('ferry', join(base, 'dst'), ds);
    runs.ferryCold.push(cold);
    flushDirty();
    const noop = await ferry(base, 'ferry sync --once (no-op)');
    if (noop.said.stats.done !== 0 || noop.said.inSync !== files)
      throw new Error(`ferry's no-op pass did work: ${noop.said.stats.done} done, ${noop.said.inSync} in sync`);
    runs.ferryNoop.push(noop);

    const rs = join(fresh('rsync', i), 'dst');
    await prepare();
    runs.rsyncCold.push(await timedRun('rsync', ['-a', `${src}/`, `${rs}/`], 'rsync -a (cold)'));
    checkCopy('rsync', rs, ds);
    flushDirty();
    runs.rsyncNoop.push(await timedRun('rsync', ['-a', `${src}/`, `${rs}/`], 'rsync -a (no-op)'));

    const rf = join(fresh('rsync-fsync', i), 'dst');
    await prepare();
    runs.rsyncFsync.push(await timedRun('rsync', ['-a', '--fsync', `${src}/`, `${rf}/`], 'rsync -a --fsync'));
    checkCopy('rsync --fsync', rf, ds);
    flushDirty();
    const last = (xs: Timed[]) => {
      const t = xs.at(-1) as Timed;
      return `${fmtSecs(t.secs)} (CPU ${fmtSecs(t.cpuSecs)}) / ${fmtMB(t.peakRss)}`;
    };
    log(
      `    run ${i + 1}/${o.runs}: ferry cold ${last(runs.ferryCold)}, no-op ${last(runs.ferryNoop)}; rsync cold ${last(runs.rsyncCold)}, no-op ${last(runs.rsyncNoop)}; rsync --fsync ${last(runs.rsyncFsync)}`,
    );
  }
  const med = (xs: Timed[]): Timed => ({
    secs: median(xs.map((x) => x.secs)),
    cpuSecs: median(xs.map((x) => x.cpuSecs)),
    peakRss: Math.max(...xs.map((x) => x.peakRss)),
  });
  const m = {
    ferryCold: med(runs.ferryCold),
    ferryNoop: med(runs.ferryNoop),
    rsyncCold: med(runs.rsyncCold),
    rsyncNoop: med(runs.rsyncNoop),
    rsyncFsync: med(runs.rsyncFsync),
  };
  const rate = (t: { secs: number }) => files / t.secs;
  const vsRsync = rate(m.ferryCold) / rate(m.rsyncCold);
  const vsFsync = rate(m.ferryCold) / rate(m.rsyncFsync);
  const noopRatio = m.ferryNoop.secs / m.rsyncNoop.secs;
  const line = (label: string, t: Timed) =>
    log(
      `  ${label.padEnd(40)} ${fmtSecs(t.secs).padStart(9)} · ${fmtInt(rate(t))} files/s · CPU ${fmtSecs(t.cpuSecs)} · peak RSS ${fmtMB(t.peakRss)}`,
    );
  line('ferry sync --once, cold', m.ferryCold);
  line('rsync -a, cold', m.rsyncCold);
  line('rsync -a --fsync, cold', m.rsyncFsync);
  line('ferry sync --once, no-op', m.ferryNoop);
  line('rsync -a, no-op', m.rsyncNoop);
  const metCold = vsRsync >= 0.7 && vsFsync >= 2.5 && m.ferryCold.peakRss < 400 * MB;
  const metNoop = noopRatio <= 2 && m.ferryNoop.peakRss < 300 * MB;
  log(
    `  cold: ${fmtRatio(vsRsync)} rsync -a's files/s (target ≥ 0.7×), ${fmtRatio(vsFsync)} rsync -a --fsync's (≥ 2.5×), peak ${fmtMB(m.ferryCold.peakRss)} (< 400 MB) → ${metCold ? 'met ✓' : 'NOT met ✗'}`,
  );
  log(
    `  no-op: ${noopRatio.toFixed(2)}× rsync -a's time (target ≤ 2×), peak ${fmtMB(m.ferryNoop.peakRss)} (< 300 MB) → ${metNoop ? 'met ✓' : 'NOT met ✗'}`,
  );
  const peak = (t: { peakRss: number }) => fmtMB(t.peakRss);
  return {
    name: 'oneshot',
    description,
    rows: [
      {
        scenario: `oneshot: cold sync --once (${fmtInt(files)} files)`,
        ferry: `${fmtSecs(m.ferryCold.secs)} · ${fmtInt(rate(m.ferryCold))} files/s · CPU ${fmtSecs(m.ferryCold.cpuSecs)} · peak ${peak(m.ferryCold)}`,
        peer: `rsync -a ${fmtSecs(m.rsyncCold.secs)} · ${peak(m.rsyncCold)}; --fsync ${fmtSecs(m.rsyncFsync.secs)}`,
        ratio: `${fmtRatio(vsRsync)} / ${fmtRatio(vsFsync)} --fsync`,
        target: '≥ 0.7× rsync, ≥ 2.5× rsync --fsync, peak < 400 MB',
        met: metCold,
      },
      {
        scenario: `oneshot: no-op sync --once (${fmtInt(files)} files)`,
        ferry: `${fmtSecs(m.ferryNoop.secs)} · CPU ${fmtSecs(m.ferryNoop.cpuSecs)} · peak ${peak(m.ferryNoop)}`,
        peer: `rsync -a ${fmtSecs(m.rsyncNoop.secs)} · ${peak(m.rsyncNoop)}`,
        ratio: `${noopRatio.toFixed(2)}× the time`,
        target: '≤ 2× rsync -a, peak < 300 MB',
        met: metNoop,
      },
    ],
    figures: {
      files,
      ...m,
      runs,
      ratios: { coldVsRsync: vsRsync, coldVsRsyncFsync: vsFsync, noopTimeVsRsync: noopRatio },
    },
    notes: [],
  };
}

// ---- report --------------------------------------------------------------------------------------

// ---- rules: evaluation rate and preview latency ---------------------------------------------------

/**
 * Bundled with esbuild and run in a child process, so the figures are those of the code as shipped
 * (the CLI and the daemon are esbuild bundles too), not of tsx's on-the-fly transform.
 */
async function rulesScenario(o: Options): Promise<LiveResult> {
  log('\n== rules: 50 rules × 100,000 indexed paths; draft-rule preview');
  const { build } = await import('esbuild');
  const out = join(o.runDir, 'rulesBench.cjs');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  await build({
    entryPoints: [join(__dirname, 'rulesBench.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: Object.keys(pkg.dependencies),
    logLevel: 'warning',
  });
  const paths = Math.round(100_000 * o.scale);
  const r = spawnSync(process.execPath, [out], {
    encoding: 'utf8',
    env: {
      ...process.env,
      NODE_PATH: join(ROOT, 'node_modules'),
      FERRY_RULES_BENCH_MAIN: '1',
      FERRY_RULES_BENCH_PATHS: String(paths),
      FERRY_RULES_BENCH_RUNS: String(Math.max(3, o.runs)),
    },
  });
  if (r.status !== 0) throw new Error(`rules bench failed: ${r.stderr}`);
  const f = JSON.parse(r.stdout) as RulesFigures;
  const evalTarget = 500_000;
  const previewTarget = 200;
  const rows: Row[] = [
    {
      scenario: `rule evaluation (${fmtInt(f.rules)} rules × ${fmtInt(f.paths)} paths)`,
      ferry: `${fmtInt(f.evalsPerSec)} path×rule/s`,
      peer: `picomatch alone, one glob per rule: ${fmtInt(f.picomatchEvalsPerSec)}/s`,
      ratio: `${(f.evalsPerSec / f.picomatchEvalsPerSec).toFixed(2)}×`,
      target: `≥ ${fmtInt(evalTarget)}/s`,
      met: f.evalsPerSec >= evalTarget,
    },
    {
      scenario: `draft-rule preview (${fmtInt(f.paths)} paths, 50 saved rules)`,
      ferry: `p50 ${f.previewMs.p50.toFixed(0)} ms · max ${f.previewMs.max.toFixed(0)} ms`,
      peer: `same preview without the last plan's dispatch: p50 ${f.previewMs.uncachedP50.toFixed(0)} ms`,
      ratio: `${(f.previewMs.uncachedP50 / f.previewMs.p50).toFixed(1)}×`,
      target: `< ${previewTarget} ms`,
      met: f.previewMs.p50 < previewTarget,
    },
  ];
  for (const row of rows) log(`  ${row.scenario}: ${row.ferry} (${row.peer}) ${row.met ? '✓' : '✗'}`);
  return {
    name: 'rules',
    description: 'rule evaluation rate and draft-rule preview latency over a synthetic index',
    rows,
    figures: f,
    notes: [
      `planning the same index once (what the preview reuses) took ${f.planMs.toFixed(0)} ms`,
      'drafts: six keystrokes of a regex + extension rule, half of them editing a saved rule in place',
    ],
  };
}

// ---- the window with long lists ---------------------------------------------------------------------

async function windowScenario(o: Options): Promise<LiveResult> {
  log('\n== window: 50,000 queued transfers and 100,000 history rows in Chromium');
  const f = await windowBench({ dir: join(o.runDir, 'window'), runs: o.runs, scale: o.scale, cli: CLI, log });
  const list = (name: string, count: number, l: (typeof f)['queue']): Row[] => [
    {
      scenario: `${name} (${fmtInt(count)} rows): first rows`,
      ferry: `${l.firstRowsMs.toFixed(0)} ms`,
      peer: 'navigation start → first row on screen',
      ratio: '',
      target: '< 1,000 ms',
      met: l.firstRowsMs < 1000,
    },
    {
      scenario: `${name}: scroll to the last row`,
      ferry: `${l.scrollToEndMs.toFixed(0)} ms`,
      peer: `frames while scrolling: p95 ${l.frameP95Ms.toFixed(1)} ms, max ${l.frameMaxMs.toFixed(0)} ms`,
      ratio: '',
      target: '< 500 ms; frames p95 ≤ 50 ms',
      met: l.scrollToEndMs < 500 && l.frameP95Ms <= 50.5,
    },
  ];
  const rows = [...list('queue, pending tab', f.pending, f.queue), ...list('history', f.history, f.historyList)];
  for (const row of rows) log(`  ${row.scenario}: ${row.ferry} (${row.peer}) ${row.met ? '✓' : '✗'}`);
  return {
    name: 'window',
    description:
      'the window with 50,000 pending transfers and 100,000 history rows (virtualized, paged from the daemon)',
    rows,
    figures: f,
    notes: ['no peer: the figures are absolute; a 60 Hz frame is 16.7 ms'],
  };
}

async function engineLagScenario(o: Options): Promise<LiveResult> {
  log("\n== engine-lag: how fast the engine's process answers while it hashes and copies 1 GiB");
  const f = await engineLagBench({ dir: join(o.runDir, 'engine-lag'), runs: o.runs, scale: o.scale, cli: CLI, log });
  const rows: Row[] = [
    {
      scenario: `status:get during a cold first sync of ${fmtInt(f.files)} × 1 MiB (${f.syncSec.toFixed(1)} s)`,
      ferry: `p50 ${f.busy.p50Ms.toFixed(1)} ms · p99 ${f.busy.p99Ms.toFixed(1)} ms · max ${f.busy.maxMs.toFixed(0)} ms`,
      peer: `idle: p50 ${f.idle.p50Ms.toFixed(1)} ms · p99 ${f.idle.p99Ms.toFixed(1)} ms`,
      ratio: '',
      target: 'p99 < 100 ms (the window stays smooth)',
      met: f.busy.p99Ms < 100,
    },
  ];
  for (const row of rows) log(`  ${row.scenario}: ${row.ferry} (${row.peer}) ${row.met ? '✓' : '✗'}`);
  return {
    name: 'engine-lag',
    description: 'responsiveness of the process hosting the engine (what the window feels) during heavy hashing',
    rows,
    figures: f,
    notes: ['decides where the desktop app runs the engine: its main process, hashing in worker threads'],
  };
}

async function capScenario(o: Options): Promise<LiveResult> {
  log('\n== cap: how well a 20 MiB/s bandwidth cap holds, four big files to a local folder, vs rclone --bwlimit');
  const f = await capBench({ dir: join(o.runDir, 'cap'), runs: o.runs, scale: o.scale, cli: CLI, log });
  const worst = (runs: { worst3s: number }[]) => Math.max(...runs.map((r) => r.worst3s));
  const mean = (runs: { meanOfCap: number }[]) => median(runs.map((r) => r.meanOfCap));
  const rows: Row[] = [
    {
      scenario: `worst 3 s window against the cap (${fmtInt(f.files)} × ${fmtInt(f.bytes / f.files / 1048576)} MiB, 4 at once)`,
      ferry: `${worst(f.ferry).toFixed(3)} × cap`,
      peer: `${worst(f.rclone).toFixed(3)} × cap`,
      ratio: '',
      target: '≤ 1.10 × cap',
      met: worst(f.ferry) <= 1.1,
    },
    {
      scenario: 'mean rate against the cap (first byte to last)',
      ferry: `${mean(f.ferry).toFixed(3)} × cap`,
      peer: `${mean(f.rclone).toFixed(3)} × cap`,
      ratio: (mean(f.ferry) / mean(f.rclone)).toFixed(2),
      target: '',
      met: null,
    },
  ];
  for (const row of rows) log(`  ${row.scenario}: ${row.ferry} (rclone ${row.peer})`);
  return {
    name: 'cap',
    description: 'the bandwidth cap over every 3 s window, measured at the destination file by file',
    rows,
    figures: f,
    notes: ['a lower bound of what arrived in each window (test/helpers/capMeter.ts): never overstated'],
  };
}

// ---- network destinations: Ferry vs rclone copy to the same local server -----------------------------

/** Rows for a destination bench: small files/s and big-file MB/s, each against rclone on the same server. */
function networkRows(
  name: string,
  f: { small: [number, number]; big: [number, number] },
  targets: { smallRatio?: number; smallFilesPerSec?: number; bigRatio: number },
): Row[] {
  const [fs, rs] = f.small;
  const [fb, rb] = f.big;
  const smallMet =
    (targets.smallRatio === undefined || fs / rs >= targets.smallRatio) &&
    (targets.smallFilesPerSec === undefined || fs >= targets.smallFilesPerSec);
  return [
    {
      scenario: `${name}: 1,000 × 64 KiB`,
      ferry: `${fmtInt(fs)} files/s`,
      peer: `rclone copy: ${fmtInt(rs)} files/s`,
      ratio: `${(fs / rs).toFixed(2)}×`,
      target: [
        targets.smallRatio === undefined ? '' : `≥ ${targets.smallRatio}×`,
        targets.smallFilesPerSec === undefined ? '' : `≥ ${fmtInt(targets.smallFilesPerSec)} files/s`,
      ]
        .filter(Boolean)
        .join(', '),
      met: smallMet,
    },
    {
      scenario: `${name}: 10 × 100 MB`,
      ferry: `${fmtRate(fb)} MB/s`,
      peer: `rclone copy: ${fmtRate(rb)} MB/s`,
      ratio: `${(fb / rb).toFixed(2)}×`,
      target: `≥ ${targets.bigRatio}×`,
      met: fb / rb >= targets.bigRatio,
    },
  ];
}

async function s3Scenario(o: Options): Promise<LiveResult> {
  log('\n== s3: Ferry vs rclone copy to s3rver on loopback');
  const f = await s3Bench({ dir: join(o.runDir, 's3'), runs: o.runs, scale: o.scale, cli: CLI, log });
  return {
    name: 's3',
    description: '1,000 × 64 KiB and 10 × 100 MB to a local S3 server (s3rver), every object verified',
    rows: networkRows(
      's3',
      {
        small: [f.smallFiles.ferryFilesPerSec, f.smallFiles.rcloneFilesPerSec],
        big: [f.bigFiles.ferryMBps, f.bigFiles.rcloneMBps],
      },
      { smallRatio: 1.5, bigRatio: 1.5 },
    ),
    figures: f,
    notes: [
      's3rver spends ~5 ms of CPU per object and rewrites a multipart object on completion; it shares the 2 cores',
    ],
  };
}

async function webdavScenario(o: Options): Promise<LiveResult> {
  log('\n== webdav: Ferry vs rclone copy to rclone serve webdav on loopback');
  const f = await webdavBench({ dir: join(o.runDir, 'webdav'), runs: o.runs, scale: o.scale, cli: CLI, log });
  return {
    name: 'webdav',
    description: '1,000 × 64 KiB and 10 × 100 MB to `rclone serve webdav`, every file verified',
    rows: networkRows(
      'webdav',
      { small: [f.small.ferryFilesPerSec, f.small.rcloneFilesPerSec], big: [f.big.ferryMBps, f.big.rcloneMBps] },
      { smallFilesPerSec: 1000, bigRatio: 1.0 },
    ),
    figures: f,
    notes: ['rclone serve webdav itself tops out near 800 small files/s here with PUT + MOVE; it shares the 2 cores'],
  };
}

async function sftpScenario(o: Options): Promise<LiveResult> {
  log('\n== sftp: Ferry vs rclone copy to rclone serve sftp on loopback');
  const f = await sftpBench({ dir: join(o.runDir, 'sftp'), runs: o.runs, scale: o.scale, cli: CLI, log });
  return {
    name: 'sftp',
    description: '1,000 × 64 KiB and 10 × 100 MB to `rclone serve sftp`, every file verified',
    rows: networkRows(
      'sftp',
      { small: [f.small.ferryFilesPerSec, f.small.rcloneFilesPerSec], big: [f.big.ferryMBps, f.big.rcloneMBps] },
      { smallRatio: 1.5, bigRatio: 1.5 },
    ),
    figures: f,
    notes: ['rclone serve sftp shares the 2 cores with both clients'],
  };
}

function cell(s: ScenarioResult, r: ToolResult): string {
  switch (s.figure) {
    case 'MB/s':
      return `${fmtRate(r.mbPerSec)} MB/s`;
    case 'files/s':
      return `${fmtInt(r.filesPerSec)} files/s`;
    case 'time':
      return `${fmtSecs(r.medianSec)} (${fmtInt(r.filesPerSec)} files/s)`;
  }
}

function markdown(o: Options, results: AnyResult[]): string {
  const rows = ['| scenario | Ferry | peer | ratio | target | met? |', '|---|---|---|---|---|---|'];
  for (const s of results) {
    if ('rows' in s) {
      for (const r of s.rows)
        rows.push(
          `| ${r.scenario} | ${r.ferry} | ${r.peer} | ${r.ratio} | ${r.target} | ${r.met === null ? '—' : r.met ? '✓' : '✗'} |`,
        );
      continue;
    }
    const ferry = s.tools.find((t) => t.isFerry) as ToolResult;
    for (const c of s.comparisons) {
      const p = s.tools.find((t) => t.tool === c.peer) as ToolResult;
      rows.push(
        `| ${s.name}${c.target === null ? ' (ref.)' : ''} | ${cell(s, ferry)} | ${p.label}: ${cell(s, p)} | ${c.ratio.toFixed(2)}× | ${c.target === null ? '—' : `≥ ${c.target}×`} | ${c.met === null ? '—' : c.met ? '✓' : '✗'} |`,
      );
    }
  }
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  rows.push(
    '',
    `Medians of ${o.runs} interleaved run(s), BENCH_SCALE=${o.scale}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / GiB)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Ratio = Ferry's throughput / the peer's (warm-rescan: find's time / Ferry's).` +
      results
        .filter((s): s is LiveResult => 'rows' in s)
        .map((s) => ` ${s.name}: ${LIVE_FOOTNOTES[s.name] ?? ''}`)
        .join(''),
  );
  return rows.join('\n');
}

const LIVE_FOOTNOTES: Partial<Record<ScenarioName, string>> = {
  window:
    'the real daemon serving the built window to Debian’s Chromium (playwright-core), 1280×800; first rows = navigation start → the first row’s text on screen; to the end = scrollTop set to the bottom → the last row’s data shown; frames = 120 frames of scrolling up 2,000 px each, requestAnimationFrame gaps.',
  sftp: 'Ferry `sync --once` vs `rclone copy --transfers 4` (sftp backend, same `rclone serve sftp`), interleaved, medians; files verified on disk after each run.',
  webdav:
    'Ferry `sync --once` vs `rclone copy --transfers 8` (webdav backend, same server), interleaved, medians; files verified on disk after each run.',
  s3: 'Ferry `sync --once` vs `env -u AWS_CA_BUNDLE rclone copy --transfers 4` (S3 backend, same s3rver, checksums on), interleaved, medians; objects verified after each run.',
  rules:
    'in process, on the engine code bundled as shipped; evaluation = every rule (none with stop) on every path, median of runs; preview = rules:preview for a draft over the whole index, answered with the last plan’s dispatch.',
  watchers:
    'each backend in a fresh child process, runs interleaved; RSS = after ready − before start; watches = `inotify wd:` lines in the process’s fdinfo; event = write → first event for that path, median of 20 per run.',
  latency:
    'write of a new ~1 KiB file → the copy at the destination with its size (polled every 2 ms), samples alternated Ferry/peer; ratio = peer p50 / Ferry p50.',
  oneshot:
    'each run into a fresh destination (and state directory); no-op = the same command again at once; peak RSS = `/usr/bin/time` maximum resident set size of the process; ratios: files/s Ferry / peer for the cold runs, time Ferry / `rsync -a` for the no-op runs (both walk source and destination).',
  scale:
    'an existing file rewritten with new bytes → its copy at the destination holds them (polled every 2 ms), edits alternated Ferry/peer; ratio = peer p50 / Ferry p50.',
  'daemon-idle':
    'a 10 s window starting 15 s after the first sync is done (ferry status idle, queue empty; the settling is in the notes); CPU = utime+stime of all threads / wall time.',
};

function versions(want: (s: ScenarioName) => boolean): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`${cmd} is needed by the bench: ${r.error?.message ?? r.stderr}`);
    return (r.stdout.split('\n')[0] ?? '').trim();
  };
  const out: Record<string, string> = {
    node: process.version,
    openssl: first('openssl', ['version']),
    rsync: first('rsync', ['--version']),
    rclone: first('rclone', ['version']),
    find: first('find', ['--version']),
  };
  if (want('latency') || want('scale')) {
    // `inotifywait --help` exits 1; its first line is the version.
    const r = spawnSync('inotifywait', ['--help'], { encoding: 'utf8' });
    const line = (`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0] ?? '').trim();
    if (r.error || !line.startsWith('inotifywait'))
      throw new Error(
        `inotifywait is needed by the latency scenario (apt-get install inotify-tools): ${r.error?.message ?? line}`,
      );
    out.inotifywait = line;
  }
  if (want('watchers') || want('latency') || want('daemon-idle') || want('scale')) {
    if (process.platform !== 'linux')
      throw new Error('the watchers, latency and daemon-idle scenarios need Linux (/proc)');
    const pkg = (name: string) =>
      (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
        .version;
    out.parcelWatcher = pkg('@parcel/watcher');
    out.chokidar = pkg('chokidar');
  }
  return out;
}

/** Writes the JSON results formatted as the repo's Prettier would, so `prettier --check` stays clean. */
async function writeResults(data: unknown): Promise<void> {
  const json = JSON.stringify(data, null, 2);
  let text = `${json}\n`;
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(RESULTS)) ?? {};
    text = await prettier.format(json, { ...config, filepath: RESULTS });
  } catch (err) {
    log(`(results left unformatted: ${(err as Error).message})`);
  }
  writeFileSync(RESULTS, text);
}

// ---- main ----------------------------------------------------------------------------------------

async function readOnceScenario(o: Options): Promise<LiveResult> {
  log('\n== readonce: bytes a cold sync --once reads (/proc/<pid>/io rchar) against the data it ships');
  const f = await readOnceBench({ dir: join(o.runDir, 'readonce'), runs: o.runs, scale: o.scale, cli: CLI, log });
  const what: Record<string, string> = {
    local: 'a local folder',
    sftp: 'OpenSSH (internal-sftp: no hash command, 64 KiB samples read back)',
    'rclone-sftp': 'rclone serve sftp (hashed by the server)',
  };
  const rows: Row[] = [...new Set(f.runs.map((r) => r.destination))].map((d) => {
    const ratio = median(f.runs.filter((r) => r.destination === d).map((r) => r.ratio));
    return {
      scenario: `read bytes of a cold sync to ${what[d] ?? d} (${fmtInt(f.files)} files, ${fmtBytes(f.dataBytes)})`,
      ferry: `${fmtBytes(ratio * f.dataBytes)} read`,
      peer: '',
      ratio: `${ratio.toFixed(3)} × data`,
      target: '≤ 1.10 × data',
      met: d === 'sftp' ? null : ratio <= 1.1,
    };
  });
  return {
    name: 'readonce',
    description: 'a first sync reads each new file once (hashed while it is sent)',
    rows,
    figures: f,
    notes: [
      "rchar counts every byte read(2) returned, sockets included: OpenSSH's row includes the samples read back to verify each upload (whole files up to 192 KiB)",
    ],
  };
}

async function main(): Promise<void> {
  const o = options();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:node\` (npm run bench does)`);
  const want = (s: ScenarioName) => o.only.includes(s);
  const tools = versions(want);
  mkdirSync(o.runDir, { recursive: true });
  log(`Ferry bench · scale ${o.scale} · ${o.runs} run(s) · ${o.only.join(', ')}`);
  log(`  dir ${o.dir} · ${tools.openssl} · ${tools.rsync} · ${tools.rclone} · Node ${process.version}`);

  const results: AnyResult[] = [];
  const started = new Date().toISOString();
  let failure: Error | undefined;
  try {
    log('\n== data');
    const tree = want('cold-index') || want('warm-rescan') ? ensureDataset(o.dir, treeSpec(o.scale)) : undefined;
    const small = want('small-files') ? ensureDataset(o.dir, smallSpec(o.scale)) : undefined;
    const big = want('big-files') ? ensureDataset(o.dir, bigSpec(o.scale)) : undefined;
    const many = want('watchers') || want('daemon-idle') ? ensureDataset(o.dir, watchSpec(o.scale)) : undefined;
    const warmFile = join(o.runDir, 'warm-up.txt');
    writeFileSync(warmFile, 'x');

    /** Runs a scenario and records how long it took (data generation is done above, outside). */
    const timed = async (run: () => Promise<AnyResult>) => {
      const t0 = performance.now();
      const r = await run();
      r.tookSec = (performance.now() - t0) / 1000;
      log(`  (${r.name} took ${fmtSecs(r.tookSec)})`);
      results.push(r);
    };
    if (tree && want('cold-index')) await timed(() => coldIndex(o, tree, warmFile));
    if (tree && want('warm-rescan')) await timed(() => warmRescan(o, tree, warmFile));
    if (small) await timed(() => smallFiles(o, small));
    if (big) await timed(() => bigFiles(o, big));
    if (many && want('watchers')) await timed(() => watchers(o, many));
    if (want('latency')) await timed(() => latency(o));
    if (many && want('daemon-idle')) await timed(() => daemonIdle(o, many));
    if (want('scale')) await timed(() => scaleScenario(o));
    if (want('oneshot')) await timed(() => oneshotScenario(o));
    if (want('rules')) await timed(() => rulesScenario(o));
    if (want('s3')) await timed(() => s3Scenario(o));
    if (want('webdav')) await timed(() => webdavScenario(o));
    if (want('sftp')) await timed(() => sftpScenario(o));
    if (want('window')) await timed(() => windowScenario(o));
    if (want('engine-lag')) await timed(() => engineLagScenario(o));
    if (want('cap')) await timed(() => capScenario(o));
    if (want('readonce')) await timed(() => readOnceScenario(o));

    const table = markdown(o, results);
    log('\n== results (Markdown)\n');
    log(table);
  } catch (err) {
    failure = err as Error;
  } finally {
    await writeResults({
      started,
      finished: new Date().toISOString(),
      scale: o.scale,
      runs: o.runs,
      dir: o.dir,
      machine: { cpu: cpus()[0]?.model.trim(), cores: cpus().length, memGiB: Math.round(totalmem() / GiB) },
      tools,
      scenarios: results,
      table: results.length > 0 ? markdown(o, results) : null,
      error: failure ? failure.message : null,
    });
    log(`\nresults written to ${RESULTS}`);
    // Delete only now, at the very end (BENCH.md: mass deletion slows ext4 for a minute).
    if (o.keep) log(`kept ${o.runDir} (BENCH_KEEP=1)`);
    else {
      rmSync(o.dirGiven ? o.runDir : o.dir, { recursive: true, force: true });
      log(
        o.dirGiven ? `removed ${o.runDir}; data kept in ${join(o.dir, 'data')} for the next run` : `removed ${o.dir}`,
      );
    }
  }
  if (failure) throw failure;
}

main().catch((err: unknown) => {
  process.stderr.write(`\nBENCH FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
