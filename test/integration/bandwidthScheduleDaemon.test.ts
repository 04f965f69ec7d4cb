import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runFerry } from '../helpers/cli';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/daemon';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await stopDaemon(daemon);
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

type Status = {
  queue: { active: number };
  bandwidth: { up: number; down: number; until: number | null; scheduled: boolean };
};

async function api<T>(d: Daemon, name: string, body: unknown = {}): Promise<T> {
  const res = await fetch(`${d.url}/api/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, name).toBe(200);
  return (await res.json()) as T;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the daemon follows settings.bandwidth_schedule and takes a new one without a restart', () => {
  it('a schedule saved while a capped transfer runs is in force at once, and the transfer goes on', async () => {
    ws = workspace({ settings: '  bandwidth_schedule: "64k:32k"\n' });
    const w = ws;
    const big = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(w.src, 'big.bin'), big);
    daemon = await startDaemon(w);
    const d = daemon;
    await until('the capped copy to start', async () => (await api<Status>(d, 'status:get')).queue.active > 0);
    expect((await api<Status>(d, 'status:get')).bandwidth).toEqual({
      up: 64 * 1024,
      down: 32 * 1024,
      until: null,
      scheduled: true,
    });

    const cli = await runFerry(['status', '--state-dir', w.state]);
    expect(cli.stdout).toContain('  bandwidth: up 64k/s, down 32k/s (schedule)');

    const cfg = await api<{ settings: Record<string, unknown> }>(d, 'config:get');
    const saved = await api<{ ok: boolean }>(d, 'config:update', {
      config: { ...cfg, settings: { ...cfg.settings, bandwidth_schedule: '00:00,off 23:59,8M' } },
    });
    expect(saved).toEqual({ ok: true });
    expect(readFileSync(w.config, 'utf8')).toMatch(/bandwidth_schedule: ["']?00:00,off 23:59,8M/);
    const now = (await api<Status>(d, 'status:get')).bandwidth;
    expect(now.scheduled).toBe(true);
    expect(now.until).not.toBeNull();
    if (new Date().getHours() !== 23 || new Date().getMinutes() !== 59) expect([now.up, now.down]).toEqual([0, 0]);

    await until('the copy to finish under the new schedule', () => existsSync(join(w.dest, 'big.bin')));
    expect(readFileSync(join(w.dest, 'big.bin')).equals(big)).toBe(true);
    const log = readFileSync(join(w.root, 'ferry.log'), 'utf8');
    expect(log).toContain('bandwidth settings changed: in force now');
    // Not stopped and started again: the service (and the copy it runs) went on.
    expect(log).not.toContain('configuration changed: re-applying');
    expect(log).not.toMatch(/"transfer:stopped"|was paused|interrupted/);
  });

  it('a schedule it cannot read is refused by field, and the one in force stays', async () => {
    ws = workspace({ settings: '  bandwidth_schedule: "1M"\n' });
    daemon = await startDaemon(ws);
    const cfg = await api<{ settings: Record<string, unknown> }>(daemon, 'config:get');
    const bad = await api<{ ok: boolean; problems: { path: string; message: string }[] }>(daemon, 'config:update', {
      config: { ...cfg, settings: { ...cfg.settings, bandwidth_schedule: 'Mon-08:00,2M Fry-18:00,off' } },
    });
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual([
      {
        path: 'settings.bandwidth_schedule',
        message: '"Fry-18:00,off": "Fry" is not a day; write Mon, Tue, Wed, Thu, Fri, Sat or Sun',
      },
    ]);
    expect((await api<Status>(daemon, 'status:get')).bandwidth).toMatchObject({ up: 1024 * 1024, down: 1024 * 1024 });
  });
});
