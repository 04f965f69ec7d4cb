import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * `rclone serve webdav DIR` on a free loopback port (apt's rclone; see TEST-SERVERS.md), started and
 * stopped by PID. `--config /dev/null` keeps it from reading anyone's rclone config.
 */
export type RcloneServer = {
  url: string;
  port: number;
  pid: number;
  dir: string;
  user: string;
  pass: string;
  stop: () => Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rclone exited (${child.exitCode}) before listening:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`rclone did not listen on ${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRcloneWebdav(
  dir: string,
  opts: { user?: string; pass?: string; readOnly?: boolean; extra?: string[] } = {},
): Promise<RcloneServer> {
  const user = opts.user ?? 'u';
  const pass = opts.pass ?? 'p';
  // A port can be taken between freePort() and rclone's bind: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = [
      'serve',
      'webdav',
      dir,
      '--addr',
      `127.0.0.1:${port}`,
      '--user',
      user,
      '--pass',
      pass,
      '--config',
      '/dev/null',
      ...(opts.readOnly ? ['--read-only'] : []),
      ...(opts.extra ?? []),
    ];
    const child = spawn('rclone', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    try {
      await waitForPort(port, child, () => stderr);
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt < 3 && /address already in use/i.test(stderr)) continue;
      throw err;
    }
    const pid = child.pid as number;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      pid,
      dir,
      user,
      pass,
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          process.kill(pid, 'SIGTERM');
        }),
    };
  }
}

export type DavFront = { url: string; close: () => Promise<void> };

/**
 * A reverse proxy in front of a WebDAV server that does what a real one (nginx, Apache) must: it
 * rewrites the Destination header of MOVE and COPY to the upstream's host (rclone, like most servers,
 * refuses a Destination on another host with 502). Put it behind test/servers/faultProxy.ts, which
 * forwards headers untouched. Optionally it replaces the credentials (`basic`), lets a test see each
 * request (`inspect`) and adjust each answer's headers (`answer`).
 */
export async function startDavFront(
  target: string,
  opts: {
    basic?: { user: string; pass: string };
    inspect?: (req: IncomingMessage) => void;
    answer?: (req: IncomingMessage, headers: Record<string, string | string[] | undefined>) => void;
  } = {},
): Promise<DavFront> {
  const up = new URL(target);
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    opts.inspect?.(req);
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: up.host };
    if (opts.basic)
      headers.authorization = `Basic ${Buffer.from(`${opts.basic.user}:${opts.basic.pass}`).toString('base64')}`;
    if (typeof headers.destination === 'string')
      headers.destination = headers.destination.replace(/^https?:\/\/[^/]+/i, `${up.protocol}//${up.host}`);
    const fwd = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (r) => {
      const out = { ...r.headers };
      opts.answer?.(req, out);
      res.writeHead(r.statusCode ?? 502, out);
      r.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.on('aborted', () => fwd.destroy());
    req.pipe(fwd);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
