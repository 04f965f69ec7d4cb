/**
 * Numbered migrations: append only. Each runs once, in its own transaction, and bumps user_version.
 * Text paths are stored as the file system spells them; sizes and times as integers (mtime in ns).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: index (hash cache), what was shipped where, the persistent queue, history.
  `
  CREATE TABLE files (
    folder     TEXT NOT NULL,
    path       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    ino        INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    md5        TEXT,
    dropbox    TEXT,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (folder, path)
  ) WITHOUT ROWID;

  CREATE TABLE shipped (
    destination    TEXT NOT NULL,
    remote_path    TEXT NOT NULL,
    rule           TEXT NOT NULL,
    folder         TEXT NOT NULL,
    path           TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    remote_version TEXT,
    shipped_at     INTEGER NOT NULL,
    PRIMARY KEY (destination, remote_path)
  );
  CREATE INDEX shipped_by_source ON shipped (folder, path);

  CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    key              TEXT NOT NULL,
    kind             TEXT NOT NULL,
    phase            INTEGER NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'failed')),
    rule             TEXT NOT NULL,
    destination      TEXT,
    folder           TEXT NOT NULL,
    path             TEXT NOT NULL,
    remote_path      TEXT,
    from_remote_path TEXT,
    size             INTEGER NOT NULL,
    sha256           TEXT,
    reason           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    not_before       INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX jobs_key ON jobs (key);
  CREATE INDEX jobs_runnable ON jobs (state, phase, id);

  CREATE TABLE history (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    destination TEXT,
    folder      TEXT NOT NULL,
    path        TEXT NOT NULL,
    remote_path TEXT,
    bytes       INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    error       TEXT
  );
  CREATE INDEX history_at ON history (at);
  CREATE INDEX history_destination ON history (destination, at);
  `,
  // 2: sniffed content types, compressed deliveries, tags in history.
  `
  ALTER TABLE files ADD COLUMN mime TEXT;
  ALTER TABLE shipped ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity';
  ALTER TABLE jobs ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity';
  ALTER TABLE history ADD COLUMN tags TEXT;
  `,
  // 3: interrupted uploads that can resume (a multipart upload id, a session URL, a session offset).
  `
  CREATE TABLE uploads (
    destination TEXT NOT NULL,
    remote_path TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (destination, remote_path)
  );
  `,
  // 4: two-way sync's common base (per rule and path, the content both sides last agreed on), and
  // what a two-way job needs beyond the common columns (a conflicted copy's name, the expected hashes).
  `
  ALTER TABLE jobs ADD COLUMN detail TEXT;
  CREATE TABLE two_way_base (
    rule           TEXT NOT NULL,
    path           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    remote_version TEXT,
    synced_at      INTEGER NOT NULL,
    PRIMARY KEY (rule, path)
  );
  `,
  // 5: the inode change time of each indexed file (NULL: recorded before it was kept).
  `
  ALTER TABLE files ADD COLUMN ctime_ns INTEGER;
  `,
  // 6: the mirror deletion brake's baseline: per rule and destination, the real files held at the state
  // the person last confirmed (deletions spread over passes add up against it).
  `
  CREATE TABLE brake_baselines (
    rule        TEXT NOT NULL,
    destination TEXT NOT NULL,
    files       INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (rule, destination)
  );
  `,
  // 7: lookups for the live path, which plans one change against its rows instead of every row:
  // recorded copies by content (renames), by rule (the brake's count), pending jobs by source, indexed
  // files by file id (where a new path's file was before, when the watcher named only the new path).
  `
  CREATE INDEX files_by_ino ON files (folder, ino);
  CREATE INDEX shipped_by_content ON shipped (destination, sha256);
  CREATE INDEX shipped_by_rule ON shipped (destination, rule, folder);
  CREATE INDEX jobs_by_source ON jobs (folder, path);
  `,
  // 8: versions of what a rule replaced or deleted at a destination, kept in its `.ferry-versions/` area.
  // A row is written 'pending' before the move and made 'kept' after it (versions/keeper.ts).
  `
  CREATE TABLE versions (
    id           INTEGER PRIMARY KEY,
    destination  TEXT NOT NULL,
    remote_path  TEXT NOT NULL,
    kept_at      INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT,
    location     TEXT NOT NULL,
    state        TEXT NOT NULL,
    cause        TEXT NOT NULL,
    rule         TEXT NOT NULL,
    folder       TEXT NOT NULL,
    path         TEXT NOT NULL,
    since        INTEGER,
    UNIQUE (destination, location)
  );
  CREATE INDEX versions_by_path ON versions (destination, remote_path, kept_at);
  CREATE INDEX versions_by_source ON versions (folder, path, kept_at);
  CREATE INDEX versions_by_age ON versions (destination, kept_at);
  `,
];
