import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/shared/models';
import { Store } from '../../src/main/engine/store/store';
import { CLI, runFerry, syncJson } from '../helpers/cli';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

const HOUR = 3_600_000;

/** Two older entries written to a workspace's store (a failure, a skip), then two files shipped for real. */
async function withHistory(): Promise<Workspace> {
  const w = workspace();
  writeFileSync(join(w.src, 'report, final.txt'), 'quarterly');
  writeFileSync(join(w.src, 'notes.md'), 'notes');
  // Recorded first, as older entries are: the list is in the order transfers ended.
  const store = Store.open(w.state);
  try {
    const old = Date.now() - 48 * HOUR;
    store.history.add({
      at: old,
      kind: 'upload',
      rule: 'rule 0',
      destination: 'gone-nas',
      folder: 'work',
      path: 'photos/big.raw',
      remotePath: 'photos/big.raw',
      bytes: 0,
      durationMs: 12,
      outcome: 'failed',
      error: { kind: 'quota', code: 'no-space', message: 'the destination is full', context: {}, hint: 'free space' },
      tags: [],
    });
    store.history.add({
      at: old + 1,
      kind: 'upload',
      rule: 'rule 0',
      destination: 'nas',
      folder: 'work',
      path: 'skipped.bin',
      remotePath: 'skipped.bin',
      bytes: 10,
      durationMs: 1,
      outcome: 'skipped',
      error: null,
      tags: [],
    });
  } finally {
    store.close();
  }
  const r = await syncJson(w.config, w.state);
  expect(r.code, r.stderr).toBe(0);
  return w;
}

function history(w: Workspace, ...args: string[]) {
  return runFerry(['history', '--config', w.config, '--state-dir', w.state, ...args]);
}

describe('ferry history: the transfers the window lists, from the same query', () => {
  it('lists every ended transfer newest first, failures with their reason', async () => {
    ws = await withHistory();
    const r = await history(ws);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^WHEN\s+OUTCOME\s+KIND\s+SIZE\s+DESTINATION\s+FILE$/);
    const order = ['report, final.txt', 'notes.md', 'skipped.bin', 'photos/big.raw'];
    const at = order.map((p) => lines.findIndex((l) => l.includes(p)));
    expect(at.every((i) => i > 0)).toBe(true);
    // The two synced files come first in either order (same pass); the older entries follow.
    expect(Math.max(at[0] ?? 0, at[1] ?? 0)).toBeLessThan(at[2] ?? 0);
    expect(at[2]).toBeLessThan(at[3] ?? 0);
    expect(lines[(at[3] ?? 0) + 1]).toContain('the destination is full — free space');
    expect(lines.at(-1)).toBe('4 transfers');
  });

  it('filters by outcome, destination (one no longer in the config too), time and text, as JSON', async () => {
    ws = await withHistory();
    const json = async (...args: string[]) => {
      const r = await history(ws as Workspace, '--json', ...args);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as HistoryEntry[]).map((e) => e.path);
    };
    expect(await json('--outcome', 'failed')).toEqual(['photos/big.raw']);
    expect(await json('--destination', 'gone-nas')).toEqual(['photos/big.raw']);
    expect((await json('--destination', 'nas')).sort()).toEqual(['notes.md', 'report, final.txt', 'skipped.bin']);
    expect((await json('--since', '24h')).sort()).toEqual(['notes.md', 'report, final.txt']);
    expect(await json('--since', new Date(Date.now() - 49 * HOUR).toISOString())).toHaveLength(4);
    expect(await json('--search', 'final')).toEqual(['report, final.txt']);
    expect(await json('--search', 'final', '--outcome', 'failed')).toEqual([]);
  });

  it("writes the window's CSV export", async () => {
    ws = await withHistory();
    const r = await history(ws, '--csv', '--outcome', 'done', '--search', 'report');
    expect(r.code, r.stderr).toBe(0);
    const [header, row, end] = r.stdout.split('\r\n');
    expect(header).toBe('time,outcome,kind,rule,destination,folder,path,remote_path,bytes,duration_ms,tags,error');
    expect(row).toMatch(
      /^\d{4}-\d\d-\d\dT[^,]+Z,done,upload,rule 0,nas,work,"report, final.txt","report, final.txt",9,\d+,,$/,
    );
    expect(end).toBe('');
  });

  it('reads beside a running Ferry that holds the state directory', async () => {
    ws = await withHistory();
    // The lock of a live process (this test's own): a sync would be refused, history is read-only.
    writeFileSync(join(ws.state, 'ferry.lock'), String(process.pid));
    const plan = await runFerry(['plan', '--config', ws.config, '--state-dir', ws.state]);
    expect(plan.code).toBe(3);
    const r = await history(ws, '--outcome', 'skipped');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('skipped.bin');
  });

  it('names bad input and exits 2: an unknown outcome, a time it cannot read, a destination nowhere, no config', async () => {
    ws = await withHistory();
    const outcome = await history(ws, '--outcome', 'ok');
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('--outcome "ok" is not an outcome; use one of done, failed, skipped, cancelled');
    for (const since of ['yesterday-ish', '2026-02-30', '2026-12-01 25:00', '3 fortnights']) {
      const r = await history(ws, '--since', since);
      expect(r.code, since).toBe(2);
      expect(r.stderr).toContain(`--since "${since}" is not a time; give a date (2026-12-01)`);
    }
    const dest = await history(ws, '--destination', 'nowhere');
    expect(dest.code).toBe(2);
    expect(dest.stderr).toContain(
      '--destination "nowhere": no such destination in the config or the history (destinations: nas)',
    );
    const missing = join(ws.root, 'missing.yml');
    const noConfig = await runFerry(['history', '--config', missing]);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain(`${missing}: cannot read the config file: it does not exist`);
    const both = await history(ws, '--json', '--csv');
    expect(both.code).toBe(2);
  });

  it('says so when Ferry never ran with the state directory (exit 0, nothing listed)', async () => {
    ws = workspace();
    const r = await runFerry(['history', '--config', ws.config, '--state-dir', join(ws.root, 'fresh'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.stderr).toContain('no history yet: Ferry has not run with the state directory');
  });

  it('pages through $PAGER on a terminal only: not to a pipe, not under CI, not with --no-pager', async () => {
    ws = await withHistory();
    const pager = join(ws.root, 'pager.sh');
    writeFileSync(pager, '#!/bin/sh\necho "PAGED BY $LESS"\ncat\n');
    chmodSync(pager, 0o755);
    const cmd = ['node', CLI, 'history', '--config', ws.config, '--state-dir', ws.state];
    // `script` gives the command a pseudo-terminal, as a person's shell does.
    const onTerminal = (extra: string[], env: NodeJS.ProcessEnv) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn('script', ['-qec', [...cmd, ...extra].map((a) => `'${a}'`).join(' '), '/dev/null'], {
          env: { ...env, PAGER: pager },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(out));
      });
    const { CI: _ci, ...noCi } = process.env;
    const paged = await onTerminal([], noCi);
    expect(paged).toContain('PAGED BY FRX');
    expect(paged).toContain('report, final.txt');
    expect(await onTerminal(['--no-pager'], noCi)).not.toContain('PAGED');
    const ci = await onTerminal([], { ...noCi, CI: 'true' });
    expect(ci).not.toContain('PAGED');
    expect(ci).toContain('report, final.txt');
    const piped = await runFerry(['history', '--config', ws.config, '--state-dir', ws.state], {
      env: { ...noCi, PAGER: pager },
    });
    expect(piped.stdout).not.toContain('PAGED');
    expect(piped.stdout).toContain('report, final.txt');
  });
});
