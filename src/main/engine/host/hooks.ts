import { spawn } from 'node:child_process';
import type { FerryConfig, HookConfig } from '../../../shared/config';
import type { SerializedError } from '../../../shared/errors';
import type { TransferRef } from '../../../shared/events';
import type { EventBus } from '../events';
import type { Logger } from '../diagnostics/log';
import { resolveSecret } from '../secrets/secrets';

/** What a hook receives: the event as JSON (stdin for a command, the body for a URL). */
export type HookPayload = TransferRef & {
  event: 'transfer.completed' | 'transfer.failed';
  at: string;
  bytes?: number;
  durationMs?: number;
  error?: SerializedError;
};

type Pending = { hook: HookConfig; payload: HookPayload };

const MAX_QUEUE = 1000;

/**
 * Runs the hooks of the settings and of each transfer's rule (the event-driven idea: other systems
 * react to what Ferry ships). Hooks run beside the sync, two at a time, each with a timeout; a hook
 * that fails or hangs is logged and never holds a transfer back.
 */
export class HookRunner {
  private readonly queue: Pending[] = [];
  private running = 0;
  private idle: (() => void)[] = [];
  private offs: (() => void)[] = [];

  constructor(
    private readonly cfg: FerryConfig,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly concurrency = 2,
  ) {}

  start(): this {
    this.offs = [
      this.events.on('transfer:done', (t) => {
        if (t.outcome === 'done')
          this.fire({
            ...t,
            event: 'transfer.completed',
            at: new Date().toISOString(),
            bytes: t.bytes,
            durationMs: t.durationMs,
          });
      }),
      this.events.on('transfer:failed', (t) =>
        this.fire({ ...t, event: 'transfer.failed', at: new Date().toISOString(), error: t.error }),
      ),
    ];
    return this;
  }

  private hooksFor(rule: string): HookConfig[] {
    return [...this.cfg.settings.hooks, ...(this.cfg.rules.find((r) => r.name === rule)?.hooks ?? [])];
  }

  private fire(payload: HookPayload): void {
    for (const hook of this.hooksFor(payload.rule)) {
      if (!hook.on.includes(payload.event)) continue;
      if (this.queue.length >= MAX_QUEUE) {
        this.log('warn', 'hook queue full: an event was not delivered', { event: payload.event, path: payload.path });
        continue;
      }
      this.queue.push({ hook, payload });
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const next = this.queue.shift() as Pending;
      this.running++;
      void this.run(next).finally(() => {
        this.running--;
        if (this.running === 0 && this.queue.length === 0) for (const done of this.idle.splice(0)) done();
        this.pump();
      });
    }
  }

  private async run({ hook, payload }: Pending): Promise<void> {
    const body = JSON.stringify(payload);
    try {
      if (hook.command !== undefined) await runCommand(hook.command, body, payload, hook.timeout * 1000);
      else if (hook.url !== undefined)
        await postJson(
          hook.url,
          body,
          hook.token ? resolveSecret(hook.token, `hook ${hook.url}`) : undefined,
          hook.timeout * 1000,
        );
    } catch (err) {
      this.log('warn', `hook failed: ${(err as Error).message}`, {
        hook: hook.command ?? hook.url,
        event: payload.event,
        path: payload.path,
      });
    }
  }

  /** Resolves when every queued hook has run (a one-shot sync waits for this before exiting). */
  drained(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
  }
}

function runCommand(command: string, stdin: string, p: HookPayload, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const shell =
      process.platform === 'win32'
        ? { file: 'cmd.exe', args: ['/d', '/s', '/c', command] }
        : { file: '/bin/sh', args: ['-c', command] };
    const child = spawn(shell.file, shell.args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: timeoutMs,
      env: {
        ...process.env,
        FERRY_EVENT: p.event,
        FERRY_RULE: p.rule,
        FERRY_FOLDER: p.folder,
        FERRY_PATH: p.path,
        FERRY_DESTINATION: p.destination ?? '',
        FERRY_REMOTE_PATH: p.remotePath ?? '',
      },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `\`${command}\` ${signal ? `was stopped (${signal}, timeout ${timeoutMs / 1000} s)` : `exited with ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`,
          ),
        );
    });
  });
}

async function postJson(url: string, body: string, token: string | undefined, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}`);
}
