import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startFaultProxy, type Fault, type FaultProxy, type ProxyRequest } from '../servers/faultProxy';
import { startDavFront, startRcloneWebdav, type DavFront, type RcloneServer } from '../servers/rcloneServe';

const ENV = { FERRY_TEST_DAV_PASSWORD: 'p' };

function davWorkspace(url: string, opts: { settings?: string; extra?: string } = {}): Workspace {
  return workspace({
    rules: [{ mode: 'mirror', to: ['dav'] }],
    settings: opts.settings,
    extraDestinations: [
      '  - id: dav',
      '    type: webdav',
      `    url: ${JSON.stringify(url)}`,
      '    user: u',
      '    password: env:FERRY_TEST_DAV_PASSWORD',
      ...(opts.extra ? [opts.extra] : []),
    ].join('\n'),
  });
}

const servers: RcloneServer[] = [];
const dirs: string[] = [];
async function serve(readOnly = false): Promise<RcloneServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-davsrv-'));
  dirs.push(dir);
  const s = await startRcloneWebdav(dir, { readOnly });
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function temps(root: string): string[] {
  return [...snapshot(root).keys()].filter((p) => (p.split('/').pop() as string).startsWith('.ferrytmp-'));
}

describe('a generated tree reaches a WebDAV server (rclone serve webdav) through the CLI', () => {
  let ws: Workspace;
  let server: RcloneServer;
  let proxy: FaultProxy;
  let front: DavFront;
  let paths: string[];
  const seen: ProxyRequest[] = [];

  beforeAll(async () => {
    server = await serve();
    // No faults here: the proxy only counts what crosses the wire.
    front = await startDavFront(server.url);
    proxy = await startFaultProxy(front.url, { faults: (r) => void seen.push(r) });
    ws = davWorkspace(proxy.url, { settings: '  transfers: 8' });
    paths = makeTree(ws.src, { files: 2100, bigFileBytes: 20 * 1024 * 1024, seed: 11 });
  });
  afterAll(async () => {
    await proxy.close();
    await front.close();
    ws.cleanup();
  });

  it('ships every file byte-identical: nested, empty, spaces, NFC and NFD names, a 20 MB file', async () => {
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.ok).toBe(true);
    expect(r.summary?.stats.done).toBe(paths.length);
    const src = snapshot(ws.src);
    expect(snapshot(server.dir)).toEqual(src);
    expect(paths.some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...snapshot(server.dir).keys()].some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...snapshot(server.dir).keys()].some((p) => p.includes('café'.normalize('NFC')))).toBe(true);
    // The empty files are there, empty.
    expect(statSync(join(server.dir, 'empty-1')).size).toBe(0);
  });

  it('ships nothing on a second run', async () => {
    const before = seen.length;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
    const puts = seen.slice(before).filter((q) => q.method === 'PUT' && !q.url.includes('-probe-'));
    expect(puts).toEqual([]);
  });

  it('a renamed file and a renamed folder (mirror) are moved on the server: no bytes sent again', async () => {
    renameSync(join(ws.src, 'big', 'large file.bin'), join(ws.src, 'big', 'renamed large file.bin'));
    renameSync(join(ws.src, 'deep'), join(ws.src, 'deeper'));
    const before = seen.length;
    const bytesBefore = proxy.stats.bodyBytes;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(2);
    expect(r.summary?.stats.bytes).toBe(0);
    const during = seen.slice(before);
    expect(during.filter((q) => q.method === 'PUT' && !q.url.includes('-probe-'))).toEqual([]);
    expect(during.filter((q) => q.method === 'MOVE' && !q.url.includes('-probe-')).length).toBe(2);
    // Only PROPFIND bodies and the check's probe crossed the wire: far less than the 20 MB file.
    expect(proxy.stats.bodyBytes - bytesBefore).toBeLessThan(1024 * 1024);
    expect(snapshot(server.dir)).toEqual(snapshot(ws.src));
  });
});

