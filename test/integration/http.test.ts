import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startHttpReceiver, type Receiver, type ReceiverOptions } from '../servers/httpReceiver';

const ENV = { FERRY_TEST_HTTP_TOKEN: 'tok-123', FERRY_TEST_HTTP_KEY: 'key-456' };

function httpWorkspace(url: string, lines: string[], settings?: string): Workspace {
  return workspace({
    rules: [{ mode: 'backup', to: ['web'] }],
    ...(settings ? { settings } : {}),
    extraDestinations: ['  - id: web', '    type: http', `    url: ${JSON.stringify(url)}`, ...lines].join('\n'),
  });
}

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function receiverIn(opts: Omit<ReceiverOptions, 'dir'> = {}): Promise<Receiver & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-recv-'));
  const r = await startHttpReceiver({ dir, ...opts });
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => r.close(),
  );
  return { ...r, dir };
}

describe('a generated tree reaches an HTTP upload endpoint (multipart POST) through the CLI', () => {
  let ws: Workspace;
  let recv: Receiver & { dir: string };
  let paths: string[];
  beforeAll(async () => {
    recv = await receiverIn({ token: 'tok-123', pathField: 'target' });
    ws = httpWorkspace(`${recv.url}/upload`, [
      '    field: document',
      '    path_field: target',
      '    token: env:FERRY_TEST_HTTP_TOKEN',
      '    headers: { X-Team: ferry, X-Api-Key: env:FERRY_TEST_HTTP_KEY }',
    ]);
    paths = makeTree(ws.src, { files: 2100, bigFileBytes: 20 * 1024 * 1024, seed: 13 });
    cleanups.push(() => ws.cleanup());
  });

  it('ships every file byte-identical: nested, empty, spaces, NFC and NFD names, a 20 MB file', async () => {
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.ok).toBe(true);
    expect(r.summary?.stats.done).toBe(paths.length);
    expect(snapshot(recv.dir)).toEqual(snapshot(ws.src));
  });

  it('honours the field name and the path field, and sends the bearer token and the extra headers (credential ones resolved)', () => {
    const uploads = recv.received.filter((u) => u.method === 'POST');
    expect(uploads.length).toBe(paths.length);
    for (const u of uploads) {
      expect(u.status).toBe(201);
      expect(u.fileField).toBe('document');
      expect(Object.keys(u.fields)).toEqual(['target']);
      expect(u.filename).toBe((u.fields.target as string).split('/').pop());
      expect(u.headers.authorization).toBe('Bearer tok-123');
      expect(u.headers['x-team']).toBe('ferry');
      // A credential header holds a reference in the config; its value is what is sent.
      expect(u.headers['x-api-key']).toBe('key-456');
      expect(u.headers['x-ferry-sha256']).toBe(u.sha256);
    }
    expect(uploads.map((u) => u.fields.target).sort()).toEqual([...paths].sort());
  });

  it('ships nothing on a second run: with no listing, the records of what was shipped are trusted', async () => {
    const before = recv.received.length;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
    expect(recv.received.slice(before).filter((u) => u.method === 'POST')).toEqual([]);
  });
});

