import { describeLimit } from '../../shared/bandwidthSchedule';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FerryConfig } from '../../shared/config';
import type { StatusResult } from '../../shared/contract';
import type { EngineDeps } from '../engine/sync/runSteps';
import { fileLogger, streamLogger, type Logger } from '../engine/diagnostics/log';
import { EngineHost } from '../engine/host/engineHost';
import { privateFile } from '../engine/store/stateDir';
import { isAlive } from '../engine/store/stateLock';
import { startServer } from '../server/httpServer';

export type DaemonOptions = {
  configPath: string;
  stateDir: string;
  host: string;
  port: number;
  webapp: boolean;
  pidfile?: string | undefined;
  logFile?: string | undefined;
};

/** Where a running daemon says how to reach it: read by `ferry status`. Private to the user (0600). */
export function daemonInfoPath(stateDir: string): string {
  return join(stateDir, 'daemon.json');
}

export type DaemonInfo = { pid: number; url: string; token: string; startedAt: number };

/** Writes every event worth keeping to the log: transfers, failures, warnings, folder states. */
function logEvents(deps: EngineDeps, log: Logger): () => void {
  // Every pass reports what the brake holds: logged when that changes, not every pass.
  let lastHeld = '[]';
  const offs = [
    deps.events.on('deletions:held', ({ held }) => {
      const now = JSON.stringify(held);
      if (now === lastHeld) return;
      lastHeld = now;
      for (const h of held)
        log('warn', `deletions held: rule ${h.rule} would delete ${h.deletes} of ${h.total} files at ${h.where}`, {
          hint: `ferry confirm-deletes ${JSON.stringify(h.rule)} lets them through; putting the files back clears the hold`,
        });
    }),
    deps.events.on('transfer:done', (t) =>
      log('info', 'transfer done', {
        kind: t.kind,
        folder: t.folder,
        path: t.path,
        destination: t.destination,
        bytes: t.bytes,
        ms: t.durationMs,
      }),
    ),
    deps.events.on('transfer:failed', (t) =>
      log('error', 'transfer failed', {
        kind: t.kind,
        folder: t.folder,
        path: t.path,
        destination: t.destination,
        error: t.error,
      }),
    ),
    deps.events.on('transfer:stopped', (t) =>
      log('info', t.reason === 'paused' ? 'transfer paused' : 'transfer cancelled', {
        folder: t.folder,
        path: t.path,
        destination: t.destination,
        ms: t.durationMs,
      }),
    ),
    deps.events.on('transfer:retry', (t) =>
      log('warn', 'transfer retried', { path: t.path, attempt: t.attempt, delayMs: t.delayMs, error: t.error.message }),
    ),
    deps.events.on('warning', (w) => log('warn', w.message, { folder: w.folder, destination: w.destination })),
    deps.events.on('destination:error', (d) =>
      log('error', 'destination unavailable', { destination: d.destination, error: d.error }),
    ),
    deps.events.on('scan:issue', (i) =>
      log(i.blocking ? 'error' : 'info', i.message, { folder: i.folder, path: i.path, code: i.code }),
    ),
    deps.events.on('scan:done', (d) => log('info', 'scan done', { ...d })),
    deps.events.on('folder:status', (f) => log('debug', 'folder status', { ...f })),
    deps.events.on('service:status', (s) => log('info', `service ${s.state}`)),
  ];
  return () => offs.forEach((off) => off());
}

/**
 * Runs the live service until SIGTERM or SIGINT, then stops it gracefully: running transfers are
 * interrupted and stay queued, nothing is left half-recorded. Resolves to the exit code.
 */
export async function runDaemon(
  cfg: FerryConfig,
  deps: EngineDeps,
  opts: DaemonOptions,
  stdout: NodeJS.WriteStream,
  stderr: NodeJS.WriteStream,
): Promise<number> {
  const log = opts.logFile ? fileLogger(opts.logFile) : streamLogger(stderr);
  const detach = logEvents(deps, log);
  const host = new EngineHost(cfg, deps, opts.configPath, log, { face: 'daemon', stateDir: opts.stateDir });
  let stopping: Promise<void> | undefined;
  let asked: () => void = () => undefined;
  const stopAsked = new Promise<void>((resolve) => (asked = resolve));
  const stop = (signal: string) => {
    log('info', `received ${signal}: stopping`);
    stopping ??= Promise.resolve().then(() => host.stop());
    asked();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    if (opts.pidfile) {
      mkdirSync(dirname(opts.pidfile), { recursive: true });
      writeFileSync(opts.pidfile, `${process.pid}\n`);
    }
    if (!['127.0.0.1', '::1', 'localhost'].includes(opts.host))
      log(
        'warn',
        `serving on ${opts.host}: other machines can reach the API (the token still guards it); use 127.0.0.1 unless that is what you want`,
      );
    const token = randomBytes(32).toString('base64url');
    const server = await startServer({
      host: opts.host,
      port: opts.port,
      token,
      api: host.api,
      events: deps.events,
      webappDir: opts.webapp ? join(__dirname, '..', 'renderer') : undefined,
      log,
    });
    const info: DaemonInfo = { pid: process.pid, url: server.url, token, startedAt: Date.now() };
    // The token is in it: an existing file with a looser mode is closed up before the token is written.
    privateFile(daemonInfoPath(opts.stateDir));
    writeFileSync(daemonInfoPath(opts.stateDir), JSON.stringify(info), { mode: 0o600 });
    stdout.write(`Ferry daemon (pid ${process.pid}) on ${server.url}\ntoken: ${token}\n`);
    // The window in a browser: the token rides in the fragment, which browsers never send to a server.
    if (opts.webapp) stdout.write(`window: ${server.url}/#token=${token}\n`);
    await host.start();
    log('info', 'daemon started', { pid: process.pid, url: server.url, folders: cfg.folders.map((f) => f.id) });
    await stopAsked;
    await stopping;
    await server.close();
    rmSync(daemonInfoPath(opts.stateDir), { force: true });
    log('info', 'daemon stopped');
    return 0;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    detach();
    if (opts.pidfile && readPid(opts.pidfile) === process.pid) unlinkSync(opts.pidfile);
  }
}

