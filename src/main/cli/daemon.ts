import { existsSync, readFileSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FerryConfig } from '../../shared/config';
import type { EngineDeps } from '../engine/runSteps';
import { fileLogger, streamLogger, type Logger } from '../engine/log';
import { SyncService } from '../engine/syncService';

export type DaemonOptions = { pidfile?: string; logFile?: string };

/** Writes every event worth keeping to the log: transfers, failures, warnings, folder states. */
function logEvents(deps: EngineDeps, log: Logger): () => void {
  const offs = [
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
  stderr: NodeJS.WriteStream,
): Promise<number> {
  const log = opts.logFile ? fileLogger(opts.logFile) : streamLogger(stderr);
  const detach = logEvents(deps, log);
  const service = new SyncService(cfg, deps);
  let stopping: Promise<void> | undefined;
  let asked: () => void = () => undefined;
  const stopAsked = new Promise<void>((resolve) => (asked = resolve));
  const stop = (signal: string) => {
    log('info', `received ${signal}: stopping`);
    stopping ??= service.stop();
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
    await service.start();
    log('info', 'daemon started', {
      pid: process.pid,
      folders: cfg.folders.map((f) => f.id),
      destinations: cfg.destinations.map((d) => d.id),
    });
    await stopAsked;
    await stopping;
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
  if (!alive(pid)) {
    unlinkSync(pidfile);
    out.write(`ferry: the daemon (pid ${pid}) is not running any more; removed the stale ${pidfile}\n`);
    return 3;
  }
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    out.write(`ferry: the daemon (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)} s\n`);
    return 1;
  }
  out.write(`stopped the daemon (pid ${pid})\n`);
  return 0;
}
