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
};

/** One row per transfer attempt that ended (done, failed for good, skipped or cancelled). */
export class HistoryStore {
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO history (at, kind, rule, destination, folder, path, remote_path, bytes, duration_ms, outcome, error)
       VALUES (@at, @kind, @rule, @destination, @folder, @path, @remotePath, @bytes, @durationMs, @outcome, @error)`,
    );
  }

  add(entry: Omit<HistoryEntry, 'id'>): void {
    this.insert.run({ ...entry, error: entry.error === null ? null : JSON.stringify(entry.error) });
  }

  recent(limit = 100, sinceId = 0): HistoryEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM history WHERE id > ? ORDER BY id DESC LIMIT ?')
      .all(sinceId, limit) as Row[];
    return rows.map((r) => ({
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
    }));
  }
}
