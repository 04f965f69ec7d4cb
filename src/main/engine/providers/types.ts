import type { FerryError } from '../../../shared/errors';
import type { HashKind, Hashes } from '../../../shared/hashes';
import type { FileWorkers } from '../workers/fileWorkers';
import type { TempNames } from './tempNames';

/**
 * What a provider may use from the engine: shared worker threads for local file work, secrets resolved
 * from their config references at the moment they are needed, a place to remember uploads that can
 * resume, and this instance's temporary names. Providers and the registry both take it from here.
 */
export type ProviderDeps = {
  workers: FileWorkers;
  /** The value behind a secret reference (env:, file:, keychain:); `what` names it in errors. */
  secret: (ref: string, what: string) => string;
  resume: ResumeStore;
  /**
   * This instance's temporary names (its state directory's tag). Absent for a provider made outside an
   * engine (a test, a one-off check): it then writes under a fresh tag of its own.
   */
  temp?: TempNames;
};

/** A file as a destination holds it. Paths are relative POSIX paths below the destination's root. */
export type RemoteEntry = {
  path: string;
  size: number;
  mtimeMs?: number;
  /** Hashes the destination vouches for (computed by it, or checked by it on upload). */
  hashes?: Partial<Hashes>;
  /** An opaque token that changes whenever the content may have changed (ETag, generation, size+mtime). */
  version?: string;
  /** A temporary object left by an interrupted upload: never a real file, removed on the next run. */
  partial?: boolean;
  /** Tags stored with the file as metadata (destinations with `features.tags`). */
  tags?: readonly string[];
  /** For a `readOnce` source: the hashes of the bytes read and sent (what the index learns of the file). */
  sent?: Hashes;
};

/** What to upload, and what its bytes must hash to: a provider never publishes bytes that do not match. */
export type UploadSource = {
  absPath: string;
  size: number;
  mtimeMs: number;
  /** An unreadMark (shared/hashes.ts) with `readOnce`. */
  hashes: Hashes;
  /**
   * Read once: the file was never read (its SHA-256 is an unreadMark), so the provider hashes every kind here
   * over the very bytes it reads and sends, publishes only if the file is the indexed one (size, mtime,
   * change time, file id) before the read and unchanged after it ('source-changed' otherwise), checks
   * the destination against those hashes as usual, and returns them as `RemoteEntry.sent`. Given only
   * to destinations with `features.hashesWhileSending`.
   */
  readOnce?: ReadOnce;
  /** A rule's tags: stored as metadata by destinations whose `features.tags` is true. */
  tags?: readonly string[];
  /**
   * Two-way sync: the destination's version the plan saw at this path (null: nothing was there).
   * Destinations that can write conditionally (Dropbox's `update` mode) refuse when it changed since.
   */
  replaces?: string | null;
};

export type ReadOnce = { kinds: readonly HashKind[]; mtimeNs: bigint; ino: bigint; ctimeNs?: bigint };

export type TransferOpts = {
  signal: AbortSignal;
  /** Called with the bytes sent so far. */
  onProgress?: (bytesDone: number) => void;
  /** Awaited before each chunk is sent: the bandwidth cap lives behind it. */
  pace?: (bytes: number) => Promise<void>;
  /**
   * The bandwidth cap's shared state (see Bandwidth.attach), for copies that run on another thread and
   * so cannot await `pace` chunk by chunk (the local provider's file workers): they book from the
   * same cap as every other transfer. Absent when there is no cap.
   */
  sharedCap?: SharedArrayBuffer;
};

