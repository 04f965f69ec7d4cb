/**
 * The rules scenario of `npm run bench`: how fast 50 rules judge 100,000 indexed paths, and how long
 * a draft rule's preview takes over them — in process, on the engine's own functions, against
 * picomatch alone (one compiled glob per rule: the floor under any JS rule engine).
 */
import picomatch from 'picomatch';
import { ruleSchema, type RuleConfig } from '../../src/shared/config';
import type { LocalFile } from '../../src/shared/models';
import { plan } from '../../src/main/engine/plan/planner';
import { Dispatcher } from '../../src/main/engine/rules/dispatch';
import { previewRule } from '../../src/main/engine/rules/preview';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';

const DAY = 86_400_000;
const EXTS = ['jpg', 'png', 'pdf', 'txt', 'md', 'csv', 'log', 'heic', 'mov', 'zip', 'docx', 'json', 'ts', 'tmp'];
const MIMES: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  pdf: 'application/pdf',
  heic: 'image/heic',
  mov: 'video/quicktime',
  zip: 'application/zip',
  docx: 'application/zip',
};

/** A deterministic index: nested project folders, a spread of types, sizes and dates. */
export function syntheticIndex(n: number, now: number): Map<string, LocalFile> {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const files = new Map<string, LocalFile>();
  for (let i = 0; i < n; i++) {
    const ext = EXTS[Math.floor(rnd() * EXTS.length)] as string;
    const depth = 1 + Math.floor(rnd() * 4);
    const dirs = Array.from(
      { length: depth },
      (_, d) => `${['src', 'docs', 'photos', 'invoices', 'tmp'][d % 5]}${Math.floor(rnd() * 20)}`,
    );
    const path = `${dirs.join('/')}/file-${i}.${ext}`;
    files.set(path, {
      folder: 'f',
      path,
      size: Math.floor(rnd() ** 3 * 50_000_000),
      mtimeNs: BigInt(now - Math.floor(rnd() * 900) * DAY) * 1_000_000n,
      ino: BigInt(i),
      hashes: { sha256: i.toString(16).padStart(64, '0') },
      mime: MIMES[ext] ?? 'text/plain',
    });
  }
  return files;
}

/** 50 rules of every kind the language has; none stops, so every path meets every rule. */
export function fiftyRules(): RuleConfig[] {
  const kinds: ((i: number) => Partial<RuleConfig>)[] = [
    (i) => ({ match: [`**/*.${EXTS[i % EXTS.length]}`] }),
    (i) => ({ when: { ext: [EXTS[i % EXTS.length] as string, EXTS[(i + 3) % EXTS.length] as string] } }),
    (i) => ({ when: { regex: `^(src|docs)${i % 20}/.*\\.(ts|md)$` } }),
    (i) => ({ when: { size: { min: `${i}KB`, max: `${i + 5}MB` } } }),
    (i) => ({ when: { age: { max: `${(i % 30) + 1}d` } } }),
    () => ({ when: { type: 'image/*' } }),
    (i) => ({
      match: ['photos*/**'],
      exclude: ['**/tmp*/**'],
      when: { not: { ext: EXTS[i % EXTS.length] as string } },
    }),
    (i) => ({
      when: {
        all: [{ any: [{ glob: `invoices${i % 20}/**` }, { type: 'application/pdf' }] }, { size: { max: '10MB' } }],
      },
    }),
    () => ({ when: { modified: { after: '2024-01-01' } } }),
    (i) => ({ exclude: [`**/*.{tmp,log}`, `docs${i % 20}/**`] }),
  ];
  return Array.from({ length: 50 }, (_, i) =>
    ruleSchema.parse({
      name: `rule-${i}`,
      from: ['f'],
      to: ['d'],
      ...(kinds[i % kinds.length] as (i: number) => Partial<RuleConfig>)(i),
    }),
  );
}

export type RulesFigures = {
  paths: number;
  rules: number;
  evalsPerSec: number;
  picomatchEvalsPerSec: number;
  previewMs: { p50: number; max: number; uncachedP50: number };
  planMs: number;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export function runRulesBench(paths: number, runs: number): RulesFigures {
  const now = Date.now();
  const files = syntheticIndex(paths, now);
  const list = [...files.values()];
  const rules = fiftyRules();
  const compiled = rules.map(compileRule);
  const globs = rules.map((r) => picomatch(r.match, { dot: true }));

  let sink = 0;
  const evalTimes: number[] = [];
  const peerTimes: number[] = [];
  for (let run = 0; run < runs; run++) {
    let t = performance.now();
    for (const f of list) for (const r of compiled) if (r.matches(f, now)) sink++;
    evalTimes.push((performance.now() - t) / 1000);
    t = performance.now();
    for (const f of list) for (const g of globs) if (g(f.path)) sink++;
    peerTimes.push((performance.now() - t) / 1000);
  }
  const evals = list.length * rules.length;

  // The preview answers from the last plan's dispatch, as the service does: plan once, then type.
  const t0 = performance.now();
  const thePlan = plan({
    dispatcher: new Dispatcher(compiled),
    folders: new Map([['f', { files, unreadable: new Set(), complete: true }]]),
    destinations: new Map(),
    maxDeleteShare: 0.5,
    confirmDeletes: false,
    now,
  });
  const planMs = performance.now() - t0;
  const drafts = ['i', 'in', 'inv', 'invo', 'invoices1', 'invoices1[0-9]/'].map((prefix, i) =>
    ruleSchema.parse({
      name: i % 2 === 0 ? 'draft' : 'rule-7',
      from: ['f'],
      to: ['d'],
      path: '{yyyy}/{mm}/{name}',
      when: { all: [{ regex: `^${prefix}` }, { ext: ['pdf', 'jpg'] }] },
    }),
  );
  const folders = new Map([['f', files]]);
  const previewTimes: number[] = [];
  const uncachedTimes: number[] = [];
  for (let run = 0; run < runs; run++)
    for (const draft of drafts) {
      let t = performance.now();
      sink += previewRule({ rules, draft, folders, now, limit: 500, caught: thePlan.caught }).total;
      previewTimes.push(performance.now() - t);
      t = performance.now();
      sink += previewRule({ rules, draft, folders, now, limit: 500 }).total;
      uncachedTimes.push(performance.now() - t);
    }
  if (sink < 0) throw new Error('unreachable');
  return {
    paths: list.length,
    rules: rules.length,
    evalsPerSec: evals / median(evalTimes),
    picomatchEvalsPerSec: evals / median(peerTimes),
    previewMs: { p50: median(previewTimes), max: Math.max(...previewTimes), uncachedP50: median(uncachedTimes) },
    planMs,
  };
}

// Run as a script (the bench bundles this file with esbuild, as the CLI is bundled, and runs it in a
// child process): prints the figures as JSON.
if (process.env.FERRY_RULES_BENCH_MAIN === '1') {
  const paths = Number(process.env.FERRY_RULES_BENCH_PATHS ?? 100_000);
  const runs = Number(process.env.FERRY_RULES_BENCH_RUNS ?? 3);
  process.stdout.write(`${JSON.stringify(runRulesBench(paths, runs))}\n`);
}
