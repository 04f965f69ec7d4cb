import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { spawnFerry } from './cli';
import type { Workspace } from './workspace';

export type Daemon = { child: ChildProcess; url: string; port: number; token: string; stderr: () => string };

/** Starts `ferry daemon` on a free loopback port and waits for its address and token. */
export async function startDaemon(w: Workspace, extra: string[] = []): Promise<Daemon> {
  const child = spawnFerry([
    'daemon',
    '--config',
    w.config,
    '--state-dir',
    w.state,
    '--port',
    '0',
    '--no-webapp',
    '--log-file',
    join(w.root, 'ferry.log'),
    ...extra,
  ]);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const until = Date.now() + 30_000;
  while (!/token: (\S+)/.test(out)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`the daemon did not start: ${out}${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /on (http:\/\/\S+)/.exec(out)?.[1] as string;
  return {
    child,
    url,
    port: Number(new URL(url).port),
    token: /token: (\S+)/.exec(out)?.[1] as string,
    stderr: () => err,
  };
}

export async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGKILL');
  await new Promise((r) => d.child.once('close', r));
}

/** Whether the daemon is still running and answers an API call. */
export async function answers(d: Daemon): Promise<boolean> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return false;
  try {
    const res = await fetch(`${d.url}/api/status:get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}` },
      body: '{}',
      signal: AbortSignal.timeout(10_000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Sends raw bytes on a fresh loopback connection and returns what came back before the server closed
 * it, or `waitMs` passed (then the connection is dropped from this side).
 */
export function rawExchange(port: number, data: Buffer | string, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: '127.0.0.1', port });
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, waitMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', done);
    sock.on('error', done);
    sock.write(data);
  });
}

/** The status code of the first response in `raw`, or 0. */
export const statusOf = (raw: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
