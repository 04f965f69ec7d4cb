/**
 * One watcher backend in a process of its own, driven by test/bench/run.ts (scenario `watchers`), so
 * that its RSS and its inotify watches are its own. Run as
 *   node --import tsx test/bench/watchProbe.ts <native|chokidar> <root> <probes.json>
 * with an IPC channel. It starts the backend on <root> and reports `ready` (time to ready, RSS before
 * and after); on `probe` it rewrites each file of <probes.json> (absolute paths) with its own bytes,
 * one at a time, and reports the time from the write to the backend's first event for that path; on
 * `close` it closes the watcher and exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { watchChokidar, watchNative, type WatchHandle } from '../../src/main/engine/watch/backends';

export type ProbeReady = { type: 'ready'; backend: string; readyMs: number; rssBefore: number; rssAfter: number };
export type ProbeEvents = { type: 'events'; latenciesMs: number[]; events: number };
export type ProbeError = { type: 'error'; message: string };
export type ProbeMessage = ProbeReady | ProbeEvents | ProbeError;

const SAMPLE_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(m: ProbeMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(m, undefined, undefined, () => resolve());
  });
}

async function main(): Promise<void> {
  const [kind, root, probesFile] = process.argv.slice(2);
  if ((kind !== 'native' && kind !== 'chokidar') || !root || !probesFile)
    throw new Error('usage: watchProbe.ts <native|chokidar> <root> <probes.json>');
  if (!process.send) throw new Error('watchProbe.ts needs an IPC channel (spawn it with stdio "ipc")');
  const probes = JSON.parse(readFileSync(probesFile, 'utf8')) as string[];
  // Commands from the bench, queued from the start so that none is lost while the watcher starts.
  const inbox: string[] = [];
  let wake: (() => void) | undefined;
  process.on('message', (m) => {
    inbox.push(String(m));
    wake?.();
  });
  const next = async (): Promise<string> => {
    while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return inbox.shift() as string;
  };

  let waiting: { path: string; resolve: () => void } | undefined;
  let events = 0;
  let watchError: Error | undefined;
  const onPaths = (paths: string[]) => {
    events += paths.length;
    if (waiting && paths.includes(waiting.path)) waiting.resolve();
  };
  const onError = (err: Error) => {
    watchError ??= err;
  };

  const rssBefore = process.memoryUsage.rss();
  const t0 = performance.now();
  const handle: WatchHandle =
    kind === 'native'
      ? await watchNative(root, onPaths, onError, () => undefined)
      : await watchChokidar(root, false, onPaths, onError);
  const readyMs = performance.now() - t0;
  const rssAfter = process.memoryUsage.rss();
  if (watchError) throw watchError;
  await send({ type: 'ready', backend: handle.backend, readyMs, rssBefore, rssAfter });

  for (;;) {
    const cmd = await next();
    if (cmd === 'close') break;
    if (cmd !== 'probe') throw new Error(`unknown command ${cmd}`);
    const latenciesMs: number[] = [];
    events = 0;
    for (const path of probes) {
      const bytes = readFileSync(path);
      await sleep(50); // let the previous sample's trailing events pass
      let timer: NodeJS.Timeout | undefined;
      const seen = new Promise<boolean>((resolve) => {
        waiting = { path, resolve: () => resolve(true) };
        timer = setTimeout(() => resolve(false), SAMPLE_TIMEOUT_MS);
      });
      const start = performance.now();
      writeFileSync(path, bytes); // the same bytes: the data set stays as generated
      const ok = await seen;
      const ms = performance.now() - start;
      clearTimeout(timer);
      waiting = undefined;
      if (watchError) throw watchError;
      if (!ok) throw new Error(`${kind}: no event for ${path} within ${SAMPLE_TIMEOUT_MS / 1000} s of writing it`);
      latenciesMs.push(ms);
    }
    await send({ type: 'events', latenciesMs, events });
  }
  await handle.close();
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${message}\n`);
    await send({ type: 'error', message });
    process.exit(1);
  },
);
