import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isNetworkError } from '../kit/networkErrors';
import { parseRetryAfter } from '../kit/retryAfter';

/** What the SDK hangs on its errors: the HTTP status, the S3 error code, the raw response's headers. */
type SdkError = Error & {
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
};

const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestThrottled',
  'ServiceUnavailable',
]);

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AccountProblem',
  'AllAccessDisabled',
  'InvalidSecurity',
  'CredentialsProviderError',
]);

/** Codes S3-compatible stores use for "full" (Ceph RGW, MinIO, and the 507 some gateways answer). */
const QUOTA_CODES = new Set(['QuotaExceeded', 'XMinioStorageFull', 'StorageFull', 'InsufficientStorage']);

/** Transient answers from the server about the request itself (send it again). */
const TRANSIENT_CODES = new Set(['RequestTimeout', 'InternalError', 'BadDigest', 'IncompleteBody', 'OperationAborted']);

export type S3ErrorInfo = { status: number | undefined; code: string | undefined; network: boolean };

/** The HTTP status and S3 error code of an SDK error, and whether it never got an answer at all. */
export function errorInfo(err: unknown): S3ErrorInfo {
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  const named = e?.name && !['Error', 'UnknownError', 'Unknown', 'TypeError'].includes(e.name) ? e.name : undefined;
  const code = e?.Code ?? named;
  const network =
    status === undefined &&
    (isNetworkError(err) ||
      e?.name === 'TimeoutError' ||
      /socket hang up|ECONNRESET|timed out|premature close/i.test(e?.message ?? ''));
  return { status, code, network };
}

/** Retry-After in milliseconds (seconds or an HTTP date), when the answer carried one. */
export function retryAfterMs(err: unknown): number | undefined {
  return parseRetryAfter((err as SdkError)?.$response?.headers?.['retry-after']);
}

export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (err as Error)?.name === 'AbortError';
}

/**
 * Turns anything the SDK (or the network under it) throws into a FerryError whose kind says what
 * retrying would do. Retrying is the transfer pool's business: nothing here waits or tries again.
 */
/** What went wrong, in a few words: the S3 code and its message, or the HTTP status, or the socket error. */
export function describe(err: unknown): string {
  const { status, code } = errorInfo(err);
  const e = err as SdkError;
  const head = code ?? (status !== undefined ? `HTTP ${status}` : (e?.code ?? e?.name ?? 'error'));
  const msg = e?.message && e.message !== code && !/^Unknown/.test(e.message) ? ` (${short(e.message)})` : '';
  return `${head}${msg}`;
}

export function classify(err: unknown, what: string, context: ErrorContext, signal?: AbortSignal): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  if (isAbort(err, signal)) {
    // A FerryError given as the abort reason (a pause, a person's cancel) says it better.
    const reason: unknown = signal?.reason;
    if (reason instanceof FerryError && reason.kind === 'cancelled') return reason.withContext(context);
    return new FerryError('cancelled', 'cancelled', `${what}: cancelled`, { context, cause: err });
  }
  const { status, code, network } = errorInfo(err);
  const message = `${what}: ${describe(err)}`;
  const opts = { context, cause: err };
  if (network)
    return new FerryError('retryable', 'network', message, {
      ...opts,
      hint: 'the connection to the server failed or stalled; Ferry tries again',
    });
  // S3 says "slow down" with 503 SlowDown (or 429 on some stores); a bare 503 (a balancer) is only
  // transient unless it says when to come back.
  const after = retryAfterMs(err);
  if (status === 429 || THROTTLE_CODES.has(code ?? '') || (status === 503 && after !== undefined)) {
    return new FerryError('rate-limited', 'rate-limited', message, {
      ...opts,
      ...(after === undefined ? {} : { retryAfterMs: after }),
      hint: 'the server asked Ferry to slow down; lower settings.transfers if this persists',
    });
  }
  if (code === 'NoSuchBucket')
    return new FerryError('not-found', 'container-missing', message, {
      ...opts,
      hint: "create the bucket, or fix the destination's bucket (and endpoint/region) in the configuration",
    });
  if (QUOTA_CODES.has(code ?? '') || status === 507)
    return new FerryError('quota', 'quota', message, {
      ...opts,
      hint: 'the bucket or account is full: free space or raise its quota',
    });
  if (code === 'KeyTooLongError')
    return new FerryError('invalid-name', 'key-too-long', message, {
      ...opts,
      hint: 'S3 keys are at most 1,024 bytes (UTF-8): shorten the path or the prefix',
    });
  if (AUTH_CODES.has(code ?? '') || status === 401 || status === 403)
    return new FerryError('auth', code === 'AccessDenied' ? 'access-denied' : 'auth-failed', message, {
      ...opts,
      hint: 'check the access key and secret, and that they may read and write this bucket (and prefix)',
    });
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404)
    return new FerryError('not-found', 'not-found', message, opts);
  if (code === 'NoSuchUpload')
    return new FerryError('retryable', 'upload-lost', message, {
      ...opts,
      hint: 'the server forgot an unfinished upload; Ferry starts it again',
    });
  if (TRANSIENT_CODES.has(code ?? '') || (status !== undefined && status >= 500))
    return new FerryError('retryable', 'server-error', message, opts);
  if (code === 'EntityTooLarge')
    return new FerryError('permanent', 'too-large', message, {
      ...opts,
      hint: 'the server refuses objects this large',
    });
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || status === 301)
    return new FerryError('permanent', 'wrong-region', message, {
      ...opts,
      hint: "the bucket lives in another region: set the destination's region (or endpoint) to match it",
    });
  if (status === undefined && (err as SdkError)?.code !== undefined)
    return new FerryError('retryable', 'network', message, opts);
  return new FerryError('permanent', code ?? 's3-error', message, opts);
}

function short(s: string): string {
  const line = s.split('\n')[0] ?? s;
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}
