import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { StatusResult } from '../../src/shared/contract';
import { FerryError } from '../../src/shared/errors';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { loadConfig } from '../../src/main/engine/config/loadConfig';
import { trayDestinations } from '../../src/main/desktop/traySnapshot';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

/**
 * A destination whose folder goes away (a USB disk unplugged, a NAS share unmounted) is offline: Ferry
 * never makes the folder again on the system disk to ship into it, says so, and goes on by itself once
 * the folder is back.
 */
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
    '--port',
    '0',
    '--no-webapp',
  ]);
  child.stderr?.on('data', () => undefined);
  child.stdout?.on('data', () => undefined);
  return child;
}

async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 90_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const inSync = (w: Workspace) => () => {
  const src = snapshot(w.src);
  const dest = existsSync(w.dest) ? snapshot(w.dest) : new Map<string, string>();
  return src.size === dest.size && [...src].every(([p, h]) => dest.get(p) === h);
};

async function status(w: Workspace): Promise<StatusResult | undefined> {
  const r = await runFerry(['status', '--json', '--state-dir', w.state]);
  return r.code === 0 ? (JSON.parse(r.stdout) as StatusResult) : undefined;
}

describe('a destination whose folder disappears', () => {
  it('the daemon: offline on every pass, never made again, in the status and the tray; back by itself', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    writeFileSync(join(w.src, 'a.txt'), 'before the disk went away');
    daemon = startDaemon(w);
    await until('the first sync', inSync(w));

    // Unplugged while nothing changes: the daemon notices by itself (it looks every 30 s).
    rmSync(w.dest, { recursive: true });
    await until('the destination to show offline', async () => {
      const st = await status(w);
      return st?.destinations.some((d) => d.id === 'nas' && !d.ok) === true;
    });
    // Changes, passes: still offline, nothing made.
    writeFileSync(join(w.src, 'b.txt'), 'written while the disk is away');
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(join(w.src, 'c.txt'), 'and another');
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(w.dest)).toBe(false);
    const st = (await status(w)) as StatusResult;
    const nas = st.destinations.find((d) => d.id === 'nas');
    expect(nas?.ok).toBe(false);
    expect(nas?.error).toContain('does not exist');
    expect(st.summary).not.toMatch(/safe/i);
    const tray = trayDestinations(loadConfig(w.config), st);
    expect(tray.find((d) => d.id === 'nas')).toMatchObject({ ok: false });

    // The disk is back: no nudge, the daemon finds it by itself and ships what waited.
    mkdirSync(w.dest);
    await until('the destination to be back and in sync', inSync(w));
    expect((await status(w))?.destinations.find((d) => d.id === 'nas')?.ok).toBe(true);
  });

  it('`ferry sync --once`: the destination is reported missing, exit 1, and its folder is not made', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    writeFileSync(join(w.src, 'a.txt'), 'a');
    expect((await syncJson(w.config, w.state)).code).toBe(0);
    rmSync(w.dest, { recursive: true });
    writeFileSync(join(w.src, 'b.txt'), 'b');
    const r = await syncJson(w.config, w.state);
    expect(r.code).toBe(1);
    expect(r.summary?.destinationErrors[0]?.error.message).toContain('does not exist');
    expect(existsSync(w.dest)).toBe(false);
  });

  it('a local destination never makes its folder again: uploads, moves and copies fail, listing is not "empty"', async () => {
    const w = (ws = workspace());
    const workers = new FileWorkers(1);
    try {
      const dest = new LocalDestination({ id: 'nas', path: w.dest }, workers);
      const file = join(w.src, 'f.txt');
      writeFileSync(file, 'bytes');
      const source = {
        absPath: file,
        size: 5,
        mtimeMs: Date.now(),
        hashes: { sha256: createHash('sha256').update('bytes').digest('hex') },
      };
      await dest.upload('deep/f.txt', source, { signal: new AbortController().signal });
      // The folder goes away between the pass's look at it and the next writes.
      rmSync(w.dest, { recursive: true });
      await expect(dest.upload('deep/g.txt', source, { signal: new AbortController().signal })).rejects.toThrow(
        /is missing/,
      );
      await expect(dest.upload('h.txt', source, { signal: new AbortController().signal })).rejects.toThrow();
      await expect(dest.move('deep/f.txt', 'other/f.txt')).rejects.toThrow();
      const listed = (async () => {
        for await (const e of dest.list('')) void e;
      })();
      await expect(listed).rejects.toSatisfy((e) => e instanceof FerryError && e.code === 'destination-missing');
      expect(existsSync(w.dest)).toBe(false);
    } finally {
      await workers.close();
    }
  });
});
