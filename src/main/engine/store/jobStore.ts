import type { SerializedError } from '../../../shared/errors';
import type { TransferRef } from '../../../shared/events';
import type { Action, ActionDetail, ActionKind, Encoding } from '../../../shared/models';
import type { QueuedWork } from '../../../shared/progress';
import type { Db } from './db';

/** A job is pending until it is done (then deleted: history keeps it) or failed for good. Which jobs
 * are running is the pool's knowledge, not the database's: after a crash every pending job simply runs. */
export type JobState = 'pending' | 'failed';

/** A persisted action: written before it runs, removed when it is done (history keeps the record). */
export type Job = Action & {
  id: number;
  key: string;
  phase: number;
  state: JobState;
  attempts: number;
  notBefore: number;
  lastError: SerializedError | null;
  createdAt: number;
};

/**
 * Renames first (so a new file at an old name is not clobbered), then uploads, then deletions. A
 * deletion that makes room for a file or folder of the same name (`detail.clearsWay`) runs with the
 * renames, before the writes that need the room.
 */
export const PHASE: Record<ActionKind, number> = {
  'move-remote': 0,
  'copy-remote': 0,
  'move-local': 0,
  'set-aside': 0,
  upload: 1,
  download: 1,
  conflict: 1,
  'delete-remote': 2,
  'delete-local': 3,
  'trash-local': 3,
};

/** Jobs about a local path (their key is the folder and path, not a remote path). */
const LOCAL_KINDS: ReadonlySet<ActionKind> = new Set([
  'delete-local',
  'trash-local',
  'move-local',
  'download',
  'conflict',
]);

/** How a job appears in events: what it is about, without its queue bookkeeping. */
export function transferRef(job: Job): TransferRef {
  return {
    jobId: job.id,
    kind: job.kind,
    rule: job.rule,
    destination: job.destination ?? null,
    folder: job.folder,
    path: job.path,
    remotePath: job.remotePath ?? null,
    size: job.size,
  };
}

export function jobKey(a: Pick<Action, 'kind' | 'destination' | 'remotePath' | 'folder' | 'path'>): string {
  return LOCAL_KINDS.has(a.kind)
    ? `local\u0000${a.folder}\u0000${a.path}`
    : `remote\u0000${a.destination}\u0000${a.remotePath}`;
}

type Row = {
  id: number;
  key: string;
  kind: ActionKind;
  phase: number;
  state: JobState;
  rule: string;
  destination: string | null;
  folder: string;
  path: string;
  remote_path: string | null;
  from_remote_path: string | null;
  encoding: Encoding;
  size: number;
  sha256: string | null;
  reason: string;
  attempts: number;
  not_before: number;
  last_error: string | null;
  created_at: number;
  detail: string | null;
};

export type QueueCounts = { pending: number; failed: number; bytesPending: number };

