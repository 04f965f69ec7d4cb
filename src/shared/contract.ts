import { z } from 'zod';
import { destinationSchema, ruleSchema } from './config';
import type { FerryConfig } from './config';
import type { SerializedError } from './errors';
import type { FolderStatus, ServiceState, TransferRef } from './events';
import type { HealthLevel, Need } from './health';
import { TRANSFER_OUTCOMES, type HistoryEntry, type TransferOutcome } from './models';
import type { ProgressSnapshot } from './progress';

/**
 * The one contract every face uses (Electron IPC, the daemon's HTTP + WebSocket API, the CLI):
 * `domain:verb` requests with zod-validated inputs, typed results, and the event stream of
 * `FerryEvents` (events.ts). Inputs are validated where they enter the engine.
 */
const page = { offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(100) };
const folderRef = z.object({ folder: z.string().min(1).optional() }).strict();

/** A keychain entry's name (`keychain:NAME`). */
const secretName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'use letters, digits, "_", "." or "-"');

export const requestSchemas = {
  'status:get': z.object({}).strict(),
  'queue:list': z.object({ state: z.enum(['pending', 'active', 'failed']).default('pending'), ...page }).strict(),
  'transfer:retry': z.object({ id: z.number().int().positive() }).strict(),
  'transfer:retryAll': z.object({}).strict(),
  'transfer:cancel': z.object({ id: z.number().int().positive() }).strict(),
  'sync:pause': folderRef,
  'sync:resume': folderRef,
  /** Lets the deletions the brake holds for one rule go ahead, on the next pass only. */
  'sync:confirmDeletes': z.object({ rule: z.string().min(1) }).strict(),
  /**
   * Removes the copies a rules change left behind at a rule's destinations, on the next pass: only a
   * copy whose file is still in the folder with the same content (checked again when it runs) goes.
   */
  'sync:cleanLeftBehind': z.object({ rule: z.string().min(1) }).strict(),
  /** Scans a folder again now (and watches it afresh), and lists its destinations. */
  'folder:rescan': z.object({ folder: z.string().min(1) }).strict(),
  'config:get': z.object({}).strict(),
  /** A whole new configuration as the YAML file would hold it (validated against the config schema). */
  'config:update': z.object({ config: z.unknown() }).strict(),
  /** "Test connection" for a saved or draft destination: which step failed (connect, auth, container, write). */
  'destination:test': z.object({ destination: destinationSchema }).strict(),
  'rules:preview': z.object({ rule: ruleSchema, limit: z.number().int().min(1).max(10_000).default(500) }).strict(),
  'history:query': z
    .object({
      ...page,
      destination: z.string().optional(),
      outcome: z.enum(TRANSFER_OUTCOMES).optional(),
      from: z.number().int().optional(),
      to: z.number().int().optional(),
      search: z.string().max(500).optional(),
    })
    .strict(),
  'activity:aggregate': z
    .object({
      bucket: z.enum(['day', 'week', 'month']),
      from: z.number().int().optional(),
      to: z.number().int().optional(),
      /** The viewer's offset from UTC in minutes (east positive), so buckets follow local days. */
      utcOffsetMinutes: z.number().int().min(-840).max(840).default(0),
    })
    .strict(),
  /** Where things live: the window's settings page shows it. */
  'app:info': z.object({}).strict(),
  /** Whether a path typed into the window can be a folder to sync (exists, is a folder, readable). */
  'folder:check': z.object({ path: z.string().min(1).max(4096) }).strict(),
  /** Which entries of a folder a draft list of ignore patterns (plus its .ferryignore files) leaves out. */
  'folder:ignorePreview': z
    .object({
      path: z.string().min(1).max(4096),
      ignore: z.array(z.string().max(1000)).max(1000),
      limit: z.number().int().min(1).max(1000).default(200),
    })
    .strict(),
  /**
   * Keeps a secret entered in the window and answers the reference the config holds instead
   * (`keychain:NAME`); the value is never sent back by any request.
   */
  'secret:set': z
    .object({
      name: secretName,
      value: z
        .string()
        .min(1)
        .max(64 * 1024),
    })
    .strict(),
  /**
   * "Connect to Dropbox", first step: answers the consent page's address for the window to open, and
   * waits (in the engine) for Dropbox to send the person back. `endpoint` as in a Dropbox destination.
   */
  'dropbox:authorize': z
    .object({
      app_key: z.string().min(1).max(256),
      endpoint: z.url({ protocol: /^https?$/ }).optional(),
      name: secretName,
    })
    .strict(),
  /** Second step: resolves once the person allowed Ferry; the refresh token is kept as `keychain:NAME`. */
  'dropbox:finish': z.object({ attempt: z.string().min(1).max(64) }).strict(),
  /** One level of a connected destination: its sub-folders and files below `prefix`. */
  'destination:browse': z.object({ destination: z.string().min(1), prefix: z.string().max(4096).default('') }).strict(),
  /** A link to one file at a destination that offers them (a presigned / signed URL, a file:// URL). */
  'destination:shareLink': z
    .object({
      destination: z.string().min(1),
      path: z.string().min(1).max(4096),
      expiresSec: z
        .number()
        .int()
        .min(60)
        .max(7 * 24 * 3600)
        .default(24 * 3600),
    })
    .strict(),
  /** Files and bytes Ferry has shipped to each destination and that are still there, from the records. */
  'destination:usage': z.object({}).strict(),
  /** Two-way rules' conflicted copies (kept beside the file when both sides changed it). */
  'conflicts:list': z.object({}).strict(),
  /** The remotes of an rclone config (default: where rclone keeps it) and whether each can be imported. */
  'rclone:remotes': z.object({ path: z.string().min(1).max(4096).optional() }).strict(),
  /**
   * Adds a destination for each remote (`NAME`, or `NAME:PATH` for a bucket or folder), its secrets
   * moved into the secret store; the config is saved and applied as by `config:update`.
   */
  'rclone:import': z
    .object({
      path: z.string().min(1).max(4096).optional(),
      remotes: z.array(z.string().min(1).max(4200)).min(1).max(500),
    })
    .strict(),
  /**
   * Settles one: keep mine (the copy goes to the trash), keep theirs (the copy replaces the file, whose
   * content goes to the trash), or keep both (the copy keeps a plain name). Either way it syncs.
   */
  'conflicts:resolve': z
    .object({
      folder: z.string().min(1),
      copy: z.string().min(1).max(4096),
      keep: z.enum(['mine', 'theirs', 'both']),
    })
    .strict(),
  /**
   * Every kept version of a folder's file, or of every file below a folder path ('' for the whole
   * folder), at the destinations of `rule` (else of every rule reading the folder).
   */
  'versions:list': z
    .object({
      folder: z.string().min(1),
      path: z.string().max(4096).default(''),
      rule: z.string().min(1).optional(),
    })
    .strict(),
  /**
   * Brings files or folders back as they were at `at` (ms since the epoch), verified by checksum and
   * written atomically; into the folder itself (the current files kept as versions first) or below `to`.
   */
  'versions:restore': z
    .object({
      folder: z.string().min(1),
      paths: z.array(z.string().max(4096)).min(1, 'name at least one path').max(1000),
      at: z.number().int().min(0),
      to: z.string().min(1).max(4096).optional(),
      rule: z.string().min(1).optional(),
    })
    .strict(),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestInput<K extends RequestName> = z.input<(typeof requestSchemas)[K]>;
export type RequestArgs<K extends RequestName> = z.output<(typeof requestSchemas)[K]>;

/** A queued transfer as the window lists it: what it is about (as in events) plus its queue state. */
export type QueueItem = Omit<TransferRef, 'jobId'> & {
  id: number;
  reason: string;
  attempts: number;
  lastError: SerializedError | null;
  state: 'pending' | 'active' | 'failed';
};

export type StatusResult = {
  state: ServiceState;
  /** One sentence on whether everything is safe, derived from all that follows (shared/health.ts). */
  summary: string;
  level: HealthLevel;
  /** What waits for the person: the sidebar's and the tray's badge count them. */
  needs: Need[];
  /** Every configured folder; `used`: some rule reads it (only those are watched and scanned). */
  folders: (FolderStatus & { used: boolean })[];
  /** `used`: some rule sends there (a destination no rule uses is not connected, and that is fine). */
  destinations: { id: string; ok: boolean; error: string | null; used: boolean }[];
  queue: { pending: number; active: number; failed: number; bytesPending: number };
  /** Files whose rule wants more verified copies than the destinations hold yet (a move keeps them). */
  belowQuorum: {
    count: number;
    sample: { rule: string; folder: string; path: string; copies: number; needed: number }[];
  };
  /** Files no rule catches (`ferry plan` lists them). */
  uncaught: number;
  /**
   * Deletions held by the brake: a rule would delete `deletes` of the `total` files it keeps at `where`
   * (a destination id, or `folder ID` for a two-way rule's local side). Nothing is deleted until confirmed.
   */
  heldDeletions: { rule: string; where: string; deletes: number; total: number }[];
  /**
   * Copies a mirror rule shipped of files that are still in the folder but that it no longer sends
   * there (its rules changed): kept until the person removes them (`sync:cleanLeftBehind`).
   */
  leftBehind: { rule: string; destination: string; count: number; sample: string[] }[];
  /** How far the queued work has come (the same figures the Queue page and the tray show). */
  progress: ProgressSnapshot;
  /**
   * The bandwidth caps in force now, bytes/s each way (0: none), and when `settings.bandwidth_schedule`
   * changes them next (ms since the epoch; null: never).
   */
  bandwidth: { up: number; down: number; until: number | null; scheduled: boolean };
  /** Why everything is paused without the person asking (the desktop app: on battery, a metered network). */
  hold: string | null;
};

/** An option of an rclone remote that Ferry does not take, and why. */
export type IgnoredOption = { option: string; reason: string };

/** One remote of an rclone config as the window lists it: importable (as which type) or why not. */
export type RcloneRemoteInfo = {
  name: string;
  /** rclone's type name (`s3`, `google cloud storage`, `sftp`…). */
  type: string;
  /** S3 and GCS remotes need a bucket after the colon, a local one a folder. */
  needsPath: boolean;
  ignored: IgnoredOption[];
} & ({ ok: true; destinationType: string } | { ok: false; reason: string });

/** What importing one remote did: the destination it added with its secrets' references, or why not. */
export type RcloneImportOutcome =
  | {
      remote: string;
      type: string;
      ok: true;
      destination: string;
      destinationType: string;
      secrets: string[];
      ignored: IgnoredOption[];
    }
  | { remote: string; type: string; ok: false; reason: string; ignored: IgnoredOption[] };

/** What a draft rule would do, from the index (see rules/preview.ts). Samples are capped; counts are not. */
export type PreviewResult = {
  /** Files the draft catches (up to `limit`), where each would go, and which other rules also catch it. */
  matches: { folder: string; path: string; size: number; remotePath: string; also: string[] }[];
  total: number;
  /** Files of the draft's folders it does not catch. */
  unmatched: number;
  /** Files the draft's conditions hold for, kept from it by an earlier rule with `stop`. */
  shadowed: { count: number; sample: { folder: string; path: string; by: string }[] };
  /** With the draft in place, files that no rule catches (reported, never silently dropped). */
  uncaught: { count: number; sample: { folder: string; path: string }[] };
  /** Two of the draft's files mapped to one remote path. */
  collisions: { count: number; sample: { remotePath: string; paths: [string, string] }[] };
  /** Files whose content type is not known yet, although the draft asks for it (sniffed once it is saved). */
  untyped: number;
};

export type DestinationTestResult = {
  ok: boolean;
  /** The step that failed: the server could not be reached, refused the credentials, has no such bucket/folder, or refused a write. */
  step: 'connect' | 'auth' | 'container' | 'write' | null;
  message: string;
  hint: string | null;
  durationMs: number;
};

export type ActivityRow = { bucket: string; destination: string | null; files: number; bytes: number };

export type AppInfo = {
  version: string;
  platform: string;
  /** Which face serves the window: the desktop app or the daemon's web mode. */
  face: 'desktop' | 'daemon';
  configPath: string;
  stateDir: string;
  /** Where `keychain:` secrets are kept: the OS keychain (desktop) or a private file in the state directory. */
  secretStore: string;
};

export type FolderCheckResult = {
  ok: boolean;
  /** The path as Ferry reads it (`~` expanded, absolute). */
  resolved: string;
  message: string;
  /** Entries directly inside, when it is a readable folder. */
  entries?: number;
};

export type IgnorePreviewResult = {
  /** Entries the patterns leave out (a left-out folder counts once, with a trailing "/"). */
  ignored: string[];
  ignoredCount: number;
  /** Entries looked at; the walk stops after a cap on big trees. */
  scanned: number;
  truncated: boolean;
};

export type BrowseEntry = { name: string; path: string; dir: boolean; size: number; mtimeMs: number | null };
export type BrowseResult = { prefix: string; entries: BrowseEntry[]; truncated: boolean; shareLinks: boolean };

export type UsageRow = { destination: string; files: number; bytes: number; lastShippedAt: number | null };

export type ConflictItem = {
  rule: string;
  folder: string;
  /** The file as it is here ("mine"), and the other side's version kept beside it ("theirs"). */
  path: string;
  copy: string;
  host: string;
  date: string;
  mine: { size: number; mtimeMs: number } | null;
  theirs: { size: number; mtimeMs: number };
};

/** One kept version (see `versions:list`). `cause`: what the pass did to the file then. */
export type VersionItem = {
  keptAt: number;
  /** When these bytes arrived at the destination; null when not known. */
  since: number | null;
  size: number;
  sha256: string | null;
  cause: 'replaced' | 'deleted' | 'restore';
  location: string;
};

export type VersionFile = {
  path: string;
  destination: string;
  remotePath: string;
  /** The copy there now, as Ferry shipped it. */
  current: { shippedAt: number; size: number; sha256: string } | null;
  /** Newest first. */
  versions: VersionItem[];
};

export type RestoredItem = {
  path: string;
  file: string;
  destination: string;
  from: string;
  size: number;
  sha256: string;
  keptCurrent?: string;
  unchanged?: boolean;
};

export type ConfigUpdateResult =
  { ok: true } | { ok: false; problems: { path: string; message: string; line?: number; column?: number }[] };

export type Results = {
  'status:get': StatusResult;
  'queue:list': { total: number; items: QueueItem[] };
  'transfer:retry': { ok: boolean };
  'transfer:retryAll': { retried: number };
  'transfer:cancel': { ok: boolean };
  'sync:pause': StatusResult;
  'sync:resume': StatusResult;
  'sync:confirmDeletes': { ok: boolean };
  'sync:cleanLeftBehind': { ok: boolean };
  'folder:rescan': { ok: boolean };
  'config:get': FerryConfig;
  'config:update': ConfigUpdateResult;
  'destination:test': DestinationTestResult;
  'rules:preview': PreviewResult;
  'history:query': { total: number; items: HistoryEntry[] };
  'rclone:remotes': { file: string; remotes: RcloneRemoteInfo[] };
  'rclone:import': { outcomes: RcloneImportOutcome[] };
  'activity:aggregate': ActivityRow[];
  'app:info': AppInfo;
  'folder:check': FolderCheckResult;
  'folder:ignorePreview': IgnorePreviewResult;
  'secret:set': { ref: string };
  'dropbox:authorize': { attempt: string; url: string };
  'dropbox:finish': { ref: string };
  'destination:browse': BrowseResult;
  'destination:shareLink': { url: string; expiresAt: number | null };
  'destination:usage': UsageRow[];
  'conflicts:list': { items: ConflictItem[] };
  'conflicts:resolve': { ok: boolean; message: string };
  'versions:list': { items: VersionFile[] };
  'versions:restore': { at: number; restored: RestoredItem[] };
};

/** What a face implements or calls: one method per request. */
export type FerryApi = { [K in RequestName]: (input: RequestArgs<K>) => Promise<Results[K]> };

/** The wire form of an error answer. */
export type ApiError = {
  error: { code: string; message: string; hint?: string; issues?: { path: string; message: string }[] };
};

export function isRequestName(name: string): name is RequestName {
  return Object.hasOwn(requestSchemas, name);
}

export type { HistoryEntry, TransferOutcome };
