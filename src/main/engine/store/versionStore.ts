import type { Db } from './db';

/** Why a version was kept: the pass replaced the file, deleted it, or a restore wrote over it. */
export type VersionCause = 'replaced' | 'deleted' | 'restore';

/**
 * One kept version of a file at a destination. `pending` rows are written before the move that keeps
 * it and made `kept` after it, so a crash in between leaves a row to resolve, never a version unknown.
 */
export type VersionRecord = {
  id: number;
  destination: string;
  /** The path the file had at the destination. */
  remotePath: string;
  keptAt: number;
  size: number;
  /** The SHA-256 of the kept bytes, when Ferry knows them (it shipped them); null for another writer's file. */
  sha256: string | null;
  /** Where the bytes are now, below the destination's root (`.ferry-versions/…`). */
  location: string;
  state: 'pending' | 'kept';
  cause: VersionCause;
  rule: string;
  folder: string;
  /** The folder-relative path of the file it was a version of. */
  path: string;
  /** When these bytes arrived at the destination (Ferry shipped them then); null when unknown. */
  since: number | null;
};

type Row = {
  id: number;
  destination: string;
  remote_path: string;
  kept_at: number;
  size: number;
  sha256: string | null;
  location: string;
  state: 'pending' | 'kept';
  cause: VersionCause;
  rule: string;
  folder: string;
  path: string;
  since: number | null;
};

const fromRow = (r: Row): VersionRecord => ({
  id: r.id,
  destination: r.destination,
  remotePath: r.remote_path,
  keptAt: r.kept_at,
  size: r.size,
  sha256: r.sha256,
  location: r.location,
  state: r.state,
  cause: r.cause,
  rule: r.rule,
  folder: r.folder,
  path: r.path,
  since: r.since,
});

export class VersionStore {
  private readonly insert;
  private readonly markKept;
  private readonly remove;
  private readonly selectPending;
  private readonly selectOlder;
  private readonly selectOfPath;
  private readonly selectBelowSource;
  private readonly selectLocation;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO versions (destination, remote_path, kept_at, size, sha256, location, state, cause, rule, folder, path, since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.markKept = db.prepare("UPDATE versions SET state = 'kept', size = ? WHERE id = ?");
    this.remove = db.prepare('DELETE FROM versions WHERE id = ?');
    this.selectPending = db.prepare("SELECT * FROM versions WHERE destination = ? AND state = 'pending'");
    this.selectOlder = db.prepare('SELECT * FROM versions WHERE destination = ? AND kept_at < ? ORDER BY kept_at');
    this.selectOfPath = db.prepare(
      'SELECT * FROM versions WHERE destination = ? AND remote_path = ? ORDER BY kept_at DESC, id DESC',
    );
    // A folder's path and everything below it; '' is the whole folder.
    this.selectBelowSource = db.prepare(
      `SELECT * FROM versions WHERE folder = ? AND (? = '' OR path = ? OR substr(path, 1, length(?) + 1) = ? || '/')
       ORDER BY path, kept_at DESC, id DESC`,
    );
    this.selectLocation = db.prepare('SELECT * FROM versions WHERE destination = ? AND location = ?');
  }

  /** Writes the intent to keep a version, before the move: returns its id. */
  begin(v: Omit<VersionRecord, 'id' | 'state'>): number {
    const r = this.insert.run(
      v.destination,
      v.remotePath,
      v.keptAt,
      v.size,
      v.sha256,
      v.location,
      'pending',
      v.cause,
      v.rule,
      v.folder,
      v.path,
      v.since,
    );
    return Number(r.lastInsertRowid);
  }

  kept(id: number, size: number): void {
    this.markKept.run(size, id);
  }

  forget(id: number): void {
    this.remove.run(id);
  }

  pending(destination: string): VersionRecord[] {
    return (this.selectPending.all(destination) as Row[]).map(fromRow);
  }

  olderThan(destination: string, before: number): VersionRecord[] {
    return (this.selectOlder.all(destination, before) as Row[]).map(fromRow);
  }

  /** Every version of one destination path, newest first. */
  ofPath(destination: string, remotePath: string): VersionRecord[] {
    return (this.selectOfPath.all(destination, remotePath) as Row[]).map(fromRow);
  }

  /** Every version of a folder's file, or of every file below a folder path, by path then newest first. */
  belowSource(folder: string, path: string): VersionRecord[] {
    return (this.selectBelowSource.all(folder, path, path, path, path) as Row[]).map(fromRow);
  }

  at(destination: string, location: string): VersionRecord | undefined {
    const r = this.selectLocation.get(destination, location) as Row | undefined;
    return r && fromRow(r);
  }
}
