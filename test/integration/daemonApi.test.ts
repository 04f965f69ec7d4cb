import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runFerry, spawnFerry } from '../helpers/cli';
import { ArrivalMeter } from '../helpers/capMeter';
import { snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

type Daemon = { child: ChildProcess; url: string; token: string };

let ws: Workspace | undefined;
let daemon: Daemon | undefined;

afterEach(async () => {
  if (daemon && daemon.child.exitCode === null) {
    daemon.child.kill('SIGKILL');
    await new Promise((r) => daemon?.child.once('close', r));
  }
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

async function startDaemon(w: Workspace): Promise<Daemon> {
  const child = spawnFerry([
    'daemon',
    '--config',
    w.config,
    '--state-dir',
    w.state,
    '--port',
    '0',
    '--no-webapp',
    '--log-file',
    join(w.root, 'ferry.log'),
  ]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 30_000;
  while (!/token: (\S+)/.test(out)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`the daemon did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: /on (http:\/\/\S+)/.exec(out)?.[1] as string, token: /token: (\S+)/.exec(out)?.[1] as string };
}

async function api<T>(
  d: Daemon,
  name: string,
  body: unknown = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${d.url}/api/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the daemon API', () => {
  it('refuses a request without the token (401) and a request from another origin (403), on HTTP and WebSocket', async () => {
    const w = (ws = workspace());
    daemon = await startDaemon(w);
    const noToken = await fetch(`${daemon.url}/api/status:get`, { method: 'POST', body: '{}' });
    expect(noToken.status).toBe(401);
    const wrongToken = await api(daemon, 'status:get', {}, { authorization: 'Bearer nope' });
    expect(wrongToken.status).toBe(401);
    const otherOrigin = await api(daemon, 'status:get', {}, { origin: 'http://evil.example' });
    expect(otherOrigin.status).toBe(403);
    const sameOrigin = await api<{ summary: string }>(daemon, 'status:get', {}, { origin: daemon.url });
    expect(sameOrigin.status).toBe(200);
    expect(sameOrigin.body.summary).toMatch(/Everything is safe|Syncing|Looking for changes/);

    const wsStatus = (url: string, origin?: string) =>
      new Promise<number>((resolve) => {
        const sock = new WebSocket(url, origin ? { origin } : {});
        sock.on('open', () => {
          sock.close();
          resolve(101);
        });
        sock.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        sock.on('error', () => undefined);
      });
    const wsUrl = daemon.url.replace('http', 'ws');
    expect(await wsStatus(`${wsUrl}/api/events`)).toBe(401);
    expect(await wsStatus(`${wsUrl}/api/events?token=${daemon.token}`, 'http://evil.example')).toBe(403);
    expect(await wsStatus(`${wsUrl}/api/events?token=${daemon.token}`)).toBe(101);
  });

  it('rejects invalid input with the field at fault', async () => {
    const w = (ws = workspace());
    daemon = await startDaemon(w);
    const r = await api<{ error: { code: string; issues: { path: string }[] } }>(daemon, 'queue:list', {
      limit: 'lots',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0]?.path).toBe('limit');
    expect((await api(daemon, 'no:such', {})).status).toBe(404);
  });

  it('streams progress for a 200 MB transfer and its completion over the WebSocket', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }], settings: '  bandwidth: 100000000' }));
    daemon = await startDaemon(w);
    const events: { event: string; payload: { path?: string; bytes?: number; total?: number } }[] = [];
    const sock = new WebSocket(`${daemon.url.replace('http', 'ws')}/api/events?token=${daemon.token}`);
    await new Promise((r) => sock.once('open', r));
    sock.on('message', (m: Buffer) => events.push(JSON.parse(m.toString()) as (typeof events)[number]));
    writeFileSync(join(w.src, 'video.bin'), randomBytes(200 * 1024 * 1024));
    await until('the transfer to complete', () =>
      events.some((e) => e.event === 'transfer:done' && e.payload.path === 'video.bin'),
    );
    sock.close();
    const progress = events.filter((e) => e.event === 'transfer:progress' && e.payload.path === 'video.bin');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.some((p) => (p.payload.bytes ?? 0) < 200 * 1024 * 1024)).toBe(true);
    expect(progress.at(-1)?.payload.bytes).toBe(200 * 1024 * 1024);
    const bytes = progress.map((p) => p.payload.bytes ?? 0);
    expect([...bytes].sort((a, b) => a - b)).toEqual(bytes);
  });

  it('pausing stops the running transfers at once, they stay queued; resuming shows at once and finishes them', async () => {
    // 4 MB/s: two 40 MB files take some twenty seconds, so the pause lands mid-way.
    const cap = 4_000_000;
    const w = (ws = workspace({ rules: [{ mode: 'backup' }], settings: `  bandwidth: ${cap}\n  transfers: 2` }));
    for (let i = 0; i < 2; i++) writeFileSync(join(w.src, `big${i}.bin`), randomBytes(40 * 1024 * 1024));
    const meter = new ArrivalMeter(w.dest, 50);
    meter.start();
    try {
      daemon = await startDaemon(w);
      await until('the copies to be under way', () => meter.bytes >= cap);
      const paused = await api<{ state: string; queue: { pending: number; failed: number } }>(daemon, 'sync:pause');
      expect(paused.body.state).toBe('paused');
      // The copies were stopped before the answer: what arrives after it is at most what was in flight,
      // a slice of the cap (a twentieth of a second's worth) per copy, not seconds of it.
      await new Promise((r) => setTimeout(r, 200));
      const atPause = meter.bytes;
      await new Promise((r) => setTimeout(r, 3000));
      expect(meter.bytes - atPause).toBeLessThanOrEqual(2 * (cap / 20));
      const status = await api<{ queue: { pending: number; active: number; failed: number } }>(daemon, 'status:get');
      expect(status.body.queue).toMatchObject({ active: 0, failed: 0, pending: 2 });
      expect(readdirSync(w.dest).filter((n) => n.startsWith('big'))).toEqual([]);

      const resumed = await api<{ state: string }>(daemon, 'sync:resume');
      expect(resumed.body.state).not.toBe('paused');
      await until(
        'both files to arrive',
        () => readdirSync(w.dest).filter((n) => n.startsWith('big')).length === 2,
        120_000,
      );
      expect(snapshot(w.dest)).toEqual(snapshot(w.src));
    } finally {
      meter.stop();
    }
  });

  it('a cancelled transfer is no failure: it leaves the queue, nothing failed, history says cancelled', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }], settings: '  bandwidth: 4000000' }));
    writeFileSync(join(w.src, 'big.bin'), randomBytes(40 * 1024 * 1024));
    daemon = await startDaemon(w);
    type Items = { total: number; items: { id: number; path: string }[] };
    let active: Items = { total: 0, items: [] };
    await until('the transfer to run', async () => {
      active = (await api<Items>(daemon as Daemon, 'queue:list', { state: 'active' })).body;
      return active.total === 1;
    });
    const id = active.items[0]?.id as number;
    expect((await api<{ ok: boolean }>(daemon, 'transfer:cancel', { id })).body.ok).toBe(true);
    await until('the transfer to stop', async () => {
      const s = await api<{ queue: { active: number } }>(daemon as Daemon, 'status:get');
      return s.body.queue.active === 0;
    });
    const status = await api<{ summary: string; queue: { failed: number; pending: number } }>(daemon, 'status:get');
    expect(status.body.queue).toMatchObject({ failed: 0, pending: 0 });
    expect(status.body.summary).not.toMatch(/fail/i);
    expect((await api<Items>(daemon, 'queue:list', { state: 'failed' })).body.total).toBe(0);
    const history = await api<{ items: { path: string; outcome: string; error: unknown }[] }>(
      daemon,
      'history:query',
      {},
    );
    expect(history.body.items).toEqual([
      expect.objectContaining({ path: 'big.bin', outcome: 'cancelled', error: null }),
    ]);
    expect(readdirSync(w.dest)).toEqual([]);
  });

  it('answers status, queue, history, activity and rule preview; applies a new config without a restart', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }] }));
    writeFileSync(join(w.src, 'a.jpg'), 'jpeg');
    writeFileSync(join(w.src, 'b.txt'), 'text');
    daemon = await startDaemon(w);
    await until('the first sync', () => snapshot(w.dest).size === 2);

    // The files show at the destination a moment before their history rows are written.
    for (let i = 0; i < 50; i++) {
      const all = await api<{ total: number }>(daemon, 'history:query', {});
      if (all.body.total >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const history = await api<{ total: number; items: { path: string; outcome: string }[] }>(daemon, 'history:query', {
      search: 'a.j',
    });
    expect(history.body.items.map((h) => h.path)).toEqual(['a.jpg']);
    const activity = await api<{ bucket: string; destination: string; files: number }[]>(daemon, 'activity:aggregate', {
      bucket: 'day',
    });
    expect(activity.body.reduce((n, r) => n + r.files, 0)).toBe(2);
    const queue = await api<{ total: number }>(daemon, 'queue:list', { state: 'failed' });
    expect(queue.body.total).toBe(0);
    const preview = await api<{ matches: { path: string; remotePath: string }[]; unmatched: number }>(
      daemon,
      'rules:preview',
      {
        rule: { name: 'photos', from: ['work'], to: ['nas'], match: ['**/*.jpg'], path: 'pics/{name}' },
      },
    );
    expect(preview.body.matches).toEqual([expect.objectContaining({ path: 'a.jpg', remotePath: 'pics/a.jpg' })]);
    expect(preview.body.unmatched).toBe(1);
    // A draft is checked like the config: a regex that could only run by backtracking is refused, by field.
    const refused = await api<{ error: { issues: { path: string; message: string }[] } }>(daemon, 'rules:preview', {
      rule: { name: 'bad', from: ['work'], to: ['nas'], when: { any: [{ regex: '(a)\\1' }] } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues[0]).toMatchObject({ path: 'rule.when.any[0].regex' });

    // A comment the person wrote in the file must survive an edit made through the API.
    writeFileSync(w.config, `# written by hand\n${readFileSync(w.config, 'utf8')}`);
    const cfg = (await api<Record<string, unknown>>(daemon, 'config:get')).body;
    const bad = await api<{ ok: boolean; problems: { path: string }[] }>(daemon, 'config:update', {
      config: { ...cfg, rules: [{ name: 'x', from: ['nope'], to: ['nas'] }] },
    });
    expect(bad.body.ok).toBe(false);
    expect(bad.body.problems[0]?.path).toBe('rules[0].from[0]');
    // A destination inside the folder it backs up would copy itself into itself: refused by field.
    const inside = await api<{ ok: boolean; problems: { path: string; message: string }[] }>(daemon, 'config:update', {
      config: { ...cfg, destinations: [{ id: 'nas', type: 'local', path: join(w.src, 'backup') }] },
    });
    expect(inside.body.ok).toBe(false);
    expect(inside.body.problems[0]).toMatchObject({ path: 'destinations[0].path' });
    expect(inside.body.problems[0]?.message).toMatch(/is inside folder "work"/);

    const archive = join(w.root, 'archive');
    mkdirSync(archive);
    const next = {
      ...cfg,
      destinations: [...(cfg.destinations as object[]), { id: 'archive', type: 'local', path: archive }],
      rules: [
        ...(cfg.rules as object[]),
        { name: 'texts', from: ['work'], to: ['archive'], match: ['**/*.txt'], mode: 'backup' },
      ],
    };
    const good = await api<{ ok: boolean }>(daemon, 'config:update', { config: next });
    expect(good.body).toEqual({ ok: true });
    const written = readFileSync(w.config, 'utf8');
    expect(written.startsWith('# written by hand\n')).toBe(true);
    expect(written).toContain('- id: archive');
    await until('the new rule to ship', () => snapshot(archive).has('b.txt'));
    expect(snapshot(archive).has('a.jpg')).toBe(false);
    const status = await runFerry(['status', '--state-dir', w.state]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('destination archive: ok');
  });

  it('shows in the status the files a move keeps because too few destinations hold verified copies', async () => {
    const w = (ws = workspace({
      rules: [{ mode: 'move', to: ['nas', 'broken'] }],
      extraDestinations: '  - id: broken\n    type: local\n    path: BROKEN',
    }));
    // A destination whose path is a file cannot be connected: only one of the two copies can exist.
    const broken = join(w.root, 'not-a-folder');
    writeFileSync(broken, 'x');
    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('BROKEN', JSON.stringify(broken)));
    writeFileSync(join(w.src, 'a.txt'), 'one');
    writeFileSync(join(w.src, 'b.txt'), 'two');
    daemon = await startDaemon(w);
    type Status = { belowQuorum: { count: number; sample: { path: string; copies: number; needed: number }[] } };
    let status: Status | undefined;
    await until('the status to count them', async () => {
      status = (await api<Status>(daemon as Daemon, 'status:get')).body;
      return status.belowQuorum.count === 2;
    });
    expect(status?.belowQuorum.sample.map((b) => [b.path, b.copies, b.needed]).sort()).toEqual([
      ['a.txt', 1, 2],
      ['b.txt', 1, 2],
    ]);
    // Shipped to the one destination that works, and kept at the source.
    expect([...snapshot(w.dest).keys()].sort()).toEqual(['a.txt', 'b.txt']);
    expect(readdirSync(w.src).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('holds a mass deletion until a person confirms it: status says so with the numbers, ferry confirm-deletes lets it through', async () => {
    const w = (ws = workspace({ rules: [{ name: 'r0', mode: 'mirror' }] }));
    // Eight of them in a folder that then leaves in one rename: the watcher sees the 8 deletions at once.
    mkdirSync(join(w.src, 'old'));
    for (let i = 0; i < 10; i++) writeFileSync(join(w.src, i < 8 ? 'old' : '', `f${i}.txt`), `file ${i}`);
    daemon = await startDaemon(w);
    await until('the first sync', () => snapshot(w.dest).size === 10);
    renameSync(join(w.src, 'old'), join(w.root, 'moved-away'));
    type Status = { summary: string; heldDeletions: { rule: string; where: string; deletes: number; total: number }[] };
    await until(
      'the brake to hold',
      async () => (await api<Status>(daemon as Daemon, 'status:get')).body.heldDeletions.length > 0,
    );
    const held = (await api<Status>(daemon, 'status:get')).body;
    expect(held.heldDeletions).toEqual([{ rule: 'r0', where: 'nas', deletes: 8, total: 10 }]);
    expect(held.summary).toBe(
      'Waiting for you: rule "r0" would delete 8 of 10 files at nas; nothing is deleted until you confirm.',
    );
    const cli = await runFerry(['status', '--state-dir', w.state]);
    expect(cli.stdout).toContain('held: rule r0 would delete 8 of 10 files at nas');
    // The log says it once, however many passes hold it.
    const logged = readFileSync(join(w.root, 'ferry.log'), 'utf8').split('\n');
    expect(logged.filter((l) => l.includes('deletions held: rule r0 would delete 8 of 10 files at nas'))).toHaveLength(
      1,
    );
    expect(snapshot(w.dest).size).toBe(10);

    const wrong = await runFerry(['confirm-deletes', 'no-such-rule', '--state-dir', w.state]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('no deletions are held for rule "no-such-rule"');
    const confirmed = await runFerry(['confirm-deletes', 'r0', '--state-dir', w.state]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    await until('the confirmed deletions', () => snapshot(w.dest).size === 2);
    await until(
      'the hold to clear',
      async () => (await api<Status>(daemon as Daemon, 'status:get')).body.heldDeletions.length === 0,
    );
  });

  it('keeps a secret typed in the window only while the config refers to it', async () => {
    const w = (ws = workspace());
    daemon = await startDaemon(w);
    const secrets = () => JSON.parse(readFileSync(join(w.state, 'secrets.json'), 'utf8')) as Record<string, string>;
    const stored = await api<{ ref: string }>(daemon, 'secret:set', { name: 'dav.password', value: 'hunter2' });
    expect(stored.body.ref).toBe('keychain:dav.password');
    const cfg = (await api<{ destinations: object[] }>(daemon, 'config:get')).body;
    const dav = { id: 'dav', type: 'webdav', url: 'http://127.0.0.1:9/dav', user: 'ann', password: stored.body.ref };
    const added = await api<{ ok: boolean }>(daemon, 'config:update', {
      config: { ...cfg, destinations: [...cfg.destinations, dav] },
    });
    expect(added.body).toEqual({ ok: true });
    expect(secrets()['dav.password']).toBe('hunter2');
    expect(readFileSync(w.config, 'utf8')).not.toContain('hunter2');
    // The destination is removed: its password is forgotten with it.
    const removed = await api<{ ok: boolean }>(daemon, 'config:update', { config: cfg });
    expect(removed.body).toEqual({ ok: true });
    expect(secrets()).not.toHaveProperty('dav.password');
  });

  it('tests a draft destination and says which step failed', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }] }));
    daemon = await startDaemon(w);
    type Tested = { ok: boolean; step: string | null; message: string; hint: string | null };
    const good = await api<Tested>(daemon, 'destination:test', {
      destination: { id: 'draft', type: 'local', path: w.dest },
    });
    expect(good.body).toMatchObject({ ok: true, step: null });
    const missing = await api<Tested>(daemon, 'destination:test', {
      destination: { id: 'draft', type: 'local', path: join(w.root, 'no-such-folder') },
    });
    expect(missing.body).toMatchObject({ ok: false, step: 'container' });
    expect(missing.body.message).toContain('no-such-folder');
    expect(missing.body.hint).toMatch(/create the folder/);
    const refused = await api<{ error: { issues: { path: string }[] } }>(daemon, 'destination:test', {
      destination: { id: 'draft', type: 's3', bucket: 'b', access_key_id: 'AKIA-in-clear' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues[0]?.path).toBe('destination.access_key_id');
  });
});
