import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { answers, rawExchange, startDaemon, statusOf, stopDaemon, type Daemon } from '../helpers/daemon';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
let daemon: Daemon | undefined;

afterEach(async () => {
  await stopDaemon(daemon);
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

describe('the daemon faces hostile requests', () => {
  it('answers malformed request targets and goes on (any web page could send them)', async () => {
    const w = (ws = workspace());
    const d = (daemon = await startDaemon(w));
    const host = `Host: 127.0.0.1:${d.port}\r\n`;
    const requests = [
      `GET //[x HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
      `GET /%E0%A4%A HTTP/1.1\r\n${host}\r\n`,
      `GET http://[::1 HTTP/1.1\r\n${host}\r\n`,
      `GET http://a:99999/ HTTP/1.1\r\n${host}\r\n`,
      `POST /api/%E0 HTTP/1.1\r\n${host}Authorization: Bearer ${d.token}\r\nContent-Length: 2\r\n\r\n{}`,
      `GET /api/events?token=${d.token} HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`.replace(
        '/api/events',
        '//[x',
      ),
    ];
    for (const r of requests) {
      const answer = await rawExchange(d.port, r);
      // `//[x` is a path like any other (404 here: no web app); the others cannot be parsed (400).
      expect(statusOf(answer), r.split('\r\n')[0]).toBe(r.startsWith('GET //[x') ? 404 : 400);
      expect(await answers(d), `the daemon still answers after ${r.split('\r\n')[0]}`).toBe(true);
    }
  });

  it('refuses a Host that is not loopback or the bound address (DNS rebinding), on pages, API and WebSocket', async () => {
    const w = (ws = workspace());
    const d = (daemon = await startDaemon(w));
    const get = (hostHeader: string, path = '/') =>
      rawExchange(d.port, `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`).then(statusOf);
    const post = (hostHeader: string) =>
      rawExchange(
        d.port,
        `POST /api/status:get HTTP/1.1\r\nHost: ${hostHeader}\r\nAuthorization: Bearer ${d.token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      ).then(statusOf);
    expect(await get(`evil.example:${d.port}`)).toBe(421);
    expect(await post(`evil.example:${d.port}`)).toBe(421);
    expect(await post('localhost.evil.example')).toBe(421);
    expect(await get(`localhost:${d.port}`)).toBe(404); // served (no web app in this test), not refused
    expect(await post(`localhost:${d.port}`)).toBe(200);
    expect(await post(`127.0.0.1:${d.port}`)).toBe(200);
    expect(await post(`[::1]:${d.port}`)).toBe(200);
    const wsStatus = (hostHeader: string) =>
      new Promise<number>((resolve) => {
        const sock = new WebSocket(`ws://127.0.0.1:${d.port}/api/events?token=${d.token}`, {
          headers: { host: hostHeader },
        });
        sock.on('open', () => {
          sock.close();
          resolve(101);
        });
        sock.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        sock.on('error', () => resolve(0));
      });
    expect(await wsStatus(`evil.example:${d.port}`)).toBe(421);
    expect(await wsStatus(`localhost:${d.port}`)).toBe(101);
  });

  it('answers a body over the limit with 413 and says so, whether its length is declared or streamed', async () => {
    const w = (ws = workspace());
    const d = (daemon = await startDaemon(w));
    const big = `{"x":"${'a'.repeat(12 * 1024 * 1024)}"}`;
    const declared = await fetch(`${d.url}/api/status:get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}` },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { message: string } }).error.message).toMatch(/larger than 10 MB/);

    const streamed = await fetch(`${d.url}/api/status:get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}` },
      body: Readable.toWeb(Readable.from([Buffer.from(big)])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { message: string } }).error.message).toMatch(/larger than 10 MB/);
    expect(await answers(d)).toBe(true);
  });
});
