import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isNetworkError } from '../kit/networkErrors';
import { parseRetryAfter } from '../kit/retryAfter';

/** An HTTP answer from Cloud Storage that was not a success, as the provider's own requests see it. */
export class GcsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    super(gcsMessage(body) ?? `HTTP ${status}`);
    this.name = 'GcsHttpError';
  }
}

/** The message and first reason of a JSON API error body: `{error: {code, message, errors: [{reason}]}}`. */
function gcsMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; error_description?: string };
    if (typeof parsed.error === 'object') return parsed.error.message;
    return parsed.error_description ?? parsed.error;
  } catch {
    return body.trim().slice(0, 200) || undefined;
  }
}

type Parsed = { status?: number; reason?: string; retryAfter?: string; message: string; network: boolean };

/** What any error from the SDK, google-auth-library or our own requests says, in one shape. */
function parse(err: unknown): Parsed {
  const e = err as {
    code?: unknown;
    status?: unknown;
    message?: string;
    errors?: { reason?: string }[];
    response?: { status?: number; headers?: Record<string, unknown> | { get?: (k: string) => string | null } };
    cause?: unknown;
  };
  const message = e?.message ?? String(err);
  if (err instanceof GcsHttpError) {
    let reason: string | undefined;
    try {
      reason = (JSON.parse(err.body) as { error?: { errors?: { reason?: string }[] } }).error?.errors?.[0]?.reason;
    } catch {
      reason = undefined;
    }
    const ra = err.headers['retry-after'];
    return { status: err.status, reason, retryAfter: Array.isArray(ra) ? ra[0] : ra, message, network: false };
  }
  const status = typeof e?.code === 'number' ? e.code : typeof e?.status === 'number' ? e.status : e?.response?.status;
  let retryAfter: string | undefined;
  const h = e?.response?.headers;
  if (h && typeof (h as { get?: unknown }).get === 'function')
    retryAfter = (h as { get: (k: string) => string | null }).get('retry-after') ?? undefined;
  else if (h) retryAfter = (h as Record<string, unknown>)['retry-after'] as string | undefined;
  const network =
    status === undefined &&
    (isNetworkError(err) ||
      /socket hang up|ECONNREFUSED|ECONNRESET|ETIMEDOUT|network|timeout|premature close|other side closed/i.test(
        message,
      ));
  return { status, reason: e?.errors?.[0]?.reason, retryAfter, message, network };
}

/**
 * A 404 about the bucket itself: the JSON API says "The specified bucket does not exist." (the XML API's
 * NoSuchBucket says the same), where a missing object is "No such object: BUCKET/OBJECT".
 */
function bucketMissing(message: string): boolean {
  return !/^No such object:/.test(message) && /specified bucket does not exist|NoSuchBucket/i.test(message);
}

export type GcsOp = 'check' | 'stat' | 'list' | 'upload' | 'download' | 'delete' | 'copy' | 'share';

/**
 * Classifies a Cloud Storage failure (providers classify; the transfer pool retries). `what` says what
 * was being done, for the message; `bucket` names the bucket in hints.
 */
export function classify(err: unknown, what: string, context: ErrorContext, bucket: string): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  const p = parse(err);
  const detail = `${what}: ${p.message}`;
  const opts = { context, cause: err };
  if ((err as { name?: string })?.name === 'AbortError')
    return new FerryError('cancelled', 'cancelled', `${what}: cancelled`, opts);
  if (p.network)
    return new FerryError('retryable', 'network', detail, {
      ...opts,
      hint: 'Cloud Storage could not be reached: check the network (and the endpoint, if one is set)',
    });
  const ra = parseRetryAfter(p.retryAfter);
  switch (p.status) {
    case undefined:
      return new FerryError('permanent', 'gcs-error', detail, opts);
    case 401:
      return new FerryError('auth', 'auth-failed', detail, {
        ...opts,
        hint: 'Cloud Storage refused the credentials: check key_file (a service-account JSON key that is still active)',
      });
    case 403:
      return new FerryError('auth', 'forbidden', detail, {
        ...opts,
        hint: `the service account lacks a permission on bucket "${bucket}": grant it Storage Object Admin (or User) there`,
      });
    case 404:
      // Both answer reason `notFound`; only the message tells a missing bucket from a missing object, whose
      // name (or its bucket's) may well contain the word "bucket".
      if (bucketMissing(p.message))
        return new FerryError('not-found', 'container-missing', detail, {
          ...opts,
          hint: `create the bucket "${bucket}" (or fix the bucket name in the destination)`,
        });
      return new FerryError('not-found', 'not-found', detail, opts);
    case 408:
      return new FerryError('retryable', 'timeout', detail, opts);
    case 409:
      return new FerryError('conflict', 'conflict', detail, opts);
    case 412:
      return new FerryError(
        'retryable',
        'remote-changed',
        `${what}: the object changed at the destination since it was looked at`,
        {
          ...opts,
          hint: 'another writer changed it; the next attempt looks again before writing',
        },
      );
    case 429:
      return new FerryError('rate-limited', 'rate-limited', detail, {
        ...opts,
        ...(ra === undefined ? {} : { retryAfterMs: ra }),
      });
    default:
      if (p.status >= 500)
        return new FerryError('retryable', `http-${p.status}`, detail, {
          ...opts,
          ...(ra === undefined ? {} : { retryAfterMs: ra }),
        });
      if (p.status === 400 && /object name|name must|carriage return|\.well-known/i.test(p.message))
        return new FerryError('invalid-name', 'invalid-name', detail, {
          ...opts,
          hint: 'Cloud Storage cannot hold this name: rename the file or map it with a path template',
        });
      if (p.status === 400 && /MD5|CRC32C/i.test(p.message))
        return new FerryError('retryable', 'verify-failed', detail, opts);
      return new FerryError('permanent', `http-${p.status}`, detail, opts);
  }
}

const ACME = '.well-known/acme-challenge/';

/** GCS object-name rules: 1–1024 bytes of UTF-8, no CR or LF, not "." or "..", not under .well-known/acme-challenge/. */
export function objectNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'the name is empty';
  if (bytes > 1024) return `the name is ${bytes} bytes of UTF-8 (Cloud Storage allows 1,024)`;
  if (/[\r\n]/.test(name)) return 'the name contains a carriage return or a line feed';
  if (name === '.' || name === '..') return 'the name is "." or ".."';
  if (name.startsWith(ACME)) return `names may not start with ${ACME}`;
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name))
    return 'the name is not valid Unicode';
  return undefined;
}
