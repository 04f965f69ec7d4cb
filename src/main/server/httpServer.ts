import { timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiError, FerryApi } from '../../shared/contract';
import { call, toApiError } from '../engine/api';
import type { EventBus } from '../engine/events';
import type { Logger } from '../engine/log';

export type ServerOptions = {
  host: string;
  port: number;
  token: string;
  api: FerryApi;
  events: EventBus;
  /** The built window (out/renderer), served at / unless --no-webapp. */
  webappDir?: string | undefined;
  log: Logger;
};

export type RunningServer = { url: string; close(): Promise<void> };

const MAX_BODY = 10 * 1024 * 1024;
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

function apiError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  issues?: { path: string; message: string }[],
): void {
  const body: ApiError = { error: { code, message, ...(issues ? { issues } : {}) } };
  json(res, status, body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The daemon's face: the contract over HTTP (`POST /api/<request>`), the event stream over a
 * WebSocket (`/api/events`), and the built window at `/`. Every API call needs the token (a bearer
 * header, or `?token=` for the WebSocket, which browsers cannot give headers); a request from a page
 * of another origin is refused, so no website can drive the daemon through the person's browser.
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const expected = Buffer.from(opts.token);
  const tokenOk = (given: string | null | undefined): boolean => {
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === expected.length && timingSafeEqual(b, expected);
  };
  let origins = new Set<string>();
  const originOk = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    return origin === undefined || origins.has(origin);
  };
  const bearer = (req: IncomingMessage): string | undefined =>
    /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!originOk(req))
        return apiError(res, 403, 'forbidden-origin', `requests from ${req.headers.origin} are not allowed`);
      if (url.pathname.startsWith('/api/')) {
        if (!tokenOk(bearer(req)))
          return apiError(res, 401, 'unauthorized', 'a valid token is required (Authorization: Bearer <token>)');
        if (req.method !== 'POST') return apiError(res, 405, 'method-not-allowed', 'use POST');
        const name = decodeURIComponent(url.pathname.slice('/api/'.length));
        let input: unknown = {};
        try {
          const body = await readBody(req);
          input = body.trim() === '' ? {} : (JSON.parse(body) as unknown);
        } catch (err) {
          return apiError(res, 400, 'bad-request', `the body is not valid JSON: ${(err as Error).message}`);
        }
        try {
          return json(res, 200, await call(opts.api, name, input));
        } catch (err) {
          const { status, body } = toApiError(err);
          if (status === 500) opts.log('error', 'api request failed', { request: name, error: body.error.message });
          return json(res, status, body);
        }
      }
      return serveStatic(req, res, opts.webappDir);
    })();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/api/events') return refuse(404, 'Not Found');
    if (!originOk(req)) return refuse(403, 'Forbidden');
    if (!tokenOk(url.searchParams.get('token') ?? bearer(req))) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const attach = (ws: WebSocket) => {
    const off = opts.events.onAny((event, payload) => {
      // A slow client misses progress ticks rather than making the daemon buffer without end.
      if (event === 'transfer:progress' && ws.bufferedAmount > 1024 * 1024) return;
      ws.send(JSON.stringify({ event, payload }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    });
    ws.on('close', off);
    ws.on('error', off);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostForUrl}:${port}`;
  origins = new Set([url, `http://localhost:${port}`, `http://127.0.0.1:${port}`]);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function serveStatic(req: IncomingMessage, res: ServerResponse, root: string | undefined): void {
  if (!root || !existsSync(root)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The web app is not served here (started with --no-webapp, or not built: npm run build).\n');
    return;
  }
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  const rel = normalize(path).replace(/^([/\\])+/, '');
  let file = join(root, rel);
  if (!file.startsWith(root + sep) && file !== root) {
    res.writeHead(403).end();
    return;
  }
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  createReadStream(file).pipe(res);
}
