import type { ResumeStore } from '../providers/types';
import type { Db } from './db';

/**
 * Where interrupted uploads are remembered (the provider's own resumption state, as JSON), keyed by
 * destination and remote path, and valid only for the content hash they were started with.
 */
export class SqliteResumeStore implements ResumeStore {
  private readonly selectOne;
  private readonly upsert;
  private readonly remove;
  private readonly selectAll;

  constructor(db: Db) {
    this.selectOne = db.prepare('SELECT sha256, state FROM uploads WHERE destination = ? AND remote_path = ?');
    this.upsert = db.prepare(
      `INSERT INTO uploads (destination, remote_path, sha256, state, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (destination, remote_path) DO UPDATE SET sha256 = excluded.sha256, state = excluded.state,
         updated_at = excluded.updated_at`,
    );
    this.remove = db.prepare('DELETE FROM uploads WHERE destination = ? AND remote_path = ?');
    this.selectAll = db.prepare('SELECT remote_path, sha256, state FROM uploads WHERE destination = ?');
  }

  all(destination: string): { remotePath: string; sha256: string; state: unknown }[] {
    return (this.selectAll.all(destination) as { remote_path: string; sha256: string; state: string }[]).map((r) => ({
      remotePath: r.remote_path,
      sha256: r.sha256,
      state: JSON.parse(r.state) as unknown,
    }));
  }

  load(destination: string, remotePath: string, sha256: string): unknown {
    const row = this.selectOne.get(destination, remotePath) as { sha256: string; state: string } | undefined;
    if (!row) return undefined;
    // Another content was being sent there: that session is of no use for this one.
    if (row.sha256 !== sha256) return undefined;
    return JSON.parse(row.state) as unknown;
  }

  save(destination: string, remotePath: string, sha256: string, state: unknown): void {
    this.upsert.run(destination, remotePath, sha256, JSON.stringify(state), Date.now());
  }

  clear(destination: string, remotePath: string): void {
    this.remove.run(destination, remotePath);
  }
}
