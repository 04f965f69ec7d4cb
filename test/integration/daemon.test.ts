import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry } from '../helpers/cli';
import { snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
let daemon: ChildProcess | undefined;

afterEach(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon?.once('close', r));
  }
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

function startDaemon(w: Workspace): ChildProcess {
  const child = spawnFerry([
    'daemon',
    '--config',
    w.config,
    '--state-dir',
    w.state,
    '--pidfile',
    join(w.root, 'ferry.pid'),
    '--log-file',
    join(w.root, 'ferry.log'),
  ]);
  child.stderr?.on('data', () => undefined);
  return child;
}

/** Waits until the destination holds exactly the source (the daemon gets there by itself). */
async function converge(w: Workspace, what: string, limitMs = 90_000): Promise<void> {
  const until = Date.now() + limitMs;
  let src = snapshot(w.src);
  let dest = snapshot(w.dest);
  while (Date.now() < until) {
    src = snapshot(w.src);
    dest = snapshot(w.dest);
    if (src.size === dest.size && [...src].every(([p, h]) => dest.get(p) === h)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(dest, `the destination never matched the source: ${what}`).toEqual(src);
}

function logLines(w: Workspace): { message: string; [k: string]: unknown }[] {
  return readFileSync(join(w.root, 'ferry.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { message: string });
}

async function stop(w: Workspace): Promise<void> {
  const r = await runFerry(['stop', '--pidfile', join(w.root, 'ferry.pid')]);
  expect(r.code, r.stderr).toBe(0);
}

describe('the daemon syncs live', () => {
  it('ships files created, edited, renamed and deleted, with no manual step', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    writeFileSync(join(w.src, 'first.txt'), 'present at start');
    daemon = startDaemon(w);
    await converge(w, 'initial sync');

    mkdirSync(join(w.src, 'notes'));
    writeFileSync(join(w.src, 'notes/new.md'), '# new');
    writeFileSync(join(w.src, 'big.bin'), Buffer.alloc(3_000_000, 9));
    await converge(w, 'created files');
    const before = statSync(join(w.dest, 'big.bin')).ino;

    writeFileSync(join(w.src, 'notes/new.md'), '# new, edited');
    renameSync(join(w.src, 'big.bin'), join(w.src, 'notes/renamed.bin'));
    unlinkSync(join(w.src, 'first.txt'));
    await converge(w, 'edit, rename and delete');
    // The rename was a move at the destination: the same file, not a second upload.
    expect(statSync(join(w.dest, 'notes/renamed.bin')).ino).toBe(before);

    await stop(w);
    expect(logLines(w).some((l) => l.message === 'daemon stopped')).toBe(true);
  });

  it('absorbs a burst of 5,000 new files: each arrives exactly once, without a rescan storm', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }] }));
    daemon = startDaemon(w);
    await converge(w, 'empty start');
    for (let d = 0; d < 50; d++) {
      mkdirSync(join(w.src, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(w.src, `d${d}`, `f${f}.txt`), `${d}-${f}`);
    }
    await converge(w, 'the burst');
    await stop(w);

    const db = new Database(join(w.state, 'state.db'), { readonly: true });
    const rows = db
      .prepare(`SELECT path, COUNT(*) AS n FROM history WHERE kind = 'upload' AND outcome = 'done' GROUP BY path`)
      .all() as { path: string; n: number }[];
    db.close();
    expect(rows).toHaveLength(5000);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    const scans = logLines(w).filter((l) => l.message === 'scan done').length;
    expect(scans).toBeLessThan(40);
  });

  it('converges after a SIGKILL in the middle of a burst, with nothing lost', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    daemon = startDaemon(w);
    await converge(w, 'empty start');
    for (let d = 0; d < 20; d++) {
      mkdirSync(join(w.src, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(w.src, `d${d}`, `f${f}.bin`), Buffer.alloc(2000 + f, d));
      if (d === 10) {
        daemon.kill('SIGKILL');
        await new Promise((r) => daemon?.once('close', r));
      }
    }
    daemon = startDaemon(w);
    await converge(w, 'after the restart');
    expect([...snapshot(w.dest).keys()].some((p) => p.includes('.ferrytmp-'))).toBe(false);
    await stop(w);
  });

  it('`ferry stop` names a pidfile that does not exist', async () => {
    const w = (ws = workspace());
    const r = await runFerry(['stop', '--pidfile', join(w.root, 'none.pid')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('none.pid does not exist');
  });
});

describe('the daemon and a destination that comes later', () => {
  it('connects a destination that was missing at start once it appears, and ships what waited', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }] }));
    rmSync(w.dest, { recursive: true });
    writeFileSync(join(w.src, 'waiting.txt'), 'shipped once the drive is there');
    daemon = startDaemon(w);
    // The drive comes once the daemon has found it missing (however long its start takes).
    const until = Date.now() + 60_000;
    const saidOffline = () =>
      existsSync(join(w.root, 'ferry.log')) && logLines(w).some((l) => l.message === 'destination unavailable');
    while (!saidOffline() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    mkdirSync(w.dest);
    // Any change makes the daemon look again (a timer does too, every 30 s).
    writeFileSync(join(w.src, 'nudge.txt'), 'x');
    await converge(w, 'the destination appeared');
    await stop(w);
    expect(logLines(w).some((l) => l.message === 'destination unavailable')).toBe(true);
  });
});
