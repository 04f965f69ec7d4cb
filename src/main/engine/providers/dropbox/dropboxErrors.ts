import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { parseRetryAfter } from '../kit/retryAfter';
import { networkError } from './dropboxTransport';

/**
 * Dropbox's errors, classified. HTTP 409 carries the endpoint's error union (`{"error": {".tag": …}}`);
 * the tags along its chain say what happened (`path` → `conflict` → `file`). 400 is a request Ferry
 * should not have made, 401 an AuthError, 429 a RateLimitError with Retry-After, 5xx Dropbox's trouble.
 */

/** What the SDK throws for a non-2xx answer (DropboxResponseError), as far as Ferry reads it. */
export type DropboxHttpError = {
  name: 'DropboxResponseError';
  status: number;
  headers: { get(name: string): string | null } | undefined;
  error: unknown;
};

export function isDropboxHttpError(err: unknown): err is DropboxHttpError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'DropboxResponseError' &&
    typeof (err as { status?: unknown }).status === 'number'
  );
}

type Union = Record<string, unknown>;

/** The `.tag`s from the outside in: {".tag":"path","path":{".tag":"conflict","conflict":{".tag":"file"}}} → path, conflict, file. */
export function tagChain(error: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = error;
  while (cur && typeof cur === 'object' && typeof (cur as Union)['.tag'] === 'string') {
    const t = (cur as Union)['.tag'] as string;
    out.push(t);
    // A union member is nested under its tag; UploadWriteFailed keeps its WriteError in `reason`.
    cur = (cur as Union)[t] ?? (cur as Union).reason;
  }
  return out;
}

/** The endpoint error body (`error`), when the answer was a 409 (or 401/429, which share the shape). */
export function errorBody(err: unknown): Union | undefined {
  if (!isDropboxHttpError(err)) return undefined;
  const e = err.error as { error?: unknown } | string | undefined;
  return typeof e === 'object' && e !== null && typeof e.error === 'object' ? (e.error as Union) : undefined;
}

export function errorTags(err: unknown): string[] {
  if (!isDropboxHttpError(err)) return [];
  return tagChain(errorBody(err));
}

function summary(err: DropboxHttpError): string {
  const e = err.error as { error_summary?: unknown } | string | undefined;
  if (typeof e === 'object' && e !== null && typeof e.error_summary === 'string')
    return e.error_summary.replace(/\/\.*$/, '');
  if (typeof e === 'string' && e.trim() !== '') return e.trim().slice(0, 300);
  return `HTTP ${err.status}`;
}

export function retryAfterMs(err: DropboxHttpError, now = Date.now()): number {
  // No header (a 409 too_many_write_operations carries none) is not "retry at once": the body's
  // retry_after (seconds), else a second.
  const header = parseRetryAfter(err.headers?.get('retry-after'), now);
  if (header !== undefined) return header;
  const body = errorBody(err) as { retry_after?: unknown } | undefined;
  return typeof body?.retry_after === 'number' ? body.retry_after * 1000 : 1000;
}

const RECONNECT = 'reconnect Dropbox: its access was revoked or has expired; connect again and update refresh_token';

/** Any failure of a Dropbox call as a FerryError whose kind says what retrying would do. */
export function classify(err: unknown, what: string, context: ErrorContext = {}): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  if (!isDropboxHttpError(err)) return networkError(err, what).withContext(context);
  const body = errorBody(err);
  // A RateLimitError is a struct: its reason union sits under `reason`.
  const tags = [...tagChain(body), ...tagChain(body?.reason)];
  const has = (t: string) => tags.includes(t);
  const msg = `${what}: Dropbox answered ${summary(err)}`;
  const opts = { context, cause: err };
  const { status } = err;
  if (status === 429 || has('too_many_write_operations') || has('too_many_requests'))
    return new FerryError('rate-limited', 'rate-limited', msg, {
      ...opts,
      retryAfterMs: retryAfterMs(err),
      hint: has('too_many_write_operations')
        ? 'Dropbox limits writes to one account at a time: Ferry waits and tries again'
        : 'Dropbox asked Ferry to slow down: it waits and tries again',
    });
  if (status >= 500) return new FerryError('retryable', 'server-error', msg, opts);
  if (status === 401) {
    if (has('missing_scope')) {
      const scope = (errorBody(err) as { required_scope?: unknown } | undefined)?.required_scope;
      return new FerryError('auth', 'missing-scope', `${msg} (the app lacks ${String(scope ?? 'a permission')})`, {
        ...opts,
        hint: `reconnect Dropbox with an app that is granted ${String(scope ?? 'the files.content.* permissions')}`,
      });
    }
    return new FerryError('auth', 'auth-failed', msg, { ...opts, hint: RECONNECT });
  }
  if (status === 403) return new FerryError('auth', 'access-denied', msg, { ...opts, hint: RECONNECT });
  if (status === 400) return new FerryError('permanent', 'bad-request', msg, opts);
  if (status !== 409) return new FerryError('permanent', `http-${status}`, msg, opts);
  if (has('not_found') || has('invalid_async_job_id')) return new FerryError('not-found', 'not-found', msg, opts);
  if (has('insufficient_space'))
    return new FerryError('quota', 'quota', msg, {
      ...opts,
      hint: 'the Dropbox account is full: free some space there or upgrade the plan, then sync again',
    });
  if (has('disallowed_name') || has('malformed_path'))
    return new FerryError('invalid-name', 'invalid-name', msg, {
      ...opts,
      hint: "Dropbox cannot hold this name: rename the file, or map it with the rule's path template",
    });
  if (has('conflict') || has('not_file') || has('not_folder'))
    return new FerryError('conflict', 'conflict', msg, {
      ...opts,
      hint:
        has('file_ancestor') || has('folder') || has('not_file') || has('not_folder')
          ? 'a file and a folder want the same name in Dropbox: rename one of them'
          : 'another file already holds this name in Dropbox: rename or remove one of them',
    });
  if (has('no_write_permission') || has('team_folder') || has('restricted_content'))
    return new FerryError('permanent', 'no-write-permission', msg, {
      ...opts,
      hint: "Dropbox does not let this app write there: choose another root, or check the folder's sharing",
    });
  if (has('content_hash_mismatch')) return new FerryError('retryable', 'verify-failed', msg, opts);
  if (has('incorrect_offset') || has('closed') || has('not_closed'))
    return new FerryError('retryable', 'session-state', msg, opts);
  if (has('payload_too_large') || has('too_large')) return new FerryError('permanent', 'too-large', msg, opts);
  return new FerryError('permanent', tags[0] ?? 'dropbox-error', msg, opts);
}
