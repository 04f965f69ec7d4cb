import type { Encoding } from '../../../shared/models';
import type { Db } from './db';

/** What Ferry last delivered to a destination path, and from where. */
export type ShippedRecord = {
  destination: string;
  remotePath: string;
  rule: string;
  folder: string;
  path: string;
  /** Bytes at the destination (the compressed size when the rule compresses). */
  size: number;
  /** The source's SHA-256: what change and rename detection compare. */
  sha256: string;
  encoding: Encoding;
  remoteVersion: string | null;
  shippedAt: number;
};

type Row = {
  destination: string;
  remote_path: string;
  rule: string;
  folder: string;
  path: string;
  size: number;
  sha256: string;
  encoding: Encoding;
  remote_version: string | null;
  shipped_at: number;
};

export class ShippedStore {
  private readonly selectDest;
  private readonly selectOne;
  private readonly selectBelow;
  private readonly selectAllBelow;
  private readonly selectSource;
  private readonly upsert;
  private readonly remove;
  private readonly selectUsage;
  private readonly selectContent;
  private readonly countRule;

  constructor(db: Db) {
    // Raw rows: every plan reads all of a destination's records, so this must be cheap.
    this.selectDest = db
      .prepare(
        'SELECT remote_path, rule, folder, path, size, sha256, encoding, remote_version, shipped_at FROM shipped WHERE destination = ?',
      )
      .raw(true);
    this.selectSource = db.prepare('SELECT * FROM shipped WHERE folder = ? AND path = ?');
    this.selectOne = db.prepare('SELECT * FROM shipped WHERE destination = ? AND remote_path = ?');
    // `p/` ≤ path < `p0` is every path below p ('0' follows '/'): a range on the primary key.
    this.selectBelow = db.prepare(
      'SELECT 1 FROM shipped WHERE destination = ? AND remote_path >= ? AND remote_path < ? LIMIT 1',
    );
    this.selectAllBelow = db.prepare(
      'SELECT * FROM shipped WHERE destination = ? AND remote_path >= ? AND remote_path < ?',
    );
    this.upsert = db.prepare(
      `INSERT INTO shipped (destination, remote_path, rule, folder, path, size, sha256, encoding, remote_version, shipped_at)
       VALUES (@destination, @remotePath, @rule, @folder, @path, @size, @sha256, @encoding, @remoteVersion, @shippedAt)
       ON CONFLICT (destination, remote_path) DO UPDATE SET rule = excluded.rule, folder = excluded.folder,
         path = excluded.path, size = excluded.size, sha256 = excluded.sha256, encoding = excluded.encoding,
         remote_version = excluded.remote_version, shipped_at = excluded.shipped_at`,
    );
    this.remove = db.prepare('DELETE FROM shipped WHERE destination = ? AND remote_path = ?');
    this.selectContent = db.prepare('SELECT * FROM shipped WHERE destination = ? AND sha256 = ?');
    this.countRule = db.prepare(
      'SELECT folder, COUNT(*) AS n FROM shipped WHERE destination = ? AND rule = ? GROUP BY folder',
    );
    this.selectUsage = db.prepare(
      'SELECT destination, COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes, MAX(shipped_at) AS lastShippedAt FROM shipped GROUP BY destination',
    );
  }

  forDestination(destination: string): ShippedRecord[] {
    type Raw = [string, string, string, string, number, string, Encoding, string | null, number];
    return (this.selectDest.all(destination) as Raw[]).map(
      ([remotePath, rule, folder, path, size, sha256, encoding, remoteVersion, shippedAt]) => ({
        destination,
        remotePath,
        rule,
        folder,
        path,
        size,
        sha256,
        encoding,
        remoteVersion,
        shippedAt,
      }),
    );
  }

  /** Files and bytes recorded per destination (what Ferry put there and has not removed). */
  usage(): { destination: string; files: number; bytes: number; lastShippedAt: number | null }[] {
    return this.selectUsage.all() as {
      destination: string;
      files: number;
      bytes: number;
      lastShippedAt: number | null;
    }[];
  }

  forSource(folder: string, path: string): ShippedRecord[] {
    return (this.selectSource.all(folder, path) as Row[]).map(fromRow);
  }

  /** The records of a destination whose source had this content (candidates for a rename). */
  withContent(destination: string, sha256: string): ShippedRecord[] {
    return (this.selectContent.all(destination, sha256) as Row[]).map(fromRow);
  }

  /** How many records a rule has at a destination from the given folders (the deletion brake's count). */
  countOf(destination: string, rule: string, folders: readonly string[]): number {
    const rows = this.countRule.all(destination, rule) as { folder: string; n: number }[];
    return rows.reduce((sum, r) => sum + (folders.includes(r.folder) ? r.n : 0), 0);
  }

  get(destination: string, remotePath: string): ShippedRecord | undefined {
    const row = this.selectOne.get(destination, remotePath) as Row | undefined;
    return row && fromRow(row);
  }

  /** Whether the destination holds a record below the folder `prefix` (`prefix/…`). */
  anyBelow(destination: string, prefix: string): boolean {
    return this.selectBelow.get(destination, `${prefix}/`, `${prefix}0`) !== undefined;
  }

  /** The destination's records below the folder `prefix` (`prefix/…`). */
  below(destination: string, prefix: string): ShippedRecord[] {
    return (this.selectAllBelow.all(destination, `${prefix}/`, `${prefix}0`) as Row[]).map(fromRow);
  }

  put(record: ShippedRecord): void {
    this.upsert.run(record);
  }

  delete(destination: string, remotePath: string): void {
    this.remove.run(destination, remotePath);
  }
}

function fromRow(r: Row): ShippedRecord {
  return {
    destination: r.destination,
    remotePath: r.remote_path,
    rule: r.rule,
    folder: r.folder,
    path: r.path,
    size: r.size,
    sha256: r.sha256,
    encoding: r.encoding,
    remoteVersion: r.remote_version,
    shippedAt: r.shipped_at,
  };
}