describe('what ferry check and ferry sync say when the WebDAV destination is unusable', () => {
  let ok: RcloneServer;
  let ro: RcloneServer;
  beforeAll(async () => {
    [ok, ro] = await Promise.all([serve(), serve(true)]);
  });

  const cases: {
    name: string;
    setup: () => { url: string; extra?: string; env?: Record<string, string> };
    step: string;
    message: RegExp;
    hint: RegExp;
  }[] = [
    {
      name: 'a wrong password',
      setup: () => ({ url: ok.url, env: { FERRY_TEST_DAV_PASSWORD: 'wrong' } }),
      step: 'auth',
      message: /401/,
      hint: /password/,
    },
    {
      name: 'a missing folder',
      setup: () => ({ url: ok.url, extra: '    path: /not/there' }),
      step: 'container',
      message: /not\/there does not exist/,
      hint: /create the folder/,
    },
    {
      name: 'no write permission (rclone --read-only)',
      setup: () => ({ url: ro.url }),
      step: 'write',
      message: /cannot write/,
      hint: /write permission/,
    },
  ];

  for (const c of cases)
    it(`${c.name}: check names the step and what to do, and sync reports the destination and ships nothing`, async () => {
      const { url, extra, env } = c.setup();
      const ws = davWorkspace(url, { ...(extra ? { extra } : {}) });
      try {
        writeFileSync(join(ws.src, 'a.txt'), 'a');
        const check = await runFerry(['check', '--config', ws.config, '--json', 'dav'], { env: { ...ENV, ...env } });
        expect(check.code, check.stdout + check.stderr).toBe(1);
        const [result] = JSON.parse(check.stdout) as { ok: boolean; step: string; message: string; hint: string }[];
        expect(result?.ok).toBe(false);
        expect(result?.step).toBe(c.step);
        expect(result?.message).toMatch(c.message);
        expect(result?.hint).toMatch(c.hint);
        const human = await runFerry(['check', '--config', ws.config, 'dav'], { env: { ...ENV, ...env } });
        expect(human.stdout).toMatch(new RegExp(`✗ dav: ${c.step} failed: .*${c.message.source}`));

        const r = await syncJson(ws.config, ws.state, { env: { ...ENV, ...env } });
        expect(r.code).toBe(1);
        expect(r.summary?.ok).toBe(false);
        expect(r.summary?.stats.done).toBe(0);
        // Writability shows at the first write (a routine pass writes no probe): a failure per file.
        const err =
          r.summary?.destinationErrors.find((d) => d.destination === 'dav')?.error ??
          (c.step === 'write' ? r.summary?.failures.find((f) => f.destination === 'dav')?.error : undefined);
        expect(err).toBeDefined();
        if (c.step !== 'write') {
          expect(err?.message).toMatch(c.message);
          expect(err?.hint).toMatch(c.hint);
        }
      } finally {
        ws.cleanup();
      }
    });
});

describe('faults between Ferry and the WebDAV server (resets, 503, 429 + Retry-After, stalls)', () => {
  let ws: Workspace;
  let server: RcloneServer;
  let proxy: FaultProxy;
  let front: DavFront;
  const kinds: Fault[] = ['reset', '503', '429', 'reset', '500', 'stall', '502'];
  let faultNo = 0;
  let transfers = 0;

  beforeAll(async () => {
    server = await serve();
    front = await startDavFront(server.url);
    proxy = await startFaultProxy(front.url, {
      retryAfterSec: 1,
      // A stall holds the answer's body for 30 s: Ferry's own timeout (2 s here) must give up first.
      stallMs: 30_000,
      faults: (r) => {
        if ((r.method !== 'PUT' && r.method !== 'MOVE') || r.url.includes('-probe-')) return undefined;
        // Every 31st transfer request, rotating through the kinds of failure.
        if (++transfers % 31 !== 0) return undefined;
        return kinds[faultNo++ % kinds.length];
      },
    });
    ws = davWorkspace(proxy.url, { settings: '  transfers: 8\n  retries: 10', extra: '    timeout: 2' });
    mkdirSync(join(ws.src, 'many'), { recursive: true });
    for (let i = 0; i < 1000; i++) {
      const dir = join(ws.src, 'many', `d${i % 20}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `f${i}.bin`), randomBytes(i % 7 === 0 ? 0 : 500 + ((i * 7919) % 20_000)));
    }
  });
  afterAll(async () => {
    await proxy.close();
    await front.close();
    ws.cleanup();
  });

  it('a 1,000-file sync arrives complete, each file once and byte-identical, with no temporary file left', async () => {
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.ok).toBe(true);
    expect(r.summary?.stats.done).toBe(1000);
    expect(r.summary?.failures).toEqual([]);
    for (const k of ['reset', '503', '429', 'stall'] as const) expect(proxy.stats.faults[k], k).toBeGreaterThan(0);
    expect(temps(server.dir)).toEqual([]);
    expect(snapshot(server.dir)).toEqual(snapshot(ws.src));
    expect(readdirSync(join(server.dir, 'many')).length).toBe(20);
    // And the next run agrees that everything is there.
    proxy.setFaults(undefined);
    const again = await syncJson(ws.config, ws.state, { env: ENV });
    expect(again.summary?.stats.done).toBe(0);
    expect(again.summary?.inSync).toBe(1000);
  });
});
