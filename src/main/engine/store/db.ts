import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FerryError } from '../../../shared/errors';
import { MIGRATIONS } from './migrations';

export type Db = Database.Database;

/** Opens (creating if needed) the state database: WAL, NORMAL sync, foreign keys, migrated to the latest version. */
export function openDb(file: string): Db {
  let db: Db | undefined;
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a power cut may lose the last commits but never corrupts; the planner
    // re-derives anything lost from the destination listing on the next run.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // Checkpoints fsync the database: let the WAL grow to ~64 MB between them rather than 4 MB
    // (3× the rows/s when a sync records thousands of small files); closing the database checkpoints.
    db.pragma('wal_autocheckpoint = 16384');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof FerryError) throw err;
    throw new FerryError(
      'permanent',
      'state-unavailable',
      `cannot open the state database ${file}: ${(err as Error).message}`,
      {
        hint: 'check that the state directory (--state-dir) is writable, and that no other program holds the file',
        cause: err,
      },
    );
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations: readonly string[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  if (current > migrations.length)
    throw new FerryError(
      'permanent',
      'state-too-new',
      `the state database is at version ${current}, newer than this Ferry understands (${migrations.length})`,
      { hint: 'update Ferry, or point --state-dir at another directory' },
    );
  for (let v = current; v < migrations.length; v++) {
    const sql = migrations[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
