import { createHash } from 'node:crypto';
import { connect } from 'node:net';

/** A WebDAV server a test started on 127.0.0.1 (nginx, Apache httpd), stopped by PID. */
export type DavServer = {
  /** The WebDAV root's URL (no trailing slash). */
  url: string;
  port: number;
  pid: number;
  /** The folder the server's files live in: the test's independent look at what arrived. */
  dataDir: string;
  user: string;
  pass: string;
  /** Work folder of this server (config, logs, temporary files). */
  dir: string;
  /** The server's error log so far (for failure messages). */
  log: () => string;
  stop: () => Promise<void>;
};

/** Waits until something accepts connections on the port, or `alive()` says the server gave up. */
export async function waitForListener(
  port: number,
  alive: () => boolean,
  log: () => string,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`${what} exited before listening on ${port}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to a server's master process, SIGKILL after 5 s; resolves once it is gone. */
export async function stopPid(pid: number): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** A `{SHA}` password hash (base64 SHA-1), which both nginx and Apache read from a user file: no tool needed. */
export function shaPassword(pass: string): string {
  return `{SHA}${createHash('sha1').update(pass).digest('base64')}`;
}