export type ProviderFeatures = {
  /** Hash kinds the destination can check or report; the scanner computes these up front. */
  hashes: readonly HashKind[];
  /** Whether uploads take a `readOnce` source: a new file is then read once, while it is sent. */
  hashesWhileSending?: boolean;
  caseInsensitive: boolean;
  resumable: boolean;
  /** Largest upload in one request, in bytes (Infinity when unlimited). */
  maxSingleUpload: number;
  /** Whether uploads carry a rule's tags as metadata on the stored file. */
  tags: boolean;
  /**
   * Folders are only prefixes of keys (S3, GCS): a file `p` and a file `p/x` are both held, so a name
   * that changes from file to folder (or back) needs nothing moved out of its way.
   */
  prefixFolders?: boolean;
  /** A folder stays when its last file is moved or deleted (Dropbox); elsewhere Ferry's moves and deletions prune it. */
  emptyFoldersStay?: boolean;
  /**
   * Whether uploads honour `UploadSource.replaces` themselves (Dropbox's update mode, GCS's generation
   * precondition, a compare just before the local rename). Elsewhere two-way uploads stat first.
   */
  conditionalWrites?: boolean;
  /**
   * Whether a file's version token changes whenever its bytes do: an ETag of the bytes, a generation, a
   * revision, a new inode. Absent where it is only size and mtime (SFTP, FTP, a WebDAV ETag made of
   * them): two writes of one size within the mtime's resolution keep one token, so two-way sync reads
   * the destination's copy back before it replaces or deletes it.
   */
  versionPerWrite?: boolean;
  /**
   * Whether names are bytes here, so a name that is not UTF-8 (scan/rawNames.ts) can be held as it is:
   * a local folder on POSIX. Elsewhere such a file fails by name.
   */
  rawNames?: boolean;
};

/**
 * Where a provider keeps what it needs to resume an interrupted upload (an upload id and the parts
 * acknowledged, a session URL, a session id and offset) across a crash or a restart. The state is the
 * provider's own JSON; it is handed back only for the same content (SHA-256) at the same path.
 */
export interface ResumeStore {
  load(destination: string, remotePath: string, sha256: string): unknown;
  save(destination: string, remotePath: string, sha256: string, state: unknown): void;
  clear(destination: string, remotePath: string): void;
  /**
   * Every saved state of a destination. A provider whose interrupted uploads leave visible temporary
   * files does not flag as `partial` (to be removed) the ones a saved state still refers to.
   */
  all(destination: string): { remotePath: string; sha256: string; state: unknown }[];
}

/**
 * What `check()` failed on, as the code of the FerryError it throws: the "test connection" request
 * tells the person which step to fix. Any other code is reported as the `connect` step.
 */
export const CHECK_FAILURES = {
  unreachable: 'connect',
  'tls-mismatch': 'connect',
  'tls-untrusted': 'connect',
  'auth-failed': 'auth',
  'container-missing': 'container',
  'read-only': 'write',
  // Logged in and the folder is there, but the probe could not be written (a dropped connection too).
  'write-failed': 'write',
  // A local or mounted folder says the same in its own words.
  'destination-missing': 'container',
  'destination-not-folder': 'container',
  EACCES: 'write',
  EPERM: 'write',
  EROFS: 'write',
  ENOSPC: 'write',
} as const;
/** `write: false`: look, never write (a routine pass). */
export type CheckOptions = { write?: boolean };

export type CheckStep = (typeof CHECK_FAILURES)[keyof typeof CHECK_FAILURES];

/**
 * The narrow core every destination implements: it takes files. What it holds can be looked at, read
 * back and removed only where the capabilities below say so (`canRead`, `canRemove`): an upload-only
 * endpoint has neither, and the engine goes by its records of what it sent there instead.
 */
export interface Destination {
  readonly id: string;
  readonly type: string;
  readonly features: ProviderFeatures;
  /**
   * Reachable, authorised, the bucket/folder exists; with `write` (the default), writable too: a probe
   * is written and removed. Routine passes ask with `write: false` and write nothing (the first real
   * write proves writability); only `ferry check` and "Test connection" probe. Throws a FerryError whose
   * code is a key of CHECK_FAILURES and whose message says what to fix. Never creates the configured
   * root folder (a missing mount point or server folder is `container-missing`, not made).
   */
  check(signal?: AbortSignal, opts?: CheckOptions): Promise<void>;
  /** What the person should know about this destination's limits, once check() has run (e.g. weak versions). */
  readonly notes?: readonly string[];
  upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry>;
  close(): Promise<void>;
}

/**
 * Capability: what the destination holds can be asked about, listed and read back. Without it (an
 * upload-only endpoint) the planner trusts the shipped records instead of a listing, a `move` rule never
 * counts a copy there as verified, and nothing is read back.
 */
