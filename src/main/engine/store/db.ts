import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FerryError } from '../../../shared/errors';
import { fromDbText, toDbText } from '../scan/rawNames';
import { MIGRATIONS } from './migrations';

export type Db = Database.Database;

/** Opens (creating if needed) the state database: WAL, NORMAL sync, foreign keys, migrated to the latest version. */
export function openDb(file: string): Db {
  let db: Db | undefined;
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    keepRawNames(db);
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

type Statement = Database.Statement<unknown[], unknown>;

const executed = new WeakMap<Db, { n: number; rows: number }>();

/**
 * How many prepared statements this database has run (each run, get, all or iterate) and how many rows
 * they returned: the cost of a change made visible, so that tests can hold it to a bound whatever the
 * folder's size.
 */
export function statementsRun(db: Db): { statements: number; rows: number } {
  const c = executed.get(db);
  return { statements: c?.n ?? 0, rows: c?.rows ?? 0 };
}

/** Whether a bound value holds a string the database would not keep as it is (the rare case: copied then). */
function needsEncoding(a: unknown): boolean {
  if (typeof a === 'string') return toDbText(a) !== a;
  if (Array.isArray(a)) return a.some(needsEncoding);
  if (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
    const o = a as Record<string, unknown>;
    for (const k in o) if (needsEncoding(o[k])) return true;
  }
  return false;
}

function encodeArg(a: unknown): unknown {
  if (!needsEncoding(a)) return a;
  if (typeof a === 'string') return toDbText(a);
  if (Array.isArray(a)) return a.map(encodeArg);
  return Object.fromEntries(Object.entries(a as object).map(([k, v]) => [k, encodeArg(v)]));
}

function decodeRow(r: unknown): unknown {
  if (typeof r === 'string') return fromDbText(r);
  if (Array.isArray(r)) {
    for (let i = 0; i < r.length; i++) if (typeof r[i] === 'string') r[i] = fromDbText(r[i] as string);
    return r;
  }
  if (r !== null && typeof r === 'object') {
    const o = r as Record<string, unknown>;
    for (const k in o) if (typeof o[k] === 'string') o[k] = fromDbText(o[k]);
  }
  return r;
}

/**
 * Paths may hold bytes that are not UTF-8 (rawNames.ts), which SQLite's UTF-8 text would turn into
 * U+FFFD: every statement writes strings through toDbText and reads them back through fromDbText.
 */
function keepRawNames(db: Db): void {
  const prepare = db.prepare.bind(db) as (sql: string) => Statement;
  const count = { n: 0, rows: 0 };
  executed.set(db, count);
  const encoded = (args: unknown[]): unknown[] => {
    count.n++;
    return args.some(needsEncoding) ? args.map(encodeArg) : args;
  };
  const wrap = (stmt: Statement): Statement => {
    // The wrapped methods are made once per statement: the hot paths run statements hundreds of
    // thousands of times a pass, and a closure made per call cost ~10 % of a cold pass (profiled).
    const made = new Map<PropertyKey, unknown>();
    const wrapped = (prop: PropertyKey, v: (...a: unknown[]) => unknown): unknown => {
      switch (prop) {
        case 'run':
          return (...args: unknown[]) => stmt.run(...encoded(args));
        case 'get':
          return (...args: unknown[]) => {
            const row = stmt.get(...encoded(args));
            if (row !== undefined) count.rows++;
            return decodeRow(row);
          };
        case 'all':
          return (...args: unknown[]) => {
            const rows = stmt.all(...encoded(args));
            count.rows += rows.length;
            return rows.map(decodeRow);
          };
        case 'iterate':
          return function* (...args: unknown[]) {
            for (const r of stmt.iterate(...encoded(args))) {
              count.rows++;
              yield decodeRow(r);
            }
          };
        default:
          // raw(), pluck(), bind()…: the same statement, so the wrapped one.
          return (...args: unknown[]) => {
            const out = v.apply(stmt, args);
            return out === stmt ? proxy : out;
          };
      }
    };
    const proxy: Statement = new Proxy(stmt, {
      get(target, prop) {
        const known = made.get(prop);
        if (known !== undefined) return known;
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        const fn = wrapped(prop, v as (...a: unknown[]) => unknown);
        made.set(prop, fn);
        return fn;
      },
    });
    return proxy;
  };
  (db as unknown as { prepare: (sql: string) => Statement }).prepare = (sql: string) => wrap(prepare(sql));
}
