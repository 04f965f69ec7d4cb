import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/daemon';
import { workspace, type Workspace } from '../helpers/workspace';

const SECRET = 'saved-bearer-0f9a7c';

let ws: Workspace | undefined;
let daemon: Daemon | undefined;
const servers: Server[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await stopDaemon(daemon);
  daemon = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  for (const c of cleanups.splice(0)) c();
  ws?.cleanup();
  ws = undefined;
});

/** A loopback HTTP server that records every request's headers and body. */
async function listener(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
      seen.push(`${JSON.stringify(req.headers)}\n${req.url}\n${body}`);
      res.writeHead(401).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`, seen };
}

async function api<T>(d: Daemon, name: string, body: unknown): Promise<T> {
  const res = await fetch(`${d.url}/api/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}` },
    body: JSON.stringify(body),
  });
  return (await res.json()) as T;
}

type Tested = { ok: boolean; step: string | null; message: string; hint: string | null };

describe('a draft destination and the stored secrets', () => {
  it('never sends a saved destination’s secret to a host the draft names; the same host, or a secret typed again, is fine', async () => {
    const home = await listener();
    const elsewhere = await listener();
    const secretFile = join(process.env.TMPDIR ?? '/tmp', `ferry-draft-${process.pid}`);
    writeFileSync(secretFile, SECRET);
    cleanups.push(() => rmSync(secretFile, { force: true }));
    const w = (ws = workspace({
      rules: [{ mode: 'backup' }],
      extraDestinations: [
        '  - id: web',
        '    type: http',
        `    url: ${home.url}`,
        `    token: file:${secretFile}`,
      ].join('\n'),
    }));
    const d = (daemon = await startDaemon(w));

    const stolen = await api<Tested>(d, 'destination:test', {
      destination: { id: 'draft', type: 'http', url: elsewhere.url, token: `file:${secretFile}` },
    });
    expect(stolen).toMatchObject({ ok: false, step: 'auth' });
    expect(stolen.message).toContain('destination "web"');
    expect(stolen.hint).toMatch(/type the token again/);
    // Keychain and env references other than the saved destination's are refused the same way.
    const unknown = await api<Tested>(d, 'destination:test', {
      destination: { id: 'draft', type: 'http', url: elsewhere.url, token: 'keychain:web.token' },
    });
    expect(unknown).toMatchObject({ ok: false, step: 'auth' });
    expect(elsewhere.seen).toEqual([]);

    // The saved destination's own address: its secret goes there, as it does when the saved one is tested.
    await api<Tested>(d, 'destination:test', {
      destination: { id: 'draft', type: 'http', url: home.url, token: `file:${secretFile}` },
    });
    expect(home.seen.some((r) => r.includes(SECRET))).toBe(true);

    // A secret typed into the form for the new address goes to that address.
    const { ref } = await api<{ ref: string }>(d, 'secret:set', { name: 'draft.token', value: 'typed-for-elsewhere' });
    await api<Tested>(d, 'destination:test', {
      destination: { id: 'draft', type: 'http', url: elsewhere.url, token: ref },
    });
    expect(elsewhere.seen.some((r) => r.includes('typed-for-elsewhere'))).toBe(true);
    expect(elsewhere.seen.some((r) => r.includes(SECRET))).toBe(false);
  });
});
