import { afterAll, describe, expect, it } from 'vitest';
import type { Mode } from './ops';
import { replayHint, runScenario } from './scenario';
import { startTarget, type Target, type TargetName } from './targets';

/** `clashes`: the seed is there to draw names that are a file on one side and a folder on the other. */
export type ModelCase = { target: TargetName; mode: Mode; seed: number; clashes?: boolean };

/** Steps per CI case: about 6 syncs, 6 killed syncs and 18 changes, then convergence. */
const STEPS = 30;

/**
 * Declares the model-based random runs for `cases` (CI's fixed seed budget), each server started
 * once for the file and stopped after it.
 */
export function modelCases(cases: readonly ModelCase[]): void {
  const started = new Map<TargetName, Promise<Target>>();
  const target = (name: TargetName): Promise<Target> => {
    let t = started.get(name);
    if (t === undefined) started.set(name, (t = startTarget(name)));
    return t;
  };
  afterAll(async () => {
    for (const t of started.values()) await (await t).stop();
  });

  describe('model-based random runs: changes, syncs and kills drawn from a seed', () => {
    it.each(cases)(
      '$mode to $target (seed $seed) ends as the mode promises: nothing lost, no temporary file, a last pass that does nothing',
      async ({ target: name, mode, seed, clashes }) => {
        const spec = { seed, mode, target: await target(name), steps: STEPS };
        const result = await runScenario(spec);
        expect(result.violations, `replay: ${replayHint(spec)}\n${result.log.join('\n')}`).toEqual([]);
        expect(result.syncs).toBeGreaterThan(2);
        // A generator change must not quietly stop drawing what this seed is kept for.
        if (clashes) expect(result.clashes, 'file/folder clashes drawn').toBeGreaterThan(0);
      },
      300_000,
    );
  });
}
