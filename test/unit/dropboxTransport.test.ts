import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteUrl, Transport } from '../../src/main/engine/providers/dropbox/dropboxTransport';

describe('Dropbox transport', () => {
  let server: Server;
  let base: string;
  let transport: Transport;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/chunked') {
        // No Content-Length: a chunked answer, over a keep-alive connection.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"ok":');
        res.end('true}');
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' });
        res.write(Buffer.alloc(10));
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (req.url === '/silent') {
        res.writeHead(200, { 'content-length': '5' });
        res.flushHeaders(); // and nothing more
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    transport = new Transport(base, 500);
  });
  afterAll(async () => {
    transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends Dropbox's API, content and token URLs to the endpoint, keeping the path", () => {
    expect(rewriteUrl('https://api.dropboxapi.com/2/files/list_folder', 'http://127.0.0.1:9/')).toBe(
      'http://127.0.0.1:9/2/files/list_folder',
    );
    expect(rewriteUrl('https://content.dropboxapi.com/2/files/upload', 'https://gw.example/dbx')).toBe(
      'https://gw.example/dbx/2/files/upload',
    );
    expect(rewriteUrl('https://api.dropboxapi.com/oauth2/token', 'http://127.0.0.1:9')).toBe(
      'http://127.0.0.1:9/oauth2/token',
    );
    expect(rewriteUrl('https://api.dropboxapi.com.evil.example/x', 'http://127.0.0.1:9')).toBe(
      'https://api.dropboxapi.com.evil.example/x',
    );
    expect(rewriteUrl('https://content.dropboxapi.com/2/files/upload', undefined)).toBe(
      'https://content.dropboxapi.com/2/files/upload',
    );
  });

  it('reads every chunked answer whole over reused keep-alive connections (no answer is lost or left waiting)', async () => {
    const fetch = transport.fetch();
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => fetch(`https://api.dropboxapi.com/chunked`).then((r) => r.json())),
      );
      expect(answers).toEqual(Array.from({ length: 8 }, () => ({ ok: true })));
    }
  });

  it('reads whole chunked answers that arrive in one packet, over one reused keep-alive connection', async () => {
    // Each answer, headers and body, in one write: the answer has ended before fetch's caller runs.
    const sockets = new Set<Socket>();
    const raw: TcpServer = createTcpServer((socket) => {
      sockets.add(socket);
      let pending = '';
      socket.on('data', (d: Buffer) => {
        pending += d.toString('latin1');
        while (pending.includes('\r\n\r\n')) {
          pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
          socket.write(
            'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n' +
              'connection: keep-alive\r\n\r\n6\r\n{"ok":\r\n5\r\ntrue}\r\n0\r\n\r\n',
          );
        }
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const t = new Transport(`http://127.0.0.1:${(raw.address() as AddressInfo).port}`, 2000);
    try {
      const fetch = t.fetch();
      for (let i = 0; i < 50; i++)
        expect(await (await fetch('https://api.dropboxapi.com/x')).json()).toEqual({ ok: true });
      expect(sockets.size).toBe(1); // one keep-alive connection, reused
    } finally {
      t.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it('fails at once, as a premature close, when the connection ends before an answer with a Content-Length does', async () => {
    const err = await transport
      .fetch()('https://content.dropboxapi.com/cut')
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(err?.code).toBe('ERR_STREAM_PREMATURE_CLOSE');
  });

  it('gives up on an answer that stops coming, with ETIMEDOUT', async () => {
    const err = await transport
      .fetch()('https://api.dropboxapi.com/silent')
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(err?.code).toBe('ETIMEDOUT');
  });

  it("stops a request when the operation's signal aborts", async () => {
    const controller = new AbortController();
    const pending = transport.fetch(controller.signal)('https://api.dropboxapi.com/silent');
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
