import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { makeTree, sha256, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { everyNth, startFaultProxy, type FaultProxy } from '../servers/faultProxy';

/**
 * The real `ferry` binary against the Dropbox emulator: the emulator runs in this process, the CLI is
 * a child pointed at it with `endpoint`, its refresh token given through an env: reference.
 */

const MiB = 1024 * 1024;

function dropboxYaml(
  id: string,
  endpoint: string,
  opts: { root?: string; tokenVar?: string; appKey?: string } = {},
): string {
  return [
    `  - id: ${id}`,
    '    type: dropbox',
    `    app_key: ${opts.appKey ?? 'ferry-test-app'}`,
    `    refresh_token: env:${opts.tokenVar ?? 'FERRY_TEST_DBX_TOKEN'}`,
    `    endpoint: ${endpoint}`,
    `    root: ${JSON.stringify(opts.root ?? '/Ferry')}`,
  ].join('\n');
}

/** What the emulator holds below `root`, as relative path → SHA-256 (the shape of helpers/tree's snapshot). */
function remoteSnapshot(emu: DropboxEmulator, root = 'Ferry'): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, data] of emu.files())
    if (path.toLowerCase().startsWith(`${root.toLowerCase()}/`)) out.set(path.slice(root.length + 1), sha256(data));
  return out;
}

