import type { SerializedError } from '../../../shared/errors';
import type { HistoryEntry } from '../../../shared/models';
import type { Db } from './db';

type Row = {
  id: number;
  at: number;
  kind: HistoryEntry['kind'];
  rule: string;
  destination: string | null;
  folder: string;
  path: string;
  remote_path: string | null;
  bytes: number;
  duration_ms: number;
  outcome: HistoryEntry['outcome'];
  error: string | null;
  tags: string | null;
};

/** One row per transfer attempt that ended (done, failed for good, skipped or cancelled). */
export class HistoryStore {
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO history (at, kind, rule, destination, folder, path, remote_path, bytes, duration_ms, outcome, error, tags)
       VALUES (@at, @kind, @rule, @destination, @folder, @path, @remotePath, @bytes, @durationMs, @outcome, @error, @tags)`,
    );
  }

  add(entry: Omit<HistoryEntry, 'id'>): void {
    this.insert.run({
      ...entry,
      error: entry.error === null ? null : JSON.stringify(entry.error),
      tags: entry.tags.length === 0 ? null : JSON.stringify(entry.tags),
    });
  }

  /** A page of history, newest first, with optional filters; `search` matches path, remote path, rule and tags. */
  query(q: HistoryQuery): { total: number; items: HistoryEntry[] } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.destination !== undefined) {
      where.push('destination = ?');
      args.push(q.destination);
    }
    if (q.outcome !== undefined) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    if (q.from !== undefined) {
      where.push('at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at < ?');
      args.push(q.to);
    }
    if (q.search) {
      where.push(
        `(path LIKE ? ESCAPE '\\' OR remote_path LIKE ? ESCAPE '\\' OR rule LIKE ? ESCAPE '\\' OR tags LIKE ? ESCAPE '\\')`,
      );
      const like = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      args.push(like, like, like, like);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM history ${clause}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM history ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as Row[];
    return { total, items: rows.map(fromRow) };
  }

  /** Files and bytes delivered per day, week or month and destination (UTC buckets). */
  activity(
    bucket: 'day' | 'week' | 'month',
    from?: number,
    to?: number,
    /** The viewer's offset from UTC, so that days start at their midnight, not UTC's. */
    utcOffsetMinutes = 0,
  ): { bucket: string; destination: string | null; files: number; bytes: number }[] {
    const fmt = { day: '%Y-%m-%d', week: '%Y-W%W', month: '%Y-%m' }[bucket];
    const shift = Math.trunc(utcOffsetMinutes) * 60;
    return this.db
      .prepare(
        `SELECT strftime('${fmt}', at / 1000 + ${shift}, 'unixepoch') AS bucket, destination, COUNT(*) AS files, COALESCE(SUM(bytes), 0) AS bytes
         FROM history WHERE outcome = 'done' AND at >= ? AND at < ? GROUP BY bucket, destination ORDER BY bucket, destination`,
      )
      .all(from ?? 0, to ?? Number.MAX_SAFE_INTEGER) as {
      bucket: string;
      destination: string | null;
      files: number;
      bytes: number;
    }[];
  }

  recent(limit = 100, sinceId = 0): HistoryEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM history WHERE id > ? ORDER BY id DESC LIMIT ?')
      .all(sinceId, limit) as Row[];
    return rows.map(fromRow);
  }
}

export type HistoryQuery = {
  offset: number;
  limit: number;
  destination?: string | undefined;
  outcome?: HistoryEntry['outcome'] | undefined;
  from?: number | undefined;
  to?: number | undefined;
  search?: string | undefined;
};

function fromRow(r: Row): HistoryEntry {
  return {
    id: r.id,
    at: r.at,
    kind: r.kind,
    rule: r.rule,
    destination: r.destination,
    folder: r.folder,
    path: r.path,
    remotePath: r.remote_path,
    bytes: r.bytes,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    error: r.error === null ? null : (JSON.parse(r.error) as SerializedError),
    tags: r.tags === null ? [] : (JSON.parse(r.tags) as string[]),
  };
}
