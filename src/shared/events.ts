import type { SerializedError } from './errors';
import type { ActionKind, ScanIssue } from './models';

/** The typed event stream every face (CLI, window, web) consumes. */
export type FerryEvents = {
  'scan:started': { folder: string };
  'scan:progress': { folder: string; seen: number; hashed: number; toHash: number; hashedBytes: number };
  'scan:done': { folder: string; files: number; hashed: number; complete: boolean; durationMs: number };
  'scan:issue': ScanIssue;
  'queue:changed': { pending: number; active: number; failed: number; bytesPending: number };
  'transfer:started': TransferRef;
  'transfer:progress': TransferRef & { bytes: number; total: number; rate: number };
  'transfer:done': TransferRef & { bytes: number; durationMs: number };
  'transfer:retry': TransferRef & { attempt: number; delayMs: number; error: SerializedError };
  'transfer:failed': TransferRef & { error: SerializedError };
  'destination:error': { destination: string; error: SerializedError };
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