const sorted = (m: Map<string, string>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('dropbox through the CLI: a generated tree, a second run, a rename', () => {
  let emu: DropboxEmulator;
  let ws: Workspace;
  let paths: string[];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    emu = await startDropboxEmulator();
    env = { FERRY_TEST_DBX_TOKEN: emu.issueRefreshToken() };
    ws = workspace({ rules: [{ mode: 'mirror', to: ['dbx'] }], extraDestinations: dropboxYaml('dbx', emu.url) });
    paths = makeTree(ws.src, { files: 2100, seed: 11 });
  });
  afterAll(async () => {
    ws.cleanup();
    await emu.close();
  });

  it('ships the foundation tree byte for byte (nested, empty, spaces, NFC and NFD names), small files through finish_batch_v2', async () => {
    const r = await syncJson(ws.config, ws.state, { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(paths.length);
    const remote = remoteSnapshot(emu);
    expect(sorted(remote)).toEqual(sorted(snapshot(ws.src)));
    expect([...remote.keys()].some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...remote.keys()].some((p) => p.includes('café'.normalize('NFC')))).toBe(true);
    // Small files are committed in batches; a unit of one file goes through files/upload.
    // No probe file: a routine pass proves writability by its first real write.
    expect(emu.stats.finishBatchEntries + (emu.stats.calls['files/upload'] ?? 0)).toBe(paths.length);
    expect(emu.stats.finishBatchEntries).toBeGreaterThan(paths.length * 0.9);
    expect(emu.stats.calls['files/upload_session/finish_batch_v2']).toBeLessThan(paths.length / 20);
    expect(emu.stats.calls['files/upload_session/finish_batch']).toBeUndefined();
  });

  it('ships nothing on a second run', async () => {
    emu.resetStats();
    const r = await syncJson(ws.config, ws.state, { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
    expect(emu.stats.contentBytes).toBe(0); // no probe: a routine pass writes nothing to look
    expect(Object.keys(emu.stats.commits).filter((p) => !p.includes('-probe-'))).toEqual([]);
  });

  it('turns a local rename into move_v2: no bytes sent again', async () => {
    const from = paths.find((p) => p.startsWith('d') && p.endsWith('.bin')) as string;
    const to = `renamed/${from.split('/').pop() as string}`;
    mkdirSync(join(ws.src, 'renamed'), { recursive: true });
    renameSync(join(ws.src, from), join(ws.src, to));
    emu.resetStats();
    const r = await syncJson(ws.config, ws.state, { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(1);
    expect(emu.stats.calls['files/move_v2']).toBe(1);
    expect(emu.stats.contentBytes).toBe(0); // no probe: a routine pass writes nothing to look
    expect(emu.file(`/Ferry/${from}`)).toBeUndefined();
    expect(sha256(emu.file(`/Ferry/${to}`) as Buffer)).toBe(snapshot(ws.src).get(to));
  });
});

describe('dropbox through the CLI: a 64 MB file, and a SIGKILL in the middle of its session', () => {
  let emu: DropboxEmulator;
  let env: NodeJS.ProcessEnv;
  const spaces: Workspace[] = [];
  beforeAll(async () => {
    emu = await startDropboxEmulator();
    env = { FERRY_TEST_DBX_TOKEN: emu.issueRefreshToken() };
  });
  afterAll(async () => {
    for (const ws of spaces) ws.cleanup();
    await emu.close();
  });
  const bigWorkspace = (root: string, settings?: string) => {
    const ws = workspace({
      rules: [{ mode: 'backup', to: ['dbx'] }],
      extraDestinations: dropboxYaml('dbx', emu.url, { root }),
      ...(settings ? { settings } : {}),
    });
    spaces.push(ws);
    const data = randomBytes(64 * MiB);
    writeFileSync(join(ws.src, 'big file.bin'), data);
    return { ws, data };
  };

  it('sends a 64 MB file through an upload session, byte-identical', async () => {
    const { ws, data } = bigWorkspace('/Big');
    emu.resetStats();
    const r = await syncJson(ws.config, ws.state, { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(emu.stats.calls['files/upload_session/start']).toBe(1);
    expect(emu.stats.calls['files/upload_session/append_v2']).toBe(7); // 8 chunks of 8 MiB
    expect(emu.stats.finishedSessions).toHaveLength(1);
    expect(emu.file('/Big/big file.bin')?.equals(data)).toBe(true);
  });

  it('resumes the same session after a SIGKILL: fewer bytes the second time, byte-identical', async () => {
    // A bandwidth cap (in settings) stretches the upload so that the kill lands in the middle of it.
    const { ws, data } = bigWorkspace('/Resume', '  bandwidth: 16000000');
    emu.resetStats();
    const child = spawnFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], { env });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    let session: { id: string; size: number } | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      session = emu.openSessions().find((s) => s.size >= 24 * MiB);
      if (session) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(session, 'the upload session reached 24 MiB').toBeDefined();
    child.kill('SIGKILL');
    await exited;
    const acknowledged = emu.openSessions().find((s) => s.id === session?.id)?.size ?? 0;
    expect(acknowledged).toBeLessThan(data.length);
    expect(emu.file('/Resume/big file.bin')).toBeUndefined();
    const firstRunBytes = emu.stats.contentBytes;
    emu.resetStats();
    const r = await syncJson(ws.config, ws.state, { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(emu.stats.finishedSessions).toEqual([session?.id]);
    expect(emu.stats.calls['files/upload_session/start'] ?? 0).toBe(0);
    // At most one chunk more than what was missing (an append whose answer the kill cut off).
    expect(emu.stats.contentBytes).toBeLessThanOrEqual(data.length - acknowledged + 8 * MiB + 64);
    expect(emu.stats.contentBytes + firstRunBytes).toBeLessThan(2 * data.length);
    expect(emu.file('/Resume/big file.bin')?.equals(data)).toBe(true);
  });
});

describe('dropbox through the CLI: faults between Ferry and Dropbox during a 1,000-file sync', () => {
  let emu: DropboxEmulator;
  let proxy: FaultProxy;
  let ws: Workspace;
  let paths: string[];

  beforeAll(async () => {
    emu = await startDropboxEmulator();
    // Faults on the upload traffic only: a failed connection check is another test's business.
    const upload = (r: { url: string }) => r.url.startsWith('/2/files/upload_session/');
    const resets = everyNth(97, 'reset', upload);
    const unavailable = everyNth(89, '503', upload);
    const limited = everyNth(3, '429', (r) => r.url === '/2/files/upload_session/finish_batch_v2');
    let stalled = false;
    proxy = await startFaultProxy(emu.url, {
      retryAfterSec: 1,
      stallMs: 1500,
      faults: (r) => {
        if (!stalled && r.url === '/2/files/upload_session/finish_batch_v2') {
          stalled = true;
          return 'stall';
        }
        return limited(r) ?? resets(r) ?? unavailable(r);
      },
    });
    ws = workspace({
      rules: [{ mode: 'mirror', to: ['dbx'] }],
      extraDestinations: dropboxYaml('dbx', proxy.url),
      settings: '  retries: 10',
    });
    paths = makeTree(ws.src, { files: 1000, seed: 23 });
  });
  afterAll(async () => {
    ws.cleanup();
    await proxy.close();
    await emu.close();
  });

  it('delivers every file exactly once, verified, and exits 0', async () => {
    const r = await syncJson(ws.config, ws.state, { env: { FERRY_TEST_DBX_TOKEN: emu.issueRefreshToken() } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(paths.length);
    expect(proxy.stats.faults.reset).toBeGreaterThan(0);
    expect(proxy.stats.faults['503']).toBeGreaterThan(0);
    expect(proxy.stats.faults['429']).toBeGreaterThan(0);
    expect(proxy.stats.faults.stall).toBe(1);
    expect(sorted(remoteSnapshot(emu))).toEqual(sorted(snapshot(ws.src)));
    // Once: every path written once (a retried commit of the same bytes writes nothing), no renamed copies.
    const commits = Object.entries(emu.stats.commits).filter(([p]) => !p.includes('-probe-'));
    expect(commits.length).toBe(paths.length);
    expect(commits.filter(([, n]) => n !== 1)).toEqual([]);
  });
});

describe('dropbox through the CLI: what fails is named, the rest is served', () => {
  let emu: DropboxEmulator;
  let ws: Workspace;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    emu = await startDropboxEmulator();
    emu.denyWrites = (p) => p === '/locked' || p.startsWith('/locked/');
    const revoked = emu.issueRefreshToken();
    emu.revoke(revoked);
    env = {
      FERRY_TEST_DBX_OK: emu.issueRefreshToken(),
      FERRY_TEST_DBX_REVOKED: revoked,
      FERRY_TEST_DBX_RO: emu.issueRefreshToken(['files.metadata.read', 'files.content.read']),
    };
    emu.putFile('/ReadOnly/keep.txt', Buffer.from('already there'));
    ws = workspace({
      rules: [{ mode: 'backup', to: ['nas', 'ok', 'revoked', 'missing', 'readonly'] }],
      extraDestinations: [
        dropboxYaml('ok', emu.url, { tokenVar: 'FERRY_TEST_DBX_OK' }),
        dropboxYaml('revoked', emu.url, { tokenVar: 'FERRY_TEST_DBX_REVOKED' }),
        dropboxYaml('missing', emu.url, { tokenVar: 'FERRY_TEST_DBX_OK', root: '/Locked/Ferry' }),
        dropboxYaml('readonly', emu.url, { tokenVar: 'FERRY_TEST_DBX_RO', root: '/ReadOnly' }),
      ].join('\n'),
    });
    makeTree(ws.src, { files: 30, seed: 3 });
    mkdirSync(join(ws.src, 'Case'));
    writeFileSync(join(ws.src, 'Case', 'Readme.md'), 'one');
    writeFileSync(join(ws.src, 'Case', 'README.md'), 'two');
    writeFileSync(join(ws.src, 'what: a name?.txt'), 'colon and question mark');
    writeFileSync(join(ws.src, 'desktop.ini'), '[.ShellClassInfo]');
  });
  afterAll(async () => {
    ws.cleanup();
    await emu.close();
  });

  it('ferry check names the step that failed for each destination', async () => {
    const r = await runFerry(['check', '--json', '--config', ws.config], { env });
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as {
      destination: string;
      ok: boolean;
      step: string | null;
      hint: string | null;
    }[];
    const by = new Map(results.map((x) => [x.destination, x]));
    expect(by.get('nas')?.ok).toBe(true);
    expect(by.get('ok')?.ok).toBe(true);
    expect(by.get('revoked')).toMatchObject({ ok: false, step: 'auth' });
    expect(by.get('revoked')?.hint).toMatch(/reconnect Dropbox/);
    expect(by.get('missing')).toMatchObject({ ok: false, step: 'container' });
    expect(by.get('readonly')).toMatchObject({ ok: false, step: 'write' });
    expect(by.get('readonly')?.hint).toMatch(/files\.content\.write/);
    const text = await runFerry(['check', '--config', ws.config, 'missing'], { env });
    expect(text.stdout).toMatch(/✗ missing: container failed: .*\/Locked\/Ferry/);
  });

  it('sync reports each failing destination and why, serves the others, and fails only the files Dropbox cannot hold', async () => {
    const r = await syncJson(ws.config, ws.state, { env });
    expect(r.code).toBe(1);
    const errors = new Map(r.summary?.destinationErrors.map((d) => [d.destination, d.error]) ?? []);
    expect([...errors.keys()].sort()).toEqual(['revoked']);
    expect(errors.get('revoked')?.hint).toMatch(/reconnect Dropbox/);
    // A routine pass looks without writing (only `ferry check` probes): a destination that may not be
    // written fails its files at their first write, each with why.
    for (const id of ['missing', 'readonly'])
      expect(r.summary?.failures.filter((f) => f.destination === id).length, id).toBeGreaterThan(0);
    // The local destination got everything.
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
    // Dropbox got everything except the names it cannot hold and one of the two case-twins.
    const failures = r.summary?.failures.filter((f) => f.destination === 'ok') ?? [];
    const byPath = new Map(failures.map((f) => [f.path, f.error]));
    expect(byPath.get('desktop.ini')).toMatchObject({ kind: 'invalid-name' });
    expect(byPath.get('desktop.ini')?.message).toMatch(/desktop\.ini/);
    expect(byPath.get('what: a name?.txt')).toMatchObject({ kind: 'invalid-name' });
    expect(byPath.get('what: a name?.txt')?.message).toMatch(/":"/);
    // Two names that differ only by case are one name on Dropbox: the planner reports the second as a
    // collision before anything is sent (nothing overwritten), and ships the first.
    expect(failures).toHaveLength(2);
    const clash = (r.summary?.problems ?? []) as { kind: string; destination?: string; path?: string }[];
    const twin = clash.find((p) => p.kind === 'collision' && p.destination === 'ok');
    expect(twin?.path?.toLowerCase()).toBe('case/readme.md');
    const remote = remoteSnapshot(emu);
    const local = snapshot(ws.src);
    for (const p of ['desktop.ini', 'what: a name?.txt', twin?.path as string]) local.delete(p);
    expect(sorted(remote)).toEqual(sorted(local));
  });
});
