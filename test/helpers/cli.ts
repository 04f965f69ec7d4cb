import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', 'out', 'node', 'cli.js');

/** Tests run as root in CI, where permissions do not bite: such tests run Ferry as `nobody` instead. */
export const RUN_AS_NOBODY = process.getuid?.() === 0;
export const NOBODY = 65534;

export type RunResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export type SpawnOpts = { asNobody?: boolean; env?: NodeJS.ProcessEnv };

export function spawnFerry(args: string[], opts: SpawnOpts = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    ...(opts.asNobody && RUN_AS_NOBODY ? { uid: NOBODY, gid: NOBODY } : {}),
  });
}

export function runFerry(args: string[], opts: SpawnOpts = {}): Promise<RunResult> {
  const child = spawnFerry(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `ferry sync --once --json` and parses its summary. */
export async function syncJson(config: string, stateDir: string, opts: SpawnOpts & { extra?: string[] } = {}) {
  const r = await runFerry(
    ['sync', '--once', '--json', '--config', config, '--state-dir', stateDir, ...(opts.extra ?? [])],
    opts,
  );
  let summary: SyncJson | undefined;
  try {
    summary = JSON.parse(r.stdout) as SyncJson;
  } catch {
    summary = undefined;
  }
  return { ...r, summary };
}

export type SyncJson = {
  ok: boolean;
  stats: { done: number; skipped: number; failed: number; bytes: number };
  inSync: number;
  unmatched: number;
  /** Files no rule catches: listed, never silently dropped. */
  uncaught: { folder: string; path: string }[];
  /** Files with fewer verified copies than their rule requires (safe_when). */
  belowQuorum: number;
  cleanedPartials: number;
  destinationErrors: { destination: string; error: { message: string; hint?: string } }[];
  scanIssues: { folder: string; path: string; code: string; message: string; blocking: boolean }[];
  problems: { kind: string }[];
  failures: { path: string; destination: string | null; error: { kind: string; message: string; hint?: string } }[];
};

/** Opens a test directory to `nobody` when tests run as root (see RUN_AS_NOBODY). */
export function openToAll(dir: string): void {
  if (RUN_AS_NOBODY) chmodSync(dir, 0o777);
}
