import { join } from 'node:path';
import { openDb, type Db } from './db';
import { HistoryStore } from './historyStore';
import { IndexStore } from './indexStore';
import { JobStore } from './jobStore';
import { ShippedStore } from './shippedStore';

/** All of Ferry's SQL sits behind this one object; it is the state database's single writer. */
export class Store {
  readonly index: IndexStore;
  readonly shipped: ShippedStore;
  readonly jobs: JobStore;
  readonly history: HistoryStore;

  constructor(readonly db: Db) {
    this.index = new IndexStore(db);
    this.shipped = new ShippedStore(db);
    this.jobs = new JobStore(db);
    this.history = new HistoryStore(db);
  }

  static open(stateDir: string): Store {
    return new Store(openDb(join(stateDir, 'state.db')));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
