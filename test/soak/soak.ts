// `npm run soak`: the model-based random runs of test/integration/modelRandom.test.ts, for as long or
// with whatever seed you like. Every failure prints the line that replays it.
//   npm run soak -- [--target local|sftp|ftp|webdav|s3|gcs|dropbox|all] [--mode backup|mirror|move|two-way|all]
//                   [--seed N] [--steps N] [--runs N] [--minutes N] [--log (each run's steps, passed or not)]
import { parseArgs } from 'node:util';
import type { Mode } from '../helpers/model/ops';
import { replayHint, runScenario } from '../helpers/model/scenario';
import { startTarget, TARGET_NAMES, type Target, type TargetName } from '../helpers/model/targets';

const MODES: readonly Mode[] = ['backup', 'mirror', 'move', 'two-way'];
const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    mode: { type: 'string', default: 'all' },
    seed: { type: 'string' },
    steps: { type: 'string', default: '120' },
    runs: { type: 'string' },
    minutes: { type: 'string', default: '10' },
    log: { type: 'boolean', default: false },
  },
});

function choose<T extends string>(value: string, all: readonly T[], what: string): readonly T[] {
  if (value === 'all') return all;
  if (!(all as readonly string[]).includes(value)) {
    console.error(`soak: unknown ${what} "${value}"; one of ${all.join(', ')} or all`);
    process.exit(2);
  }
  return [value as T];
}

const targets = choose(values.target, TARGET_NAMES, 'target');
const modes = choose(values.mode, MODES, 'mode');
const steps = Number(values.steps);
const firstSeed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
const runs = values.runs !== undefined ? Number(values.runs) : values.seed !== undefined ? 1 : Infinity;
const until = Date.now() + Number(values.minutes) * 60_000;

async function main(): Promise<void> {
  const started = new Map<TargetName, Target>();
  let failures = 0;
  let done = 0;
  for (let i = 0; i < runs && Date.now() < until; i++) {
    const seed = firstSeed + i;
    const name = targets[i % targets.length] as TargetName;
    const mode = modes[Math.floor(i / targets.length) % modes.length] as Mode;
    let target = started.get(name);
    if (target === undefined) started.set(name, (target = await startTarget(name)));
    const spec = { seed, mode, target, steps };
    const t0 = Date.now();
    const result = await runScenario(spec);
    done++;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (result.violations.length === 0) {
      console.log(
        `ok    ${name} ${mode} seed ${seed}: ${result.syncs} syncs, ${result.kills} killed, ${result.clashes} file/folder clashes, ${secs} s`,
      );
      if (values.log) console.log(result.log.map((l) => `    ${l}`).join('\n'));
    } else {
      failures++;
      console.log(`FAIL  ${name} ${mode} seed ${seed} (${secs} s)\n  replay: ${replayHint(spec)}`);
      for (const v of result.violations) console.log(`  ${v}`);
      console.log(result.log.map((l) => `    ${l}`).join('\n'));
    }
  }
  for (const t of started.values()) await t.stop();
  console.log(`soak: ${done - failures} passed, ${failures} failed`);
  process.exit(failures > 0 ? 1 : 0);
}

void main();
