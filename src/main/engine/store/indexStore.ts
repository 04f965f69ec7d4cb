import type { Hashes } from '../../../shared/hashes';
import type { LocalFile } from '../../../shared/models';
import type { Db } from './db';

/** The hash cache: what each file was when last hashed. */
export class IndexStore {
  private readonly selectFolder;
  private readonly upsert;
  private readonly remove;
  private readonly selectOne;
  private readonly selectUnder;
  private readonly selectIno;
  private readonly selectPaths;

  constructor(private readonly db: Db) {
    // Raw rows (arrays) load about 3× faster than objects: this runs on every rescan.
    this.selectFolder = db
      .prepare('SELECT path, size, mtime_ns, ino, sha256, md5, dropbox, mime, ctime_ns FROM files WHERE folder = ?')
      .safeIntegers(true)
      .raw(true);
    this.selectOne = db
      .prepare(
        `SELECT path, size, mtime_ns, ino, sha256, md5, dropbox, mime, ctime_ns
         FROM files WHERE folder = ? AND path = ?`,
      )
      .safeIntegers(true)
      .raw(true);
    // '/' + 1 is '0': the range holds exactly the paths below a folder, read from the primary key.
    this.selectUnder = db
      .prepare(
        `SELECT path, size, mtime_ns, ino, sha256, md5, dropbox, mime, ctime_ns
         FROM files WHERE folder = ? AND path > ? AND path < ?`,
      )
      .safeIntegers(true)
      .raw(true);
    this.selectIno = db
      .prepare(
        `SELECT path, size, mtime_ns, ino, sha256, md5, dropbox, mime, ctime_ns
         FROM files WHERE folder = ? AND ino = ?`,
      )
      .safeIntegers(true)
      .raw(true);
    this.upsert = db.prepare(
      `INSERT INTO files (folder, path, size, mtime_ns, ino, ctime_ns, sha256, md5, dropbox, mime, seen_at)
       VALUES (@folder, @path, @size, @mtime_ns, @ino, @ctime_ns, @sha256, @md5, @dropbox, @mime, @seen_at)
       ON CONFLICT (folder, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, ino = excluded.ino,
         ctime_ns = excluded.ctime_ns,
         sha256 = excluded.sha256, md5 = excluded.md5, dropbox = excluded.dropbox, mime = excluded.mime,
         seen_at = excluded.seen_at`,
    );
    this.remove = db.prepare('DELETE FROM files WHERE folder = ? AND path = ?');
    this.selectPaths = db.prepare('SELECT path FROM files WHERE folder = ?').pluck(true);
  }

  /** The indexed rows of these paths (undefined where none), read in one transaction. */
  getMany(folder: string, paths: readonly string[]): (LocalFile | undefined)[] {
    return this.db.transaction(() => paths.map((p) => this.get(folder, p)))();
  }

  /** Every indexed path of a folder, one at a time (a folder's paths are never all held at once). */
  paths(folder: string): IterableIterator<string> {
    return this.selectPaths.iterate(folder) as IterableIterator<string>;
  }

  loadFolder(folder: string): Map<string, LocalFile> {
    const out = new Map<string, LocalFile>();
    for (const row of this.selectFolder.iterate(folder) as Iterable<RawRow>) out.set(row[0], fromRaw(folder, row));
    return out;
  }

  get(folder: string, path: string): LocalFile | undefined {
    const row = this.selectOne.get(folder, path) as RawRow | undefined;
    return row && fromRaw(folder, row);
  }

  /** The indexed files below a folder of the tree (`dir` relative, without a trailing slash). */
  under(folder: string, dir: string): LocalFile[] {
    const rows = this.selectUnder.all(folder, `${dir}/`, `${dir}0`) as RawRow[];
    return rows.map((r) => fromRaw(folder, r));
  }

  /** The indexed files with this file id (a renamed file keeps its id). */
  withIno(folder: string, ino: bigint): LocalFile[] {
    return (this.selectIno.all(folder, ino) as RawRow[]).map((r) => fromRaw(folder, r));
  }

  putMany(files: readonly LocalFile[]): void {
    const now = Date.now();
    this.db.transaction(() => {
      for (const f of files)
        this.upsert.run({
          folder: f.folder,
          path: f.path,
          size: f.size,
          mtime_ns: f.mtimeNs,
          ino: f.ino,
          ctime_ns: f.ctimeNs ?? null,
          sha256: f.hashes.sha256,
          md5: f.hashes.md5 ?? null,
          dropbox: f.hashes.dropbox ?? null,
          mime: f.mime ?? null,
          seen_at: now,
        });
    })();
  }

  removeMany(folder: string, paths: Iterable<string>): void {
    this.db.transaction(() => {
      for (const p of paths) this.remove.run(folder, p);
    })();
  }
}

type RawRow = [
  path: string,
  size: bigint,
  mtimeNs: bigint,
  ino: bigint,
  sha256: string,
  md5: string | null,
  dropbox: string | null,
  /** NULL: never sniffed. */
  mime: string | null,
  /** NULL: recorded before change times were kept. */
  ctimeNs: bigint | null,
];

function fromRaw(folder: string, [path, size, mtimeNs, ino, sha256, md5, dropbox, mime, ctimeNs]: RawRow): LocalFile {
  const hashes: Hashes = { sha256 };
  if (md5 !== null) hashes.md5 = md5;
  if (dropbox !== null) hashes.dropbox = dropbox;
  const file: LocalFile = { folder, path, size: Number(size), mtimeNs, ino, hashes };
  if (mime !== null) file.mime = mime;
  if (ctimeNs !== null) file.ctimeNs = ctimeNs;
  return file;
}
