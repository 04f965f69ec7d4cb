import type { SerializedError } from './errors';
import type { ActionKind, ScanIssue } from './models';
import type { ProgressSnapshot } from './progress';

/** The typed event stream every face (CLI, window, web) consumes. */
export type FerryEvents = {
  'scan:started': { folder: string };
  'scan:progress': { folder: string; seen: number; hashed: number; toHash: number; hashedBytes: number };
  'scan:done': { folder: string; files: number; hashed: number; complete: boolean; durationMs: number };
  'scan:issue': ScanIssue;
  'queue:changed': { pending: number; active: number; failed: number; bytesPending: number };
  'transfer:started': TransferRef;
  'transfer:progress': TransferRef & { bytes: number; total: number; rate: number };
  'transfer:done': TransferRef & {
    bytes: number;
    durationMs: number;
    outcome: 'done' | 'skipped';
    note: string | null;
  };
  'transfer:retry': TransferRef & { attempt: number; delayMs: number; error: SerializedError };
  'transfer:failed': TransferRef & { error: SerializedError };
  /**
   * Stopped before its end, and no failure: cancelled by the person (it leaves the queue and comes back
   * with the next change or rescan), or its folder was paused (it stays queued for the resume).
   */
  'transfer:stopped': TransferRef & { reason: 'cancelled' | 'paused'; durationMs: number };
  'destination:error': { destination: string; error: SerializedError };
  'folder:status': FolderStatus;
  'service:status': { state: ServiceState };
  /** How far the queued work has come, about twice a second while transfers run (shared/progress.ts). */
  progress: ProgressSnapshot;
  /** After each pass: the deletions the brake holds until a person confirms them (empty: none). */
  'deletions:held': { held: { rule: string; where: string; deletes: number; total: number }[] };
  /** Something the person should know that is not tied to one transfer (a watcher fallback, a limit). */
  warning: { folder?: string; destination?: string; message: string };
};

export type TransferRef = {
  jobId: number;
  kind: ActionKind;
  rule: string;
  destination: string | null;
  folder: string;
  path: string;
  remotePath: string | null;
  size: number;
};

export type FerryEventName = keyof FerryEvents;

export type ServiceState = 'starting' | 'idle' | 'syncing' | 'paused' | 'error' | 'stopped';
export type FolderState = 'scanning' | 'watching' | 'syncing' | 'paused' | 'error';
export type FolderStatus = {
  folder: string;
  state: FolderState;
  files: number;
  /** How changes are noticed: native OS events, Node's watcher, or polling. */
  watcher: 'native' | 'fs-events' | 'poll' | null;
  lastScanAt: number | null;
  error: string | null;
};
