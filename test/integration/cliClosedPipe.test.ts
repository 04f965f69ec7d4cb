import { afterEach, expect, it } from 'vitest';
import { spawnFerry } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

/** Runs ferry with its output read up to the first bytes and then closed, as `ferry … | head -c 1` does. */
function closedEarly(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawnFerry(args);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.once('data', () => child.stdout?.destroy());
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

it('a reader that goes away (ferry plan | head) ends no command: plan exits 0, a sync still ships everything', async () => {
  ws = workspace();
  makeTree(ws.src, { files: 3000, seed: 7 });
  const plan = await closedEarly(['plan', '--config', ws.config, '--state-dir', ws.state]);
  expect(plan.stderr).not.toMatch(/EPIPE|Unhandled/);
  expect(plan.code).toBe(0);
  const sync = await closedEarly(['sync', '--once', '--json', '--config', ws.config, '--state-dir', ws.state]);
  expect(sync.stderr).not.toMatch(/EPIPE|Unhandled/);
  expect(sync.code).toBe(0);
  expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
}, 120_000);
