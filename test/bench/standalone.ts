import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './versusRclone';

/** Runs a destination bench on its own when its file is the script node was started with. */
export function runStandalone(name: string, bench: (o: BenchOptions) => Promise<unknown>): void {
  if (!process.argv[1] || !new RegExp(`${name}\\.[cm]?[jt]s$`).test(process.argv[1])) return;
  const given = process.env.BENCH_DIR;
  const dir = given ?? mkdtempSync(join(tmpdir(), `ferry-${name}-`));
  const done = () => {
    if (!given) rmSync(dir, { recursive: true, force: true });
  };
  bench({
    dir,
    runs: Number(process.env.BENCH_RUNS ?? 3),
    scale: Number(process.env.BENCH_SCALE ?? 1),
    cli: join(__dirname, '..', '..', 'out', 'node', 'cli.js'),
    log: (s) => console.log(s),
  }).then(
    (f) => {
      console.log(JSON.stringify(f, null, 2));
      done();
    },
    (err: unknown) => {
      console.error(err);
      done();
      process.exitCode = 1;
    },
  );
}
