import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeStateDirPrivate, privateFile } from './stateDir';
import { BaseStore } from './baseStore';
import { BrakeStore } from './brakeStore';
import { isInstanceTag, newInstanceTag, TempNames } from '../providers/tempNames';
import { openDb, type Db } from './db';
import { HistoryStore } from './historyStore';
import { IndexStore } from './indexStore';
import { JobStore } from './jobStore';
import { SqliteResumeStore } from './resumeStore';
import { ShippedStore } from './shippedStore';
import { VersionStore } from './versionStore';

/** All of Ferry's SQL sits behind this one object; it is the state database's single writer. */
export class Store {
  readonly index: IndexStore;
  readonly shipped: ShippedStore;
  readonly jobs: JobStore;
  readonly history: HistoryStore;
  readonly uploads: SqliteResumeStore;
  /** Two-way rules' common base. */
  readonly base: BaseStore;
  /** The mirror deletion brake's baselines. */
  readonly brakes: BrakeStore;
  /** Versions kept at destinations of what rules replaced or deleted. */
  readonly versions: VersionStore;

  /**
   * @param stagingDir where compressed copies wait for their upload: private files, removed after each
   * upload and swept at open (a crash may leave some).
   * @param temp this state directory's temporary names (its instance tag), handed to providers and workers.
   */
  constructor(
    readonly db: Db,
    readonly stagingDir = join(tmpdir(), `ferry-staging-${process.pid}`),
    readonly temp = new TempNames(),
  ) {
    this.index = new IndexStore(db);
    this.shipped = new ShippedStore(db);
    this.jobs = new JobStore(db);
    this.history = new HistoryStore(db);
    this.uploads = new SqliteResumeStore(db);
    this.base = new BaseStore(db);
    this.brakes = new BrakeStore(db);
    this.versions = new VersionStore(db);
  }

  static open(stateDir: string): Store {
    const staging = join(stateDir, 'staging');
    rmSync(staging, { recursive: true, force: true });
    // SQLite gives its -wal and -shm files the database's mode: private from the first byte.
    makeStateDirPrivate(stateDir);
    privateFile(join(stateDir, 'state.db'));
    const db = openDb(join(stateDir, 'state.db'));
    return new Store(db, staging, new TempNames(instanceTagOf(stateDir)));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}

/** This state directory's tag in temporary names: made once, kept in `instance-id` beside the database. */
function instanceTagOf(stateDir: string): string {
  const file = join(stateDir, 'instance-id');
  try {
    const tag = readFileSync(file, 'utf8').trim();
    if (isInstanceTag(tag)) return tag;
  } catch {
    // first run with this state directory
  }
  const tag = newInstanceTag();
  writeFileSync(file, `${tag}\n`, { mode: 0o600 });
  return tag;
}
