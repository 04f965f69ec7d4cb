/**
 * The network failures every provider meets under its protocol, by Node's (and undici's) error codes:
 * one list, so that no provider retries what another gives up on. Each provider's `xErrors.ts` reads
 * its protocol's own codes and words on top of this.
 */

/** Nothing answers there: a wrong host or port, a server down, no route, no name. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The connection broke, stalled or was cut short: the next attempt may well go through. */
export const LOST_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPROTO',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_WRITE_AFTER_END',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The server's TLS certificate is not one this machine trusts for that name. */
export const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export type NetworkFailure = 'unreachable' | 'lost' | 'tls-untrusted';

/** The string code of an error, or of its cause (fetch and undici wrap the socket's error). */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
}

/** What kind of network failure `err` is, by its code; undefined when it is not one (an answer, a bug). */
export function networkFailure(err: unknown): NetworkFailure | undefined {
  const code = errorCode(err);
  if (code === undefined) return undefined;
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (LOST_CODES.has(code)) return 'lost';
  if (TLS_TRUST_CODES.has(code)) return 'tls-untrusted';
  return undefined;
}

/** Whether the socket under `err` failed (unreachable or lost), as opposed to a refusal or a TLS doubt. */
export function isNetworkError(err: unknown): boolean {
  const kind = networkFailure(err);
  return kind === 'unreachable' || kind === 'lost';
}