describe('HTTP endpoint answers: retried, refused, unverifiable', () => {
  it('a 500 is retried until the file arrives; a 4xx fails only that file, with the server’s message; the others go on', async () => {
    const attempts = new Map<string, number>();
    const recv = await receiverIn({
      respond: (u) => {
        const n = (attempts.get(u.path ?? '') ?? 0) + 1;
        attempts.set(u.path ?? '', n);
        if (u.path === 'flaky.txt' && n <= 2) return { status: 500, body: { error: 'database hiccup' } };
        if (u.path === 'refused.exe') return { status: 422, body: { error: 'executables are not accepted here' } };
        return undefined;
      },
    });
    const ws = httpWorkspace(`${recv.url}/upload`, [], '  retries: 3');
    cleanups.push(() => ws.cleanup());
    for (const name of ['a.txt', 'b.txt', 'flaky.txt', 'refused.exe', 'c.txt']) writeFileSync(join(ws.src, name), name);
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code).toBe(1);
    expect(r.summary?.stats.done).toBe(4);
    expect(r.summary?.failures.map((f) => [f.path, f.error.kind])).toEqual([['refused.exe', 'permanent']]);
    expect(r.summary?.failures[0]?.error.message).toContain('executables are not accepted here');
    expect(r.summary?.failures[0]?.error.message).toContain('422');
    expect(attempts.get('flaky.txt')).toBe(3);
    expect(attempts.get('refused.exe')).toBe(1);
    const got = snapshot(recv.dir);
    expect([...got.keys()].sort()).toEqual(['a.txt', 'b.txt', 'c.txt', 'flaky.txt']);
  });

  it('an answer whose sha256 differs from the file’s is a failed verification; success_field must say ok', async () => {
    const recv = await receiverIn({
      respond: (u) => {
        if (u.path === 'lied.bin') return { status: 201, body: { ok: true, sha256: '0'.repeat(64), size: u.size } };
        if (u.path === 'later.bin') return { status: 200, body: { ok: false, message: 'quota for today reached' } };
        return undefined;
      },
    });
    const ws = httpWorkspace(`${recv.url}/upload`, ['    success_field: ok'], '  retries: 0');
    cleanups.push(() => ws.cleanup());
    for (const name of ['fine.bin', 'lied.bin', 'later.bin']) writeFileSync(join(ws.src, name), name);
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.summary?.stats.done).toBe(1);
    const byPath = new Map(r.summary?.failures.map((f) => [f.path, f.error]));
    expect(byPath.get('lied.bin')?.message).toMatch(/sha256 does not match/);
    expect(byPath.get('later.bin')?.message).toContain('quota for today reached');
  });

  it('PUT mode: raw bytes to the URL plus the remote path, which also travels in path_header', async () => {
    const recv = await receiverIn({ pathHeader: 'X-Remote-Path' });
    const ws = httpWorkspace(`${recv.url}/upload/`, ['    method: PUT', '    path_header: X-Remote-Path']);
    cleanups.push(() => ws.cleanup());
    mkdirSync(join(ws.src, 'sub dir'));
    writeFileSync(join(ws.src, 'sub dir', 'café.txt'.normalize('NFD')), 'put me');
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(snapshot(recv.dir)).toEqual(snapshot(ws.src));
    const put = recv.received.find((u) => u.method === 'PUT');
    expect(put?.url).toBe(`/upload/sub%20dir/${encodeURIComponent('café.txt'.normalize('NFD'))}`);
    expect(decodeURIComponent(put?.headers['x-remote-path'] as string)).toBe(`sub dir/${'café.txt'.normalize('NFD')}`);
  });

  it('ferry check: a wrong token names the auth step, a wrong URL the container step', async () => {
    const recv = await receiverIn({ token: 'tok-123' });
    const ws = httpWorkspace(`${recv.url}/upload`, ['    token: env:FERRY_TEST_HTTP_TOKEN']);
    cleanups.push(() => ws.cleanup());
    const ok = await runFerry(['check', '--config', ws.config, 'web'], { env: ENV });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = await runFerry(['check', '--config', ws.config, '--json', 'web'], {
      env: { FERRY_TEST_HTTP_TOKEN: 'wrong' },
    });
    expect(bad.code).toBe(1);
    const [res] = JSON.parse(bad.stdout) as { step: string; message: string; hint: string }[];
    expect(res?.step).toBe('auth');
    expect(res?.message).toMatch(/refused the credentials \(HTTP 401 — missing or wrong bearer token\)/);
    const ws2 = httpWorkspace(`${recv.url}/nowhere`, ['    token: env:FERRY_TEST_HTTP_TOKEN']);
    cleanups.push(() => ws2.cleanup());
    const missing = await runFerry(['check', '--config', ws2.config, '--json', 'web'], { env: ENV });
    const [m] = JSON.parse(missing.stdout) as { step: string; message: string }[];
    expect(m?.step).toBe('container');
    expect(m?.message).toMatch(/no upload endpoint at .*\/nowhere/);
  });

  it("a mirror rule's deletion there fails by name, saying to use a backup rule: the endpoint cannot take files away", async () => {
    const recv = await receiverIn({ token: 'tok-123' });
    const ws = workspace({
      rules: [{ mode: 'mirror', to: ['web'] }],
      extraDestinations: [
        '  - id: web',
        '    type: http',
        `    url: ${JSON.stringify(`${recv.url}/upload`)}`,
        '    token: env:FERRY_TEST_HTTP_TOKEN',
      ].join('\n'),
    });
    cleanups.push(() => ws.cleanup());
    writeFileSync(join(ws.src, 'gone.txt'), 'here for now');
    writeFileSync(join(ws.src, 'stays.txt'), 'still here');
    const first = await syncJson(ws.config, ws.state, { env: ENV });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    rmSync(join(ws.src, 'gone.txt'));
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const failed = r.summary?.failures ?? [];
    expect(failed.map((f) => f.path)).toEqual(['gone.txt']);
    expect(JSON.stringify(failed)).toMatch(/accepts uploads only/);
    expect(JSON.stringify(failed)).toMatch(/backup rule/);
  });
});