export interface Readable {
  stat(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined>;
  /** Every file below `prefix` ('' for all), recursively; temporary leftovers flagged `partial`. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry>;
  download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry>;
}

export function canRead(d: Destination): d is Destination & Readable {
  const r = d as Partial<Readable>;
  return typeof r.stat === 'function' && typeof r.list === 'function' && typeof r.download === 'function';
}

/** Capability: files can be taken away (a mirror's deletions, leftovers of interrupted uploads). */
export interface Removable {
  /** Removes a file; removing a missing file is not an error. */
  delete(path: string, signal?: AbortSignal): Promise<void>;
}

export function canRemove(d: Destination): d is Destination & Removable {
  return typeof (d as Partial<Removable>).delete === 'function';
}

/** Every destination but an upload-only endpoint: it takes files, and they can be read back and removed. */
export type FullDestination = Destination & Readable & Removable;

/** Capability: rename on the server without moving the bytes again. */
export interface ServerSideMove {
  move(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry>;
}

/**
 * Capability: a second name for the same bytes (a hard link), made at once and atomically. A version
 * kept so stays at its path until the write that replaces it renames over it: the path is never empty.
 */
export interface ServerSideLink {
  link(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry>;
}

export function canLink(d: Destination): d is Destination & ServerSideLink {
  return typeof (d as Partial<ServerSideLink>).link === 'function';
}

/** Capability: copy on the server without uploading the bytes again. */
export interface ServerSideCopy {
  copy(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry>;
}

/** Capability: many small files as one unit of work (one commit round); each item succeeds or fails alone. */
export interface BatchUpload {
  readonly batchLimits: { files: number; bytes: number; fileSize: number };
  uploadBatch(
    items: readonly { path: string; source: UploadSource }[],
    opts: TransferOpts,
  ): Promise<(RemoteEntry | FerryError)[]>;
}

/**
 * Capability: the destination tells when something changed below the root (Dropbox's longpoll), so
 * two-way rules learn of remote changes within seconds instead of polling. Resolves when `signal` aborts.
 */
export interface ChangeFeed {
  watchChanges(onChange: () => void, signal: AbortSignal): Promise<void>;
}

/**
 * Whether a transfer was stopped by a pause (the pool's abort reason): it resumes later, so a resumable
 * upload keeps what the destination already holds, as it does when the network cuts it off.
 */
export function stoppedForPause(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as { code?: unknown } | undefined)?.code === 'paused';
}

export function canWatch(d: Destination): d is Destination & ChangeFeed {
  return typeof (d as Partial<ChangeFeed>).watchChanges === 'function';
}

/**
 * Capability: a deletion that can be undone, into a trash the destination keeps (Dropbox's deleted
 * files, a local folder's `.ferry-trash`). Two-way deletions use it; resolves to where the file went.
 */
export interface RemoteTrash {
  trash(path: string, signal?: AbortSignal): Promise<string>;
}

export function canTrash(d: Destination): d is Destination & RemoteTrash {
  return typeof (d as Partial<RemoteTrash>).trash === 'function';
}

/**
 * Capability: the destination keeps what is replaced or deleted itself (Dropbox's revisions): a file's
 * `RemoteEntry.version` names those bytes for as long as the service keeps them, and they can be read
 * back by it, so Ferry records the version instead of moving the file aside.
 */
export interface OwnVersions {
  downloadVersion(version: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry>;
}

export function keepsOwnVersions(d: Destination): d is FullDestination & OwnVersions {
  return typeof (d as Partial<OwnVersions>).downloadVersion === 'function' && canRead(d) && canRemove(d);
}

/** Capability: a link to one file that can be opened elsewhere (a presigned or signed URL, a file:// URL). */
export interface ShareLinks {
  shareLink(path: string, expiresSec: number): Promise<string>;
}

export function canShare(d: Destination): d is Destination & ShareLinks {
  return typeof (d as Partial<ShareLinks>).shareLink === 'function';
}

export function canUploadBatch(d: Destination): d is Destination & BatchUpload {
  return typeof (d as Partial<BatchUpload>).uploadBatch === 'function';
}

export function canMove(d: Destination): d is Destination & ServerSideMove {
  return typeof (d as Partial<ServerSideMove>).move === 'function';
}

export function canCopy(d: Destination): d is Destination & ServerSideCopy {
  return typeof (d as Partial<ServerSideCopy>).copy === 'function';
}

/** The strongest hash both sides know, used to compare what a destination reports with the index. */
export function commonHash(entry: RemoteEntry, local: Hashes): { kind: HashKind; matches: boolean } | undefined {
  for (const kind of ['sha256', 'dropbox', 'md5'] as const) {
    const remote = entry.hashes?.[kind];
    const mine = local[kind];
    if (remote !== undefined && mine !== undefined) return { kind, matches: remote === mine };
  }
  return undefined;
}
