import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault-injecting HTTP proxy for integration tests: it sits between Ferry and a real (or emulated)
 * server on 127.0.0.1 and, as the test's schedule says, resets connections, answers 500/502/503,
 * answers 429 with Retry-After, or stalls a response. Everything else is forwarded byte for byte.
 * It also counts the request body bytes it forwards, so a test can prove a resumed upload sent less.
 */
export type Fault = 'reset' | '500' | '502' | '503' | '429' | 'stall';

export type ProxyRequest = { method: string; url: string; n: number };

export type FaultProxyOptions = {
  /** Decides, per request (n counts from 1), whether to inject a fault. */
  faults?: (req: ProxyRequest) => Fault | undefined;
  /** Seconds sent in Retry-After with a 429 (default 1). */
  retryAfterSec?: number;
  /** How long a stalled response holds before the socket is destroyed (default 30 s). */
  stallMs?: number;
};

export type FaultProxy = {
  url: string;
  stats: { requests: number; forwarded: number; bodyBytes: number; faults: Record<Fault, number> };
  /** Replace the schedule while running. */
  setFaults: (f: FaultProxyOptions['faults']) => void;
  close: () => Promise<void>;
};

/** A schedule that injects `fault` on every n-th request matching `when` (default: every request). */
export function everyNth(
  n: number,
  fault: Fault,
  when: (r: ProxyRequest) => boolean = () => true,
): (r: ProxyRequest) => Fault | undefined {
  let seen = 0;
  return (r) => (when(r) && ++seen % n === 0 ? fault : undefined);
}

export async function startFaultProxy(target: string, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let faults = opts.faults;
  const stats: FaultProxy['stats'] = {
    requests: 0,
    forwarded: 0,
    bodyBytes: 0,
    faults: { reset: 0, '500': 0, '502': 0, '503': 0, '429': 0, stall: 0 },
  };
  const sockets = new Set<Socket>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const fault = faults?.({ method: req.method ?? 'GET', url: req.url ?? '/', n: stats.requests });
    if (fault) stats.faults[fault]++;
    if (fault === 'reset') {
      // Read a little of the body first, as a real network failure mid-upload would.
      req.once('data', () => req.socket.destroy());
      req.once('end', () => req.socket.destroy());
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (fault === '500' || fault === '502' || fault === '503' || fault === '429') {
      req.resume();
      req.on('end', () => {
        const headers: Record<string, string> = { 'content-type': 'text/plain', connection: 'close' };
        if (fault === '429') headers['retry-after'] = String(opts.retryAfterSec ?? 1);
        res.writeHead(Number(fault), headers);
        res.end(fault === '429' ? 'slow down' : 'injected failure');
      });
      return;
    }
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (upRes) => {
        if (fault === 'stall') {
          // Headers go out, the body never does: the client's timeout must notice.
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.flushHeaders();
          upRes.resume();
          setTimeout(() => res.socket?.destroy(), opts.stallMs ?? 30_000).unref();
          return;
        }
        stats.forwarded++;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.on('data', (chunk: Buffer) => (stats.bodyBytes += chunk.length));
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    setFaults: (f) => (faults = f),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
