import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/engine/config/loadConfig';
import { EventBus } from '../../src/main/engine/events';
import { fullPassNeeded } from '../../src/main/engine/live/livePath';
import { defaultFactories } from '../../src/main/engine/providers/registry';
import { statementsRun } from '../../src/main/engine/store/db';
import { Store } from '../../src/main/engine/store/store';
import { SyncService } from '../../src/main/engine/sync/syncService';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { workspace, type Workspace } from '../helpers/workspace';

const PER_DIR = 100;

type Live = { w: Workspace; store: Store; workers: FileWorkers; events: EventBus; service: SyncService };
let running: Live | undefined;

afterEach(async () => {
  const l = running;
  running = undefined;
  if (!l) return;
  await l.service.stop();
  await l.workers.close();
  l.store.close();
  l.w.cleanup();
});

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A live service over a folder of `files` small files in folders of 100, synced to a local destination. */
async function liveOver(files: number): Promise<Live> {
  const w = workspace({ rules: [{ mode: 'mirror' }] });
  for (let d = 0; d * PER_DIR < files; d++) {
    mkdirSync(join(w.src, `d${d}`));
    for (let i = 0; i < PER_DIR && d * PER_DIR + i < files; i++)
      writeFileSync(join(w.src, `d${d}`, `f${i}.txt`), `file ${d}/${i}\n`);
  }
  const store = Store.open(w.state);
  const workers = new FileWorkers(1);
  const events = new EventBus();
  const service = new SyncService(
    loadConfig(w.config),
    { store, events, workers, factories: defaultFactories() },
    { aggregator: { settleMs: 30, maxDelayMs: 500, maxPaths: 2000 }, rescanIntervalMs: 3_600_000 },
  );
  const l = (running = { w, store, workers, events, service });
  // The progress model reads the queue on a timer (twice a second while transfers run): its reads are
  // the clock's, not the change's, and are set aside here (measured, not stubbed).
  const queued = store.jobs.queuedByFolder.bind(store.jobs);
  store.jobs.queuedByFolder = () => {
    const a = statementsRun(store.db);
    const out = queued();
    const b = statementsRun(store.db);
    timerReads.statements += b.statements - a.statements;
    timerReads.rows += b.rows - a.rows;
    return out;
  };
  await service.start();
  await until('the first sync', () => existsSync(join(w.dest, `d${Math.ceil(files / PER_DIR) - 1}`)));
  await idle(l);
  return l;
}

const state = new WeakMap<Live, string>();
async function idle(l: Live): Promise<void> {
  if (!state.has(l)) {
    state.set(l, 'syncing');
    l.events.on('service:status', (s) => state.set(l, s.state));
  }
  // The pool drains the initial sync's jobs: wait for every file and a quiet service.
  await until('an idle service', () => state.get(l) === 'idle' && l.store.jobs.counts().pending === 0);
}

const timerReads = { statements: 0, rows: 0 };

type Cost = { statements: number; rows: number; looked: number; read: number; fullPlans: number };

/** One change through the live service until the destination shows it and the service is idle again. */
async function oneChange(l: Live, change: () => void, shipped: () => boolean): Promise<Cost> {
  const db = statementsRun(l.store.db);
  const aside = { ...timerReads };
  const stats = { ...l.service.live.stats };
  change();
  // Nothing here runs SQL while waiting: the cost is the service's alone.
  const passes = (s: typeof stats) => s.incremental + s.full;
  await until('a pass over the change', () => passes(l.service.live.stats) > passes(stats));
  await until('the change shipped', () => shipped() && state.get(l) === 'idle');
  const after = statementsRun(l.store.db);
  return {
    statements: after.statements - db.statements - (timerReads.statements - aside.statements),
    rows: after.rows - db.rows - (timerReads.rows - aside.rows),
    looked: l.service.live.stats.looked - stats.looked,
    read: l.service.live.stats.read - stats.read,
    fullPlans: l.service.live.stats.full - stats.full,
  };
}

async function editCost(files: number): Promise<Cost> {
  const l = await liveOver(files);
  const file = join(l.w.src, 'd3', 'f7.txt');
  const copy = join(l.w.dest, 'd3', 'f7.txt');
  // The first edit prepares what later ones reuse; the second is the one measured.
  await oneChange(
    l,
    () => writeFileSync(file, 'edited once\n'),
    () => readFileSync(copy, 'utf8') === 'edited once\n',
  );
  const cost = await oneChange(
    l,
    () => writeFileSync(file, 'edited twice, longer\n'),
    () => readFileSync(copy, 'utf8') === 'edited twice, longer\n',
  );
  await l.service.stop();
  await l.workers.close();
  l.store.close();
  l.w.cleanup();
  running = undefined;
  return cost;
}

