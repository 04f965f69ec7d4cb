import type { Db } from './db';

/** What both sides of a two-way rule last agreed on for one path (see plan/twoWay.ts). */
export type BaseEntry = { path: string; sha256: string; size: number; remoteVersion: string | null };

/**
 * Two-way sync's common base, per rule: written only after a transfer (or a comparison) proved both
 * sides equal, so that the next pass can tell which side changed.
 */
export class BaseStore {
  private readonly selectRule;
  private readonly selectOne;
  private readonly upsert;
  private readonly remove;
  private readonly rename;
  private readonly removeRule;

  constructor(db: Db) {
    this.selectRule = db.prepare('SELECT path, sha256, size, remote_version FROM two_way_base WHERE rule = ?');
    this.selectOne = db.prepare(
      'SELECT path, sha256, size, remote_version FROM two_way_base WHERE rule = ? AND path = ?',
    );
    this.upsert = db.prepare(
      `INSERT INTO two_way_base (rule, path, sha256, size, remote_version, synced_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (rule, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
         remote_version = excluded.remote_version, synced_at = excluded.synced_at`,
    );
    this.remove = db.prepare('DELETE FROM two_way_base WHERE rule = ? AND path = ?');
    this.rename = db.prepare('UPDATE OR REPLACE two_way_base SET path = ?, synced_at = ? WHERE rule = ? AND path = ?');
    this.removeRule = db.prepare('DELETE FROM two_way_base WHERE rule = ?');
  }

  forRule(rule: string): Map<string, BaseEntry> {
    type Row = { path: string; sha256: string; size: number; remote_version: string | null };
    const out = new Map<string, BaseEntry>();
    for (const r of this.selectRule.all(rule) as Row[])
      out.set(r.path, { path: r.path, sha256: r.sha256, size: r.size, remoteVersion: r.remote_version });
    return out;
  }

  get(rule: string, path: string): BaseEntry | undefined {
    const r = this.selectOne.get(rule, path) as
      { path: string; sha256: string; size: number; remote_version: string | null } | undefined;
    return r && { path: r.path, sha256: r.sha256, size: r.size, remoteVersion: r.remote_version };
  }

  put(rule: string, entry: BaseEntry, now = Date.now()): void {
    this.upsert.run(rule, entry.path, entry.sha256, entry.size, entry.remoteVersion, now);
  }

  delete(rule: string, path: string): void {
    this.remove.run(rule, path);
  }

  /** A rename applied on the other side: the agreed content now lives at `to`. */
  move(rule: string, from: string, to: string, now = Date.now()): void {
    this.rename.run(to, now, rule, from);
  }

  /** A rule removed or renamed: its base no longer describes anything. */
  forget(rule: string): void {
    this.removeRule.run(rule);
  }
}
