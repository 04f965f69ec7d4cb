import { timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiError, FerryApi } from '../../shared/contract';
import { bigintReplacer } from '../../shared/json';
import { call, toApiError } from '../engine/host/api';
import type { EventBus } from '../engine/events';
import type { Logger } from '../engine/diagnostics/log';
import { FANOUT_LIMITS, outgoing, Subscriber, type FanoutLimits } from './eventFanout';
import {
  decodePath,
  HOST_REFUSED,
  hostAllowed,
  readBody,
  RequestRefused,
  requestUrl,
  type BodyLimits,
} from './requestGuards';

export type ServerOptions = {
  host: string;
  port: number;
  token: string;
  api: FerryApi;
  events: EventBus;
  /** The built window (out/renderer), served at / unless --no-webapp. */
  webappDir?: string | undefined;
  log: Logger;
  /** Body size and time limits (tests shorten them). */
  limits?: Partial<ServerLimits>;
  fanout?: FanoutLimits;
};

export type ServerLimits = BodyLimits & {
  /** Node's own: the whole request, and its headers, must arrive within these. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
};

const DEFAULT_LIMITS: ServerLimits = {
  maxBytes: 10 * 1024 * 1024,
  deadlineMs: 30_000,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 15_000,
};

export type RunningServer = { url: string; close(): Promise<void> };

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
  const text = JSON.stringify(body, bigintReplacer);
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

  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req.headers.host, opts.host)) throw HOST_REFUSED(req.headers.host);
    const url = requestUrl(req);
    if (!originOk(req))
      return apiError(res, 403, 'forbidden-origin', `requests from ${req.headers.origin} are not allowed`);
    if (!url.pathname.startsWith('/api/')) return serveStatic(res, decodePath(url.pathname), opts.webappDir);
    if (!tokenOk(bearer(req)))
      return apiError(res, 401, 'unauthorized', 'a valid token is required (Authorization: Bearer <token>)');
    if (req.method !== 'POST') return apiError(res, 405, 'method-not-allowed', 'use POST');
    const name = decodePath(url.pathname.slice('/api/'.length));
    const body = await readBody(req, limits);
    let input: unknown = {};
    try {
      input = body.trim() === '' ? {} : (JSON.parse(body) as unknown);
    } catch (err) {
      return apiError(res, 400, 'bad-request', `the body is not valid JSON: ${(err as Error).message}`);
    }
    try {
      return json(res, 200, await call(opts.api, name, input));
    } catch (err) {
      const { status, body: answer } = toApiError(err);
      if (status === 500) opts.log('error', 'api request failed', { request: name, error: answer.error.message });
      return json(res, status, answer);
    }
  };

  // No request, however malformed, ends the process: what cannot be served is refused, and the rest goes on.
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      // How often Node looks for requests past those timeouts (its default, 30 s, lets them linger).
      connectionsCheckingInterval: Math.max(100, Math.min(limits.headersTimeoutMs / 2, 5000)),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        const refused = err instanceof RequestRefused;
        if (!refused) opts.log('error', 'request failed', { url: req.url, error: (err as Error).message });
        if (res.headersSent) return void res.destroy();
        if (refused && err.status === 413 && !req.complete) discardRest(req, limits.maxBytes);
        else res.setHeader('connection', 'close');
        if (refused) apiError(res, err.status, err.code, err.message);
        else apiError(res, 500, 'internal', 'the request could not be served');
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node lets go of an upgraded socket's errors: without this, a reset during the handshake ends the process.
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      if (!hostAllowed(req.headers.host, opts.host)) return refuse(421, 'Misdirected Request');
      const url = requestUrl(req);
      if (url.pathname !== '/api/events') return refuse(404, 'Not Found');
      if (!originOk(req)) return refuse(403, 'Forbidden');
      if (!tokenOk(url.searchParams.get('token') ?? bearer(req))) return refuse(401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
    } catch {
      refuse(400, 'Bad Request');
    }
  });

  // Each event is wrapped (and serialized) once, however many windows listen.
  const subscribers = new Set<Subscriber>();
  const offEvents = opts.events.onAny((event, payload) => {
    if (subscribers.size === 0) return;
    const o = outgoing(event, payload);
    for (const s of subscribers) s.push(o);
  });
  const attach = (ws: WebSocket) => {
    const subscriber = new Subscriber(ws, opts.fanout ?? FANOUT_LIMITS);
    subscribers.add(subscriber);
    const detach = () => {
      subscribers.delete(subscriber);
      subscriber.close();
    };
    ws.on('close', detach);
    ws.on('error', detach);
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
        offEvents();
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A client still sending a refused body only reads the answer once its upload ends: the rest is read and
 * dropped, up to the limit once more, past which the connection is cut.
 */
function discardRest(req: IncomingMessage, maxBytes: number): void {
  let dropped = 0;
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > maxBytes) req.socket.destroy();
  });
  req.resume();
}

function serveStatic(res: ServerResponse, path: string, root: string | undefined): void {
  if (!root || !existsSync(root)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The web app is not served here (started with --no-webapp, or not built: npm run build).\n');
    return;
  }
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
  // A file that goes away mid-read (a rebuild) cuts this answer, not the process.
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}
