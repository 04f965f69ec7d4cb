/**
 * Ferry's benchmarks: `npm run bench` (builds out/node first, then runs this file under tsx).
 *
 * Every scenario times Ferry against a peer on the same data, interleaved (ferry, peer, ferry, peer …),
 * and reports medians and the ratio ferry/peer (> 1 means Ferry is faster). See docs in
 * /work/shared/docs/BENCH.md for why these peers and the traps avoided here.
 *
 * Environment:
 *   BENCH_SCALE  multiplies file counts (default 1: 20k files ≈ 1 GiB, 10k small files, 100 × 10 MiB)
 *   BENCH_RUNS   timed runs per tool (default 3); medians are reported
 *   BENCH_DIR    working directory (default a fresh /tmp/ferry-bench-<ts>, deleted at the end). When
 *                given, the generated data under BENCH_DIR/data is kept and reused by the next run.
 *   BENCH_ONLY   comma list of scenarios: cold-index,warm-rescan,small-files,big-files
 *   BENCH_KEEP   1 = keep the copies and state dirs of this run (for inspection)
 *
 * Results: stdout (a line per tool, a Markdown table at the end) and test/bench/results-latest.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FolderConfig } from '../../src/shared/config';
import { EventBus } from '../../src/main/engine/events';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { prng } from '../helpers/tree';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const MB = 1e6;

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'out', 'node', 'cli.js');
const RESULTS = join(__dirname, 'results-latest.json');

const SCENARIOS = ['cold-index', 'warm-rescan', 'small-files', 'big-files'] as const;
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

/** Runs a program to its end; `secs` is the wall time from spawn to exit. Output is kept (last 64 KiB). */
function exec(file: string, args: string[]): Promise<Exec> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const keep = (s: string, d: Buffer) => (s + d.toString()).slice(-64 * KiB);
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
};

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

function ferryConfig(file: string, src: string, dest: string): void {
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
    '    mode: backup',
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
    [
      { peer: 'rsync', target: 1.0 },
      { peer: 'rclone', target: null },
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
  ]);
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
    [
      { peer: 'rclone', target: 2.0 },
      { peer: 'rsync', target: null },
      { peer: 'rclone-nocheck', target: null },
    ],
  );
}

// ---- report --------------------------------------------------------------------------------------

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

function markdown(o: Options, results: ScenarioResult[]): string {
  const rows = ['| scenario | Ferry | peer | ratio | target | met? |', '|---|---|---|---|---|---|'];
  for (const s of results) {
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
    `Medians of ${o.runs} interleaved run(s), BENCH_SCALE=${o.scale}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / GiB)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Ratio = Ferry's throughput / the peer's (warm-rescan: find's time / Ferry's).`,
  );
  return rows.join('\n');
}

function versions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`${cmd} is needed by the bench: ${r.error?.message ?? r.stderr}`);
    return (r.stdout.split('\n')[0] ?? '').trim();
  };
  return {
    node: process.version,
    openssl: first('openssl', ['version']),
    rsync: first('rsync', ['--version']),
    rclone: first('rclone', ['version']),
    find: first('find', ['--version']),
  };
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

async function main(): Promise<void> {
  const o = options();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:node\` (npm run bench does)`);
  const tools = versions();
  mkdirSync(o.runDir, { recursive: true });
  log(`Ferry bench · scale ${o.scale} · ${o.runs} run(s) · ${o.only.join(', ')}`);
  log(`  dir ${o.dir} · ${tools.openssl} · ${tools.rsync} · ${tools.rclone} · Node ${process.version}`);

  const results: ScenarioResult[] = [];
  const started = new Date().toISOString();
  let failure: Error | undefined;
  try {
    const want = (s: ScenarioName) => o.only.includes(s);
    log('\n== data');
    const tree = want('cold-index') || want('warm-rescan') ? ensureDataset(o.dir, treeSpec(o.scale)) : undefined;
    const small = want('small-files') ? ensureDataset(o.dir, smallSpec(o.scale)) : undefined;
    const big = want('big-files') ? ensureDataset(o.dir, bigSpec(o.scale)) : undefined;
    const warmFile = join(o.runDir, 'warm-up.txt');
    writeFileSync(warmFile, 'x');

    if (tree && want('cold-index')) results.push(await coldIndex(o, tree, warmFile));
    if (tree && want('warm-rescan')) results.push(await warmRescan(o, tree, warmFile));
    if (small) results.push(await smallFiles(o, small));
    if (big) results.push(await bigFiles(o, big));

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