export function readPid(pidfile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidfile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** `ferry stop`: asks the daemon to stop (SIGTERM) and waits until it has. */
export async function stopDaemon(
  pidfile: string,
  out: { write(s: string): unknown },
  timeoutMs = 60_000,
): Promise<number> {
  const pid = readPid(pidfile);
  if (pid === undefined) {
    out.write(
      `ferry: no daemon is running: ${existsSync(pidfile) ? `${pidfile} holds no process id` : `${pidfile} does not exist`}\n`,
    );
    return 3;
  }
  if (!isAlive(pid)) {
    unlinkSync(pidfile);
    out.write(`ferry: the daemon (pid ${pid}) is not running any more; removed the stale ${pidfile}\n`);
    return 3;
  }
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    out.write(`ferry: the daemon (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)} s\n`);
    return 1;
  }
  out.write(`stopped the daemon (pid ${pid})\n`);
  return 0;
}

/** Calls one request of the contract on the daemon that runs with `stateDir`; writes why not to `err`. */
async function daemonCall<T>(
  stateDir: string,
  name: string,
  body: unknown,
  err: { write(s: string): unknown },
): Promise<{ ok: true; status: number; body: T } | { ok: false }> {
  let info: DaemonInfo;
  try {
    info = JSON.parse(readFileSync(daemonInfoPath(stateDir), 'utf8')) as DaemonInfo;
  } catch {
    err.write(`ferry: no daemon is running for the state directory ${stateDir} (start one with ferry daemon)\n`);
    return { ok: false };
  }
  try {
    const res = await fetch(`${info.url}/api/${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { ok: true, status: res.status, body: (await res.json()) as T };
  } catch (e) {
    err.write(`ferry: the daemon at ${info.url} does not answer (${(e as Error).message}); it may have stopped\n`);
    return { ok: false };
  }
}

/** `ferry status`: asks the running daemon how things are. */
export async function daemonStatus(
  stateDir: string,
  json: boolean,
  out: { write(s: string): unknown },
  err: { write(s: string): unknown },
): Promise<number> {
  const answer = await daemonCall<StatusResult>(stateDir, 'status:get', {}, err);
  if (!answer.ok) return 3;
  const status = answer.body;
  if (json) {
    out.write(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  out.write(`${status.summary}\n`);
  for (const h of status.heldDeletions)
    out.write(
      `  held: rule ${h.rule} would delete ${h.deletes} of ${h.total} files at ${h.where} — if that is meant, run: ferry confirm-deletes ${JSON.stringify(h.rule)}\n`,
    );
  for (const f of status.folders)
    out.write(
      `  folder ${f.folder}: ${f.state}, ${f.files} files${f.watcher ? `, ${f.watcher} watcher` : ''}${f.error ? ` — ${f.error}` : ''}\n`,
    );
  for (const d of status.destinations)
    out.write(`  destination ${d.id}: ${d.ok ? 'ok' : `unavailable — ${d.error ?? ''}`}\n`);
  out.write(`  queue: ${status.queue.active} active, ${status.queue.pending} pending, ${status.queue.failed} failed\n`);
  const bw = status.bandwidth;
  if (bw.up > 0 || bw.down > 0 || bw.scheduled)
    out.write(
      `  bandwidth: ${describeLimit(bw)}${bw.until === null ? '' : ` until ${new Date(bw.until).toLocaleString()}`}${bw.scheduled ? ' (schedule)' : ''}\n`,
    );
  return 0;
}

/** Lets the deletions a running daemon holds for `rule` go ahead (the window's "Delete N files"). */
export async function confirmDaemonDeletes(
  stateDir: string,
  rule: string,
  out: { write(s: string): unknown },
  err: { write(s: string): unknown },
): Promise<number> {
  const answer = await daemonCall<{ ok: boolean }>(stateDir, 'sync:confirmDeletes', { rule }, err);
  if (!answer.ok) return 3;
  if (answer.status !== 200 || !answer.body.ok) {
    err.write(`ferry: no deletions are held for rule ${JSON.stringify(rule)} (ferry status lists what is held)\n`);
    return 1;
  }
  out.write(`the deletions held for rule ${JSON.stringify(rule)} go ahead on the next pass\n`);
  return 0;
}
