import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseStore } from './baseStore';
import { openDb, type Db } from './db';
import { HistoryStore } from './historyStore';
import { IndexStore } from './indexStore';
import { JobStore } from './jobStore';
import { SqliteResumeStore } from './resumeStore';
import { ShippedStore } from './shippedStore';

/** All of Ferry's SQL sits behind this one object; it is the state database's single writer. */
export class Store {
  readonly index: IndexStore;
  readonly shipped: ShippedStore;
  readonly jobs: JobStore;
  readonly history: HistoryStore;
  readonly uploads: SqliteResumeStore;
  /** Two-way rules' common base. */
  readonly base: BaseStore;

  /**
   * @param stagingDir where compressed copies wait for their upload: private files, removed after each
   * upload and swept at open (a crash may leave some).
   */
  constructor(
    readonly db: Db,
    readonly stagingDir = join(tmpdir(), `ferry-staging-${process.pid}`),
  ) {
    this.index = new IndexStore(db);
    this.shipped = new ShippedStore(db);
    this.jobs = new JobStore(db);
    this.history = new HistoryStore(db);
    this.uploads = new SqliteResumeStore(db);
    this.base = new BaseStore(db);
  }

  static open(stateDir: string): Store {
    const staging = join(stateDir, 'staging');
    rmSync(staging, { recursive: true, force: true });
    return new Store(openDb(join(stateDir, 'state.db')), staging);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
