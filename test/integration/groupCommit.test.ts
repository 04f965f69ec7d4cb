import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, syncJson } from '../helpers/cli';
import { prng, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

/**
 * Group commit at a local destination (providers/local/groupCommit.ts): a batch's temporaries are
 * flushed, then renamed, then their folders flushed, then the batch recorded. SIGKILL leaves the page
 * cache intact, so it cannot show a rename that came before its data was on disk; the order is read
 * from the durability log the process writes under FERRY_FS_LOG (durabilityLog.ts) instead.
 */

type Step = { step: string; fields: string[] };

function readLog(file: string): Step[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [step = '', ...fields] = line.split('\t');
      return { step, fields };
    });
}

/**
 * Every breach of "published only when durable" in a log: a rename onto a final name before its
 * temporary's data was flushed; a record of a file before its rename, before its folder was flushed
 * after the rename, or before a folder Ferry made on its way was flushed in its parent.
 */
function orderBreaches(log: readonly Step[], destRoot: string): string[] {
  const breaches: string[] = [];
  const flushedData = new Set<string>();
  const renamedAt = new Map<string, number>();
  const madeAt = new Map<string, number>();
  const dirFlushes = new Map<string, number[]>();
  const flushedAfter = (dir: string, at: number, before: number) =>
    (dirFlushes.get(dir) ?? []).some((i) => i > at && i < before);
  log.forEach(({ step, fields }, i) => {
    if (step === 'fdatasync') flushedData.add(fields[0] as string);
    else if (step === 'mkdir') madeAt.set(fields[0] as string, i);
    else if (step === 'fsync-dir')
      dirFlushes.set(fields[0] as string, [...(dirFlushes.get(fields[0] as string) ?? []), i]);
    else if (step === 'rename') {
      const [tmp, target] = fields as [string, string];
      if (!flushedData.has(tmp)) breaches.push(`${target} renamed into place before its data was flushed`);
      renamedAt.set(target, i);
    } else if (step === 'recorded') {
      for (const remotePath of fields.slice(1)) {
        const target = join(destRoot, ...remotePath.split('/'));
        const at = renamedAt.get(target);
        if (at === undefined) {
          breaches.push(`${remotePath} recorded, never renamed into place`);
          continue;
        }
        if (!flushedAfter(dirname(target), at, i))
          breaches.push(`${remotePath} recorded before its folder was flushed after its rename`);
        for (let d = dirname(target); d !== destRoot; d = dirname(d)) {
          const made = madeAt.get(d);
          if (made !== undefined && !flushedAfter(dirname(d), made, i))
            breaches.push(`${remotePath} recorded before the folder made for it (${d}) was flushed in its parent`);
        }
      }
    }
  });
  return [...new Set(breaches)];
}

/** 600 small files in six folders, some two levels down (folders Ferry makes), and one of 2 MiB. */
function writeTree(src: string): string[] {
  const rnd = prng(18);
  const paths: string[] = [];
  for (let i = 0; i < 600; i++) {
    const dir = i % 3 === 0 ? `deep/n${i % 6}` : `d${i % 6}`;
    paths.push(`${dir}/f${String(i).padStart(4, '0')}.dat`);
  }
  paths.push('big/large.bin');
  for (const p of paths) {
    const abs = join(src, p);
    mkdirSync(dirname(abs), { recursive: true });
    const size = p.endsWith('.bin') ? 2 * 1024 * 1024 : 1 + Math.floor(rnd() * 8192);
    writeFileSync(abs, Buffer.from(Array.from({ length: size }, () => Math.floor(rnd() * 256))));
  }
  return paths.sort();
}

function withoutTemps(snap: Map<string, string>): Map<string, string> {
  return new Map([...snap].filter(([p]) => !(p.split('/').pop() as string).startsWith('.ferrytmp-')));
}

