import type { SerializedError } from './errors';
import type { Hashes } from './hashes';

export const SYNC_MODES = ['backup', 'mirror', 'move', 'two-way'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** A file as the scanner last saw it in a folder. */
export type LocalFile = {
  folder: string;
  /** Relative POSIX path inside the folder, exactly as the file system spells it. */
  path: string;
  size: number;
  /** Modification time in nanoseconds since the epoch (as a decimal string when serialized). */
  mtimeNs: bigint;
  ino: bigint;
  /**
   * Inode change time in nanoseconds: any write moves it, and no tool sets it back, so a same-size
   * edit that restores the mtime (`cp -p`, `touch -r`, an archive) is still seen. Absent in entries
   * recorded before it was kept.
   */
  ctimeNs?: bigint;
  hashes: Hashes;
  /** Content type sniffed from the file's first bytes (magic numbers), when a rule asks for it. */
  mime?: string;
};

/** How bytes are stored at the destination: as they are, or compressed by a rule. */
export const ENCODINGS = ['identity', 'gzip', 'zstd'] as const;
export type Encoding = (typeof ENCODINGS)[number];
export const ENCODING_SUFFIX: Record<Encoding, string> = { identity: '', gzip: '.gz', zstd: '.zst' };

/**
 * What the planner decided for one file and destination. The last five are two-way sync's: bring a
 * remote file home, keep both versions of a file changed on both sides, apply a remote rename here,
 * move a file deleted remotely to the folder's trash, and move a file aside (to a conflicted-copy
 * name) where a folder of the other side needs its name.
 */
export type ActionKind =
  | 'upload'
  | 'move-remote'
  | 'copy-remote'
  | 'delete-remote'
  | 'delete-local'
  | 'download'
  | 'conflict'
  | 'move-local'
  | 'trash-local'
  | 'set-aside';

/** What a two-way job needs beyond the common fields. */
export type ActionDetail = {
  /** download / conflict: what the local file must still be to be replaced (its SHA-256), or null for none. */
  replaces?: string | null;
  /** conflict: where the other side's version is kept; set-aside: where the file goes. */
  conflictPath?: string;
  /** set-aside: which side's file moves to `conflictPath` (both: the same file on both sides). */
  aside?: 'local' | 'remote' | 'both';
  /** set-aside (backup, move): a whole folder of kept copies moves, `fromRemotePath` to `remotePath`. */
  tree?: boolean;
  /**
   * delete-remote / trash-local (two-way): the deletion makes room for a file or a folder of the same
   * name (a file replaced by a folder, or the reverse), so it runs before the pass's writes.
   */
  clearsWay?: boolean;
  /** download: what the destination's listing said of the file; the bytes must agree. */
  expect?: { size?: number; hashes?: Partial<Record<'sha256' | 'md5' | 'dropbox', string>> };
  /** The destination's version token the plan saw (recorded in the base after the transfer). */
  remoteVersion?: string | null;
  /**
   * upload (two-way): the size of the file the plan saw at the destination, null when nothing was there.
   * A file without a version token is there all the same: it is not a new file.
   */
  remoteSize?: number | null;
  /**
   * delete-remote of a copy a rules change left behind: the file is still in the folder, and goes only
   * while it still holds the copy's content (so the copy is never the only one).
   */
  leftBehind?: boolean;
  /** move-remote (two-way): the version of the file at `fromRemotePath` the plan saw; another one is not moved. */
  fromVersion?: string | null;
};

export type Action = {
  kind: ActionKind;
  rule: string;
  destination?: string;
  folder: string;
  /** Local relative path (the source for uploads; the deleted file for delete-local). */
  path: string;
  remotePath?: string;
  /** For move-remote / copy-remote: the remote path the content already sits at. */
  fromRemotePath?: string;
  /** How the bytes are stored at the destination (compressed by the rule, or not). */
  encoding?: Encoding;
  size: number;
  sha256?: string;
  /** Why: shown by `ferry plan` and in the queue. */
  reason: string;
  detail?: ActionDetail;
};

/** How a transfer attempt ended; the order is the one filters offer. */
export const TRANSFER_OUTCOMES = ['done', 'failed', 'skipped', 'cancelled'] as const;
export type TransferOutcome = (typeof TRANSFER_OUTCOMES)[number];

export type HistoryEntry = {
  id: number;
  at: number;
  kind: ActionKind;
  rule: string;
  destination: string | null;
  folder: string;
  path: string;
  remotePath: string | null;
  bytes: number;
  durationMs: number;
  outcome: TransferOutcome;
  error: SerializedError | null;
  /** The rule's tags when the transfer ran. */
  tags: string[];
};

export type ScanIssue = {
  folder: string;
  path: string;
  code: 'unreadable' | 'vanished' | 'symlink-loop' | 'broken-symlink' | 'missing-folder' | 'not-a-folder' | 'changing';
  message: string;
  /** Whether the issue means a file that should be shipped was not. */
  blocking: boolean;
};

/**
 * Where a deletion brake holds deletions: a destination by its id, or a two-way rule's own folder,
 * written `folder ID` (the plan's problems and the status carry it as one string).
 */
export function brakeSiteOfFolder(folder: string): string {
  return `folder ${folder}`;
}

export function parseBrakeSite(where: string): { kind: 'folder' | 'destination'; id: string } {
  return where.startsWith('folder ')
    ? { kind: 'folder', id: where.slice('folder '.length) }
    : { kind: 'destination', id: where };
}