describe('the live path: a change costs what the change is, not what the folder is', () => {
  it('an edit runs the same SQL statements, rows, file-system calls and reads at 1,000 and at 20,000 files', async () => {
    const small = await editCost(1000);
    const large = await editCost(20_000);
    // Before the live path: the same statements, but every shipped record read (1,008 rows, then 20,008).
    expect(large).toEqual(small);
    expect(small.fullPlans).toBe(0);
    // Bounded, whatever the folder: a handful of indexed lookups, one job, one record.
    expect(small.rows).toBeLessThan(30);
    expect(small.statements).toBeLessThan(60);
    expect(small.read).toBe(1);
    expect(small.looked).toBeLessThan(10);
  }, 600_000);

  it('plans a rename as a rename, a deletion as a deletion and a new file as an upload, without a full plan', async () => {
    const l = await liveOver(300);
    const kinds: string[] = [];
    l.events.on('transfer:done', (t) => kinds.push(`${t.kind} ${t.remotePath ?? t.path}`));

    const renamed = await oneChange(
      l,
      () => renameSync(join(l.w.src, 'd1', 'f1.txt'), join(l.w.src, 'd1', 'renamed.txt')),
      () => existsSync(join(l.w.dest, 'd1', 'renamed.txt')) && !existsSync(join(l.w.dest, 'd1', 'f1.txt')),
    );
    expect(kinds).toEqual(['move-remote d1/renamed.txt']);
    expect(renamed.read).toBe(1);

    const deleted = await oneChange(
      l,
      () => rmSync(join(l.w.src, 'd2', 'f2.txt')),
      () => !existsSync(join(l.w.dest, 'd2', 'f2.txt')),
    );
    expect(kinds.at(-1)).toBe('delete-remote d2/f2.txt');
    expect(deleted.read).toBe(0);

    await oneChange(
      l,
      () => writeFileSync(join(l.w.src, 'd2', 'new.txt'), 'new\n'),
      () => existsSync(join(l.w.dest, 'd2', 'new.txt')),
    );
    expect(kinds.at(-1)).toBe('upload d2/new.txt');
    expect(l.service.live.stats.full).toBe(1); // the first sync only
  }, 300_000);

  it('leaves deletions that reach the brake to the full plan, which holds a mass deletion', async () => {
    const l = await liveOver(300);
    // Six files: past the brake's minimum, far below its share: the full plan lets them go.
    const few = await oneChange(
      l,
      () => {
        for (let i = 0; i < 6; i++) rmSync(join(l.w.src, 'd0', `f${i}.txt`));
      },
      () => !existsSync(join(l.w.dest, 'd0', 'f5.txt')),
    );
    expect(few.fullPlans).toBe(1);
    expect(l.service.live.stats.lastFallback).toMatch(/deletions for rule "rule 0" reach the brake/);
    // Two hundred of the rest: held, and said so.
    const before = { ...l.service.live.stats };
    for (let d = 1; d < 3; d++) rmSync(join(l.w.src, `d${d}`), { recursive: true });
    await until('a pass over the mass deletion', () => l.service.live.stats.full > before.full);
    await until('an idle service', () => state.get(l) === 'idle');
    expect(existsSync(join(l.w.dest, 'd1', 'f1.txt'))).toBe(true);
    expect(l.service.status().heldDeletions).toMatchObject([{ rule: 'rule 0', where: 'nas', deletes: 200 }]);
  }, 300_000);

  it('leaves two-way rules, whole-folder rescans and unscanned folders to the full plan', () => {
    const w = workspace({ rules: [{ mode: 'mirror' }] });
    const cfg = loadConfig(w.config);
    w.cleanup();
    const prev = {
      folder: 'work',
      files: new Map(),
      unreadable: new Set<string>(),
      issues: [],
      complete: true,
      hashed: 0,
      hashedBytes: 0,
    };
    const hint = { folder: 'work', paths: new Set(['a.txt']), full: false };
    expect(fullPassNeeded(cfg, hint, prev)).toBeUndefined();
    expect(fullPassNeeded(cfg, { ...hint, full: true }, prev)).toMatch(/whole folder/);
    expect(fullPassNeeded(cfg, hint, undefined)).toMatch(/not scanned/);
    expect(fullPassNeeded(cfg, hint, { ...prev, complete: false })).toMatch(/incomplete/);
    const twoWay = { ...cfg, rules: cfg.rules.map((r) => ({ ...r, mode: 'two-way' as const })) };
    expect(fullPassNeeded(twoWay, hint, prev)).toMatch(/two-way/);
  });
});