describe('group commit: the order of a batch', () => {
  let ws: Workspace;
  let paths: string[];
  let log: Step[];
  beforeAll(async () => {
    ws = workspace({ rules: [{ mode: 'mirror' }] });
    paths = writeTree(ws.src);
    const fsLog = join(ws.root, 'fs.log');
    const r = await syncJson(ws.config, ws.state, { env: { FERRY_FS_LOG: fsLog } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    log = readLog(fsLog);
  }, 120_000);
  afterAll(() => ws.cleanup());

  it('flushes each file before its rename, and its folders after, before recording it', () => {
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
    const recorded = log.filter((s) => s.step === 'recorded').flatMap((s) => s.fields.slice(1));
    expect(recorded.sort()).toEqual(paths);
    expect(orderBreaches(log, ws.dest)).toEqual([]);
  });

  it('costs one fdatasync per file, and folder flushes and transactions per batch, not per file', () => {
    const count = (step: string) => log.filter((s) => s.step === step).length;
    const files = paths.length;
    expect(count('fdatasync')).toBe(files);
    // Batches of up to 256 small files (the big one goes alone), read from the queue in pages of 512.
    const batches = count('recorded');
    expect(batches).toBeGreaterThanOrEqual(Math.ceil((files - 1) / 256) + 1);
    expect(batches).toBeLessThanOrEqual(2 * Math.ceil(files / 512) + 1);
    // Each batch flushes each folder it wrote to once, and the parents of folders it made: nine
    // folders, their two parents and the root at most.
    expect(count('fsync-dir')).toBeLessThanOrEqual(batches * 12);
  });
});

describe('group commit: SIGKILL at each step of a batch, then a re-run', () => {
  // A file in the middle of the second batch; the big file goes alone, by the same steps.
  it.each([
    ['batch-written', 'd1/f0301.dat'],
    ['batch-synced', 'd1/f0301.dat'],
    ['batch-renamed', 'd1/f0301.dat'],
    ['batch-flushed', 'd1/f0301.dat'],
    ['published', 'd1/f0301.dat'],
    ['batch-synced', 'big/large.bin'],
    ['batch-renamed', 'big/large.bin'],
  ] as const)(
    'killed at %s of %s: no partial file under a final name, nothing recorded lost, the next run converges',
    async (point, victim) => {
      const ws = workspace({ rules: [{ mode: 'mirror' }] });
      try {
        const paths = writeTree(ws.src);
        expect(paths).toContain(victim);
        const fsLog = join(ws.root, 'fs.log');
        const killed = await runFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], {
          env: { FERRY_KILL_POINT: `${point}:${victim}`, FERRY_FS_LOG: fsLog },
        });
        expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');

        const log = readLog(fsLog);
        expect(orderBreaches(log, ws.dest)).toEqual([]);
        const src = snapshot(ws.src);
        const there = withoutTemps(snapshot(ws.dest));
        for (const [path, hash] of there) expect(hash, `${path} is not its source's content`).toBe(src.get(path));
        // What was recorded before the kill is at the destination.
        for (const path of log.filter((s) => s.step === 'recorded').flatMap((s) => s.fields.slice(1)))
          expect(there.get(path), `${path} was recorded, and is not at the destination`).toBe(src.get(path));
        const victimAt = join(ws.dest, ...victim.split('/'));
        const renamed = log.some((s) => s.step === 'rename' && s.fields[1] === victimAt);
        const beforeRename = point === 'batch-written' || point === 'batch-synced';
        expect(renamed, `${victim} renamed into place when killed at ${point}`).toBe(!beforeRename);
        expect(there.has(victim)).toBe(!beforeRename);

        const r = await syncJson(ws.config, ws.state);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(snapshot(ws.dest)).toEqual(src);
        const again = await syncJson(ws.config, ws.state);
        expect(again.code).toBe(0);
        expect(again.summary?.stats.done).toBe(0);
      } finally {
        ws.cleanup();
      }
    },
    120_000,
  );
});