export class JobStore {
  private readonly insert;
  private readonly nextPending;
  private readonly setRetry;
  private readonly setFailed;
  private readonly remove;
  private readonly lowestPhase;
  private readonly byId;
  private readonly countStmt;
  private readonly queuedStmt;
  private readonly dropFailed;
  private readonly byKey;
  private readonly dropSource;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO jobs (key, kind, phase, state, rule, destination, folder, path, remote_path, from_remote_path, encoding, size, sha256, reason, created_at, detail)
       VALUES (@key, @kind, @phase, 'pending', @rule, @destination, @folder, @path, @remotePath, @fromRemotePath, @encoding, @size, @sha256, @reason, @createdAt, @detail)`,
    );
    this.nextPending = db.prepare(
      `SELECT * FROM jobs WHERE state = 'pending' AND phase = ? AND id > ? ORDER BY id LIMIT ?`,
    );
    this.setRetry = db.prepare(`UPDATE jobs SET attempts = attempts + 1, not_before = ?, last_error = ? WHERE id = ?`);
    this.setFailed = db.prepare(
      `UPDATE jobs SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`,
    );
    this.remove = db.prepare('DELETE FROM jobs WHERE id = ?');
    this.dropFailed = db.prepare(`DELETE FROM jobs WHERE key = ? AND state = 'failed'`);
    this.byKey = db.prepare('SELECT * FROM jobs WHERE key = ?');
    this.dropSource = db.prepare(`DELETE FROM jobs WHERE state = 'pending' AND folder = ? AND path = ?`);
    this.lowestPhase = db.prepare(`SELECT MIN(phase) AS phase FROM jobs WHERE state = 'pending'`);
    this.byId = db.prepare('SELECT * FROM jobs WHERE id = ?');
    this.queuedStmt = db.prepare(
      `SELECT folder, COUNT(*) AS files, COALESCE(SUM(CASE WHEN kind = 'upload' THEN size ELSE 0 END), 0) AS bytes
       FROM jobs WHERE state = 'pending' GROUP BY folder`,
    );
    this.countStmt = db.prepare(
      `SELECT state, COUNT(*) AS n, COALESCE(SUM(CASE WHEN kind = 'upload' THEN size ELSE 0 END), 0) AS bytes FROM jobs GROUP BY state`,
    );
  }

  /**
   * Replaces the queue's pending work with a fresh plan in one transaction. The plan is derived from
   * the index and the destinations, so nothing finished is lost; failed jobs for the same target are
   * superseded, other failed jobs stay for the person to see.
   */
  replacePlan(actions: readonly Action[], now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM jobs WHERE state = 'pending'`).run();
      for (const a of actions) this.insertAction(a, now);
    })();
  }

  /**
   * Replaces the pending work of some source files only (the live path planned just them), in one
   * transaction: their pending jobs go, the fresh actions come in.
   */
  replaceFor(sources: readonly { folder: string; path: string }[], actions: readonly Action[], now = Date.now()): void {
    this.db.transaction(() => {
      for (const s of sources) this.dropSource.run(s.folder, s.path);
      for (const a of actions) this.insertAction(a, now);
    })();
  }

  /** The job (pending or failed) that writes or removes this target, if any. */
  atKey(key: string): Job | undefined {
    const row = this.byKey.get(key) as Row | undefined;
    return row && fromRow(row);
  }

  /**
   * One more job for the running pass (a job that made work of its own, such as a conflicted copy to
   * send): a running drain picks it up in its phase, so the pass ends only once it is settled too.
   */
  add(action: Action, now = Date.now()): void {
    this.db.transaction(() => this.insertAction(action, now))();
  }

  /** Failed jobs for the same target are superseded. */
  private insertAction(a: Action, now: number): void {
    const key = jobKey(a);
    this.dropFailed.run(key);
    this.insert.run({
      key,
      kind: a.kind,
      phase: a.detail?.clearsWay === true ? 0 : PHASE[a.kind],
      rule: a.rule,
      destination: a.destination ?? null,
      folder: a.folder,
      path: a.path,
      remotePath: a.remotePath ?? null,
      fromRemotePath: a.fromRemotePath ?? null,
      encoding: a.encoding ?? 'identity',
      size: a.size,
      sha256: a.sha256 ?? null,
      reason: a.reason,
      createdAt: now,
      detail: a.detail === undefined ? null : JSON.stringify(a.detail),
    });
  }

  /** Pending jobs of a phase after `afterId`, oldest first: the pool reads the queue in pages. */
  pendingAfter(phase: number, afterId: number, limit: number): Job[] {
    return (this.nextPending.all(phase, afterId, limit) as Row[]).map(fromRow);
  }

  /** The phase whose jobs may run now: later phases wait until every earlier one is settled. */
  currentPhase(excludeFolders: readonly string[] = []): number | undefined {
    const row = (
      excludeFolders.length === 0
        ? this.lowestPhase.get()
        : this.db
            .prepare(
              `SELECT MIN(phase) AS phase FROM jobs WHERE state = 'pending' AND folder NOT IN (${excludeFolders.map(() => '?').join(', ')})`,
            )
            .get(...excludeFolders)
    ) as { phase: number | null };
    return row.phase ?? undefined;
  }

  get(id: number): Job | undefined {
    const row = this.byId.get(id) as Row | undefined;
    return row && fromRow(row);
  }

  complete(id: number): void {
    this.remove.run(id);
  }

  /** Another attempt later; `notBefore` is persisted so that a restart honours the backoff too. */
  retryLater(id: number, notBefore: number, error: SerializedError): void {
    this.setRetry.run(notBefore, JSON.stringify(error), id);
  }

  fail(id: number, error: SerializedError): void {
    this.setFailed.run(JSON.stringify(error), id);
  }

  counts(): QueueCounts {
    const rows = this.countStmt.all() as { state: JobState; n: number; bytes: number }[];
    const out: QueueCounts = { pending: 0, failed: 0, bytesPending: 0 };
    for (const r of rows) {
      out[r.state] = r.n;
      if (r.state !== 'failed') out.bytesPending += r.bytes;
    }
    return out;
  }

  /** Pending jobs (running ones included) per folder, and the bytes of their uploads: what is left to do. */
  queuedByFolder(): QueuedWork[] {
    return this.queuedStmt.all() as QueuedWork[];
  }

  /** A page of jobs in one state, oldest first, and how many there are. */
  page(state: JobState, offset: number, limit: number): { total: number; items: Job[] } {
    const total = (this.db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE state = ?').get(state) as { n: number }).n;
    const rows = this.db
      .prepare('SELECT * FROM jobs WHERE state = ? ORDER BY id LIMIT ? OFFSET ?')
      .all(state, limit, offset) as Row[];
    return { total, items: rows.map(fromRow) };
  }

  /** A failed job becomes pending again, with a fresh count of attempts. Returns how many were retried. */
  retryFailed(id?: number): number {
    const sql = `UPDATE jobs SET state = 'pending', attempts = 0, not_before = 0 WHERE state = 'failed'${id === undefined ? '' : ' AND id = ?'}`;
    return (id === undefined ? this.db.prepare(sql).run() : this.db.prepare(sql).run(id)).changes;
  }

  /**
   * Unfinished one-way writes of whole content to a destination (uploads as they are, server-side
   * renames and copies): after a crash, what may be there without a record (see adoptInterrupted.ts).
   * Two-way jobs (with a detail) and compressed uploads are left out.
   */
  unfinishedWrites(destination: string): Job[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM jobs WHERE state = 'pending' AND destination = ? AND kind IN ('upload', 'move-remote', 'copy-remote')
           AND encoding = 'identity' AND sha256 IS NOT NULL AND remote_path IS NOT NULL AND detail IS NULL ORDER BY id`,
      )
      .all(destination) as Row[];
    return rows.map(fromRow);
  }

  list(state: JobState): Job[] {
    return (this.db.prepare('SELECT * FROM jobs WHERE state = ? ORDER BY id').all(state) as Row[]).map(fromRow);
  }
}

function fromRow(r: Row): Job {
  const job: Job = {
    id: r.id,
    key: r.key,
    kind: r.kind,
    phase: r.phase,
    state: r.state,
    rule: r.rule,
    folder: r.folder,
    path: r.path,
    size: r.size,
    reason: r.reason,
    attempts: r.attempts,
    notBefore: r.not_before,
    lastError: r.last_error === null ? null : (JSON.parse(r.last_error) as SerializedError),
    createdAt: r.created_at,
  };
  if (r.destination !== null) job.destination = r.destination;
  if (r.remote_path !== null) job.remotePath = r.remote_path;
  if (r.encoding !== 'identity') job.encoding = r.encoding;
  if (r.from_remote_path !== null) job.fromRemotePath = r.from_remote_path;
  if (r.sha256 !== null) job.sha256 = r.sha256;
  if (r.detail) job.detail = JSON.parse(r.detail) as ActionDetail;
  return job;
}
