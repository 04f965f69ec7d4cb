import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError, type SerializedError } from '../../src/shared/errors';
import type { Action, HistoryEntry, LocalFile } from '../../src/shared/models';
import { migrate, openDb, schemaVersion, type Db } from '../../src/main/engine/store/db';
import { HistoryStore } from '../../src/main/engine/store/historyStore';
import { IndexStore } from '../../src/main/engine/store/indexStore';
import { JobStore, PHASE, jobKey } from '../../src/main/engine/store/jobStore';
import { MIGRATIONS } from '../../src/main/engine/store/migrations';
import { ShippedStore, type ShippedRecord } from '../../src/main/engine/store/shippedStore';
import { SqliteResumeStore } from '../../src/main/engine/store/resumeStore';
import { Store } from '../../src/main/engine/store/store';

let dir: string;
const open: Db[] = [];

function track(db: Db): Db {
  open.push(db);
  return db;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
});
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('openDb and migrations', () => {
  it('migrates a new in-memory database to the latest version', () => {
    const db = track(openDb(':memory:'));
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]
    ).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['files', 'history', 'jobs', 'shipped']));
  });

  it('creates the state directory, uses WAL and enforces foreign keys', () => {
    const file = join(dir, 'nested', 'state', 'state.db');
    const db = track(openDb(file));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('keeps data across reopening and does not run migrations again', () => {
    const file = join(dir, 'state.db');
    const first = track(openDb(file));
    new ShippedStore(first).put(rec('a'));
    first.close();
    const again = track(openDb(file));
    expect(schemaVersion(again)).toBe(MIGRATIONS.length);
    expect(new ShippedStore(again).get('d', 'a')).toEqual(rec('a'));
  });

  it('runs each migration exactly once, in order, across calls', () => {
    const db = track(new Database(':memory:'));
    const steps = ['CREATE TABLE t (v TEXT)', `INSERT INTO t VALUES ('two')`];
    migrate(db, steps.slice(0, 1));
    expect(schemaVersion(db)).toBe(1);
    migrate(db, steps);
    migrate(db, steps);
    expect(schemaVersion(db)).toBe(2);
    expect(db.prepare('SELECT v FROM t').all()).toEqual([{ v: 'two' }]);
  });

  it('rolls a failing migration back and leaves the version where it was', () => {
    const db = track(new Database(':memory:'));
    expect(() =>
      migrate(db, ['CREATE TABLE t (v TEXT)', `INSERT INTO t VALUES ('x'); SELECT * FROM nowhere`]),
    ).toThrow();
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
  });

  it('refuses a database written by a newer Ferry with state-too-new', () => {
    const file = join(dir, 'state.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    const err = caught(() => track(openDb(file)));
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('state-too-new');
    expect((err as FerryError).kind).toBe('permanent');
  });

  it('wraps a database that cannot be opened in state-unavailable', () => {
    const err = caught(() => track(openDb(dir)));
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('state-unavailable');
  });

  it('Store.open puts state.db in the state directory', () => {
    const store = Store.open(join(dir, 's'));
    track(store.db);
    expect(store.db.name).toBe(join(dir, 's', 'state.db'));
    expect(store.transaction(() => 42)).toBe(42);
    store.close();
    expect(store.db.open).toBe(false);
  });
});

function localFile(path: string, over: Partial<LocalFile> = {}): LocalFile {
  return {
    folder: 'f',
    path,
    size: 10,
    mtimeNs: 1_700_000_000_123_456_789n,
    ino: 2n ** 62n + 3n,
    hashes: { sha256: `h-${path}` },
    ...over,
  };
}

describe('IndexStore', () => {
  let index: IndexStore;
  beforeEach(() => {
    index = new IndexStore(track(openDb(':memory:')));
  });

  it('round-trips files with nanosecond mtimes and 64-bit inodes exactly', () => {
    const a = localFile('a', { hashes: { sha256: 's', md5: 'm', dropbox: 'd' } });
    const b = localFile('dir/b', { ino: 9_223_372_036_854_775_807n, mtimeNs: 1n });
    index.putMany([a, b]);
    expect(index.get('f', 'a')).toEqual(a);
    expect(index.get('f', 'dir/b')).toEqual(b);
    expect(index.get('f', 'a')?.mtimeNs).toBe(1_700_000_000_123_456_789n);
    expect(index.get('f', 'missing')).toBeUndefined();
  });

  it('leaves absent optional hashes out rather than null', () => {
    index.putMany([localFile('a')]);
    expect(index.get('f', 'a')?.hashes).toEqual({ sha256: 'h-a' });
  });

  it('loads one folder only, keyed by path', () => {
    index.putMany([localFile('a'), localFile('b'), localFile('a', { folder: 'g' })]);
    const loaded = index.loadFolder('f');
    expect([...loaded.keys()].sort()).toEqual(['a', 'b']);
    expect(loaded.get('a')).toEqual(localFile('a'));
  });

  it('replaces a file on put and forgets removed ones', () => {
    index.putMany([localFile('a'), localFile('b')]);
    index.putMany([localFile('a', { size: 99, hashes: { sha256: 'new' } })]);
    expect(index.get('f', 'a')).toMatchObject({ size: 99, hashes: { sha256: 'new' } });
    index.removeMany('f', ['b', 'not-there']);
    expect([...index.loadFolder('f').keys()]).toEqual(['a']);
  });
});

function action(kind: Action['kind'], remotePath: string, over: Partial<Action> = {}): Action {
  return {
    kind,
    rule: 'r',
    destination: kind === 'delete-local' ? undefined : 'd',
    folder: 'f',
    path: remotePath,
    remotePath: kind === 'delete-local' ? undefined : remotePath,
    size: 100,
    sha256: 'h',
    reason: 'because',
    ...over,
  };
}

const err = (message: string): SerializedError => ({ kind: 'retryable', code: 'x', message, context: {} });

describe('JobStore', () => {
  let jobs: JobStore;
  beforeEach(() => {
    jobs = new JobStore(track(openDb(':memory:')));
  });

  it('orders phases: moves and copies, then uploads, then remote deletes, then local deletes', () => {
    expect(PHASE['move-remote']).toBeLessThan(PHASE.upload);
    expect(PHASE['copy-remote']).toBe(PHASE['move-remote']);
    expect(PHASE.upload).toBeLessThan(PHASE['delete-remote']);
    expect(PHASE['delete-remote']).toBeLessThan(PHASE['delete-local']);
  });

  it('keys remote jobs by destination and remote path, local deletes by folder and path', () => {
    expect(jobKey(action('upload', 'x'))).toBe(jobKey(action('delete-remote', 'x')));
    expect(jobKey(action('upload', 'x'))).not.toBe(jobKey(action('upload', 'x', { destination: 'e' })));
    expect(jobKey(action('delete-local', 'x'))).not.toBe(jobKey(action('upload', 'x')));
  });

  it('stores a plan and hands it out phase by phase', () => {
    jobs.replacePlan(
      [
        action('delete-local', 'l'),
        action('delete-remote', 'dr'),
        action('upload', 'u1'),
        action('move-remote', 'm', { fromRemotePath: 'old' }),
        action('upload', 'u2'),
      ],
      500,
    );
    expect(jobs.currentPhase()).toBe(PHASE['move-remote']);
    const [move, ...rest] = jobs.pendingAfter(PHASE['move-remote'], 0, 10);
    expect(rest).toEqual([]);
    expect(move).toMatchObject({
      kind: 'move-remote',
      remotePath: 'm',
      fromRemotePath: 'old',
      state: 'pending',
      attempts: 0,
      createdAt: 500,
      lastError: null,
    });
    // A job of an earlier phase holds the later phases back until it is settled.
    expect(jobs.currentPhase()).toBe(PHASE['move-remote']);
    jobs.complete((move as { id: number }).id);
    expect(jobs.currentPhase()).toBe(PHASE.upload);
    expect(jobs.pendingAfter(PHASE.upload, 0, 10).map((j) => j.remotePath)).toEqual(['u1', 'u2']);
  });

  it('runs a deletion that clears the way for a file or folder of its name with the renames, before the writes', () => {
    jobs.replacePlan([
      action('upload', 'p/x'),
      action('delete-remote', 'p', { detail: { clearsWay: true } }),
      action('delete-remote', 'other'),
    ]);
    expect(jobs.currentPhase()).toBe(PHASE['move-remote']);
    expect(jobs.pendingAfter(PHASE['move-remote'], 0, 10).map((j) => j.remotePath)).toEqual(['p']);
    expect(jobs.pendingAfter(PHASE['delete-remote'], 0, 10).map((j) => j.remotePath)).toEqual(['other']);
  });

  it('reads pending jobs in pages, oldest first, after a cursor', () => {
    jobs.replacePlan(['a', 'b', 'c'].map((p) => action('upload', p)));
    const first = jobs.pendingAfter(PHASE.upload, 0, 2);
    expect(first.map((j) => j.remotePath)).toEqual(['a', 'b']);
    const after = (first[1] as { id: number }).id;
    expect(jobs.pendingAfter(PHASE.upload, after, 2).map((j) => j.remotePath)).toEqual(['c']);
  });

  it('round-trips a delete-local job without destination or remote path', () => {
    jobs.replacePlan([action('delete-local', 'gone')]);
    const [job] = jobs.pendingAfter(PHASE['delete-local'], 0, 1);
    expect(job).toMatchObject({ kind: 'delete-local', folder: 'f', path: 'gone' });
    expect(job && 'destination' in job).toBe(false);
    expect(job && 'remotePath' in job).toBe(false);
  });

  it('keeps a job retried later pending, with its attempt count, its time and its error', () => {
    jobs.replacePlan([action('upload', 'a')]);
    const [job] = jobs.pendingAfter(PHASE.upload, 0, 1);
    const id = (job as { id: number }).id;
    jobs.retryLater(id, 5000, err('timeout'));
    const [again] = jobs.pendingAfter(PHASE.upload, 0, 1);
    expect(again).toMatchObject({ id, attempts: 1, notBefore: 5000, lastError: err('timeout'), state: 'pending' });
  });

  it('keeps a failed job out of the queue and out of the current phase', () => {
    jobs.replacePlan([action('upload', 'a'), action('delete-remote', 'z')]);
    const [job] = jobs.pendingAfter(PHASE.upload, 0, 1);
    jobs.fail((job as { id: number }).id, err('quota'));
    expect(jobs.currentPhase()).toBe(PHASE['delete-remote']);
    expect(jobs.list('failed')).toEqual([
      expect.objectContaining({ remotePath: 'a', state: 'failed', attempts: 1, lastError: err('quota') }),
    ]);
    expect(jobs.pendingAfter(PHASE.upload, 0, 5)).toEqual([]);
  });

  it('counts jobs by state and the upload bytes still to send', () => {
    jobs.replacePlan([
      action('upload', 'a', { size: 100 }),
      action('upload', 'b', { size: 20 }),
      action('upload', 'c', { size: 7 }),
      action('delete-remote', 'd', { size: 1000 }),
    ]);
    expect(jobs.counts()).toEqual({ pending: 4, failed: 0, bytesPending: 127 });
    const [a, b] = jobs.pendingAfter(PHASE.upload, 0, 2);
    jobs.fail((b as { id: number }).id, err('no'));
    expect(a?.remotePath).toBe('a');
    expect(jobs.counts()).toEqual({ pending: 3, failed: 1, bytesPending: 107 });
    expect(jobs.currentPhase()).toBe(PHASE.upload);
    jobs.complete((a as { id: number }).id);
    expect(jobs.get((a as { id: number }).id)).toBeUndefined();
  });

  it('replaces pending work with a new plan', () => {
    jobs.replacePlan([action('upload', 'a'), action('upload', 'b')]);
    jobs.replacePlan([action('upload', 'c')]);
    expect(jobs.list('pending').map((j) => j.remotePath)).toEqual(['c']);
  });

  it('supersedes a failed job with the same target, and keeps other failed jobs', () => {
    jobs.replacePlan([action('upload', 'a'), action('upload', 'b')]);
    for (const j of jobs.pendingAfter(PHASE.upload, 0, 2)) jobs.fail(j.id, err('boom'));
    jobs.replacePlan([action('upload', 'a', { reason: 'again' })]);
    expect(jobs.list('failed').map((j) => j.remotePath)).toEqual(['b']);
    expect(jobs.list('pending')).toEqual([
      expect.objectContaining({ remotePath: 'a', reason: 'again', attempts: 0, lastError: null }),
    ]);
  });
});

function rec(remotePath: string, over: Partial<ShippedRecord> = {}): ShippedRecord {
  return {
    destination: 'd',
    remotePath,
    rule: 'r',
    folder: 'f',
    path: remotePath,
    size: 5,
    sha256: `h-${remotePath}`,
    encoding: 'identity',
    remoteVersion: null,
    shippedAt: 1234,
    ...over,
  };
}

describe('ShippedStore', () => {
  let shipped: ShippedStore;
  beforeEach(() => {
    shipped = new ShippedStore(track(openDb(':memory:')));
  });

  it('round-trips a record and updates it in place', () => {
    shipped.put(rec('a', { remoteVersion: 'etag-1' }));
    expect(shipped.get('d', 'a')).toEqual(rec('a', { remoteVersion: 'etag-1' }));
    shipped.put(rec('a', { sha256: 'new', size: 9, remoteVersion: 'etag-2' }));
    expect(shipped.get('d', 'a')).toEqual(rec('a', { sha256: 'new', size: 9, remoteVersion: 'etag-2' }));
    expect(shipped.forDestination('d')).toHaveLength(1);
  });

  it('finds records by source across destinations', () => {
    shipped.put(rec('x/a', { path: 'a' }));
    shipped.put(rec('y/a', { destination: 'e', path: 'a' }));
    shipped.put(rec('b'));
    shipped.put(rec('z/a', { folder: 'g', path: 'a' }));
    expect(
      shipped
        .forSource('f', 'a')
        .map((r) => `${r.destination}:${r.remotePath}`)
        .sort(),
    ).toEqual(['d:x/a', 'e:y/a']);
  });

  it('lists by destination and deletes one record', () => {
    shipped.put(rec('a'));
    shipped.put(rec('b'));
    shipped.put(rec('a', { destination: 'e' }));
    shipped.delete('d', 'a');
    expect(shipped.get('d', 'a')).toBeUndefined();
    expect(shipped.forDestination('d').map((r) => r.remotePath)).toEqual(['b']);
    expect(shipped.get('e', 'a')).toBeDefined();
  });
});

describe('HistoryStore', () => {
  let history: HistoryStore;
  const entry = (path: string, over: Partial<Omit<HistoryEntry, 'id'>> = {}): Omit<HistoryEntry, 'id'> => ({
    at: 1000,
    kind: 'upload',
    rule: 'r',
    destination: 'd',
    folder: 'f',
    path,
    remotePath: path,
    bytes: 10,
    durationMs: 5,
    outcome: 'done',
    error: null,
    tags: [],
    ...over,
  });

  beforeEach(() => {
    history = new HistoryStore(track(openDb(':memory:')));
  });

  it('returns the most recent entries first, with their errors', () => {
    history.add(entry('a'));
    history.add(entry('b', { outcome: 'failed', error: err('disk full'), destination: null, remotePath: null }));
    history.add(entry('c'));
    const recent = history.recent();
    expect(recent.map((e) => e.path)).toEqual(['c', 'b', 'a']);
    expect(recent[1]).toEqual({
      ...entry('b', { outcome: 'failed', error: err('disk full'), destination: null, remotePath: null }),
      id: recent[1]?.id,
    });
  });

  it('limits and pages by id', () => {
    for (const p of ['a', 'b', 'c', 'd']) history.add(entry(p));
    const top = history.recent(2);
    expect(top.map((e) => e.path)).toEqual(['d', 'c']);
    const firstId = history.recent(100).at(-1)?.id ?? 0;
    expect(history.recent(100, firstId).map((e) => e.path)).toEqual(['d', 'c', 'b']);
  });
});

describe('SqliteResumeStore', () => {
  it('hands a saved upload state back only for the same content, survives a reopen, and clears', () => {
    const db = track(openDb(join(dir, 'state.db')));
    const resume = new SqliteResumeStore(db);
    resume.save('s3', 'big.bin', 'sha-a', { uploadId: 'u1', parts: [1, 2] });
    expect(resume.load('s3', 'big.bin', 'sha-a')).toEqual({ uploadId: 'u1', parts: [1, 2] });
    // The file changed since: that session is of no use.
    expect(resume.load('s3', 'big.bin', 'sha-b')).toBeUndefined();
    expect(resume.load('gcs', 'big.bin', 'sha-a')).toBeUndefined();
    db.close();
    const again = new SqliteResumeStore(track(openDb(join(dir, 'state.db'))));
    expect(again.all('s3')).toEqual([
      { remotePath: 'big.bin', sha256: 'sha-a', state: { uploadId: 'u1', parts: [1, 2] } },
    ]);
    again.clear('s3', 'big.bin');
    expect(again.load('s3', 'big.bin', 'sha-a')).toBeUndefined();
    expect(again.all('s3')).toEqual([]);
  });
});

describe("two-way sync's common base", () => {
  it('keeps per rule what both sides agreed on, and follows renames and removals', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-base-'));
    const store = Store.open(dir);
    try {
      store.base.put('docs', { path: 'a.txt', sha256: 'aa', size: 1, remoteVersion: 'v1' });
      store.base.put('docs', { path: 'b.txt', sha256: 'bb', size: 2, remoteVersion: null });
      store.base.put('photos', { path: 'a.txt', sha256: 'cc', size: 3, remoteVersion: 'v9' });
      store.base.put('docs', { path: 'a.txt', sha256: 'a2', size: 4, remoteVersion: 'v2' });
      expect([...store.base.forRule('docs').values()]).toEqual([
        { path: 'a.txt', sha256: 'a2', size: 4, remoteVersion: 'v2' },
        { path: 'b.txt', sha256: 'bb', size: 2, remoteVersion: null },
      ]);
      store.base.move('docs', 'b.txt', 'sub/b.txt');
      store.base.delete('docs', 'a.txt');
      expect([...store.base.forRule('docs').keys()]).toEqual(['sub/b.txt']);
      expect(store.base.forRule('photos').get('a.txt')?.sha256).toBe('cc');
      store.base.forget('photos');
      expect(store.base.forRule('photos').size).toBe(0);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
