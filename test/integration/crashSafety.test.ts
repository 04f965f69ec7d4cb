import { lstatSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

/** Counts files under their final names, and Ferry temporaries, in the destination. */
function census(root: string): { files: number; temps: number; bigTempBytes: number } {
  let files = 0;
  let temps = 0;
  let bigTempBytes = 0;
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const abs = join(dir, n);
      let st;
      try {
        st = lstatSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(abs);
      else if (n.startsWith('.ferrytmp-')) {
        temps++;
        bigTempBytes = Math.max(bigTempBytes, st.size);
      } else files++;
    }
  };
  walk(root);
  return { files, temps, bigTempBytes };
}

/** Every file under its final name at the destination is byte-identical to its source. */
function expectNoPartialFile(ws: Workspace): void {
  const src = snapshot(ws.src);
  for (const [path, hash] of snapshot(ws.dest)) {
    if (path.split('/').pop()?.startsWith('.ferrytmp-')) continue;
    expect(hash, `${path} at the destination differs from its source`).toBe(src.get(path));
  }
}

async function killWhen(ws: Workspace, when: () => boolean): Promise<{ killedWhileRunning: boolean }> {
  const child = spawnFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state]);
  let exited = false;
  const done = new Promise<void>((resolve) =>
    child.on('close', () => {
      exited = true;
      resolve();
    }),
  );
  while (!exited && !when()) await new Promise((r) => setTimeout(r, 5));
  const killedWhileRunning = !exited;
  child.kill('SIGKILL');
  await done;
  return { killedWhileRunning };
}

describe('crash safety: SIGKILL at several points, then a re-run', () => {
  let ws: Workspace;
  let total: number;
  beforeAll(() => {
    // A bandwidth cap stretches the run so that each kill point is reached while the work is under way.
    ws = workspace({ rules: [{ mode: 'mirror' }], settings: '  transfers: 4\n  bandwidth: 40000000' });
    total = makeTree(ws.src, { files: 2000, bigFileBytes: 50 * 1024 * 1024, seed: 5 }).length;
  });
  afterAll(() => ws.cleanup());

  it('is killed during start-up and scanning', async () => {
    const started = Date.now();
    const r = await killWhen(ws, () => Date.now() - started > 150);
    expect(r.killedWhileRunning).toBe(true);
    expectNoPartialFile(ws);
  });

  it('is killed with a few hundred small files shipped', async () => {
    const r = await killWhen(ws, () => census(ws.dest).files >= 300);
    expect(r.killedWhileRunning).toBe(true);
    expect(census(ws.dest).files).toBeLessThan(total);
    expectNoPartialFile(ws);
  });

  it('is killed in the middle of the 50 MB upload', async () => {
    const r = await killWhen(ws, () => census(ws.dest).bigTempBytes > 5 * 1024 * 1024);
    expect(r.killedWhileRunning).toBe(true);
    expect(census(ws.dest).temps).toBeGreaterThan(0);
    expectNoPartialFile(ws);
  });

  it('completes on the next run: the destination is exact and no temporary file is left', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.cleanedPartials).toBeGreaterThan(0);
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
    expect(census(ws.dest).temps).toBe(0);
    const again = await syncJson(ws.config, ws.state);
    expect(again.summary?.stats.done).toBe(0);
  });
});

describe('crash safety: SIGKILL at a named point (FERRY_KILL_POINT)', () => {
  // Published at the destination, killed before the record was written: the next listing must know it.
  it.each([
    ['renamed', (src: string) => renameSync(join(src, 'report.pdf'), join(src, 'final.pdf'))],
    ['deleted', (src: string) => unlinkSync(join(src, 'report.pdf'))],
  ] as const)(
    'mirror: a file published but not recorded when killed is adopted, so its source %s afterwards leaves no stray copy',
    async (_what, change) => {
      const ws = workspace({ rules: [{ mode: 'mirror' }] });
      try {
        writeFileSync(join(ws.src, 'report.pdf'), 'the report, v1');
        writeFileSync(join(ws.src, 'other.txt'), 'other');
        const killed = await runFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], {
          env: { FERRY_KILL_POINT: 'published:report.pdf' },
        });
        expect(killed.signal).toBe('SIGKILL');
        expect(readFileSync(join(ws.dest, 'report.pdf'), 'utf8')).toBe('the report, v1');
        change(ws.src);
        for (let i = 0; i < 2; i++) {
          const r = await syncJson(ws.config, ws.state);
          expect(r.code, r.stdout + r.stderr).toBe(0);
        }
        expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
        const again = await syncJson(ws.config, ws.state);
        expect(again.summary?.stats.done).toBe(0);
      } finally {
        ws.cleanup();
      }
    },
  );
});
