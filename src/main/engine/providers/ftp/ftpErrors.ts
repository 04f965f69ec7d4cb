import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { networkFailure } from '../kit/networkErrors';

type FtpishError = Error & { code?: string | number };

/** basic-ftp's own words for a connection that went away or timed out. */
const LOST = /timeout|closed|not connected|FIN packet|socket|transmission error|connection/i;

/** The FTP reply code of an error from basic-ftp, when the server answered. */
export function replyCode(err: unknown): number | undefined {
  const c = (err as FtpishError)?.code;
  return typeof c === 'number' ? c : undefined;
}

export function isTlsTrustError(err: unknown): boolean {
  return networkFailure(err) === 'tls-untrusted';
}

/** Whether the control connection is unusable after this error (the pool then drops it). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof FerryError) return err.code === 'connection-lost' || err.code === 'unreachable';
  const e = err as FtpishError;
  if (networkFailure(err) !== undefined) return true;
  const reply = replyCode(err);
  if (reply === 421) return true;
  return reply === undefined && typeof e?.message === 'string' && LOST.test(e.message);
}

const PERMISSION = /permission|denied|not allowed|access|forbidden|read-only|prohibited/i;
const MISSING = /no such|not found|does not exist|doesn't exist|not exist|can't check for file existence/i;

/**
 * Classifies an FTP failure by its reply code (and, for the ambiguous 550/553, its text). `op` says
 * whether the command wrote: a refusal then means the folder is read-only for this login. Retrying
 * and backing off are the transfer pool's job.
 */
export function classify(err: unknown, what: string, context: ErrorContext, op: 'read' | 'write' = 'read'): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  const e = err as FtpishError;
  const msg = e?.message ?? String(err);
  const detail = `${what}: ${msg}`;
  if (e?.name === 'AbortError')
    return new FerryError('cancelled', 'cancelled', `${what}: cancelled`, { context, cause: err });
  const reply = replyCode(err);
  if (reply === undefined) {
    if (isTlsTrustError(err))
      return new FerryError('auth', 'tls-untrusted', `${what}: the server's TLS certificate is not trusted (${msg})`, {
        context,
        cause: err,
        hint: "give the server's certificate (or its CA's) as ca_file in the destination, or fix the host name",
      });
    if (isConnectionError(err))
      return new FerryError('retryable', 'connection-lost', detail, {
        context,
        cause: err,
        hint: 'the connection to the FTP server dropped: Ferry tries again',
      });
    return new FerryError('permanent', 'ftp-error', detail, { context, cause: err });
  }
  const readOnly = () =>
    new FerryError('auth', 'read-only', detail, {
      context,
      cause: err,
      hint: 'this login may not write there: give the FTP user write permission on the folder, or choose another path',
    });
  switch (reply) {
    case 530:
    case 532:
      return new FerryError('auth', 'auth-failed', detail, {
        context,
        cause: err,
        hint: 'check the user name and the password',
      });
    case 550:
      if (PERMISSION.test(msg))
        return op === 'write'
          ? readOnly()
          : new FerryError('auth', 'permission-denied', detail, {
              context,
              cause: err,
              hint: 'this login may not read there: fix the permissions on the server',
            });
      if (MISSING.test(msg) || op === 'read')
        return new FerryError('not-found', 'not-found', detail, { context, cause: err });
      return new FerryError('permanent', 'ftp-550', detail, { context, cause: err });
    case 553:
      if (PERMISSION.test(msg) || op === 'write') return readOnly();
      return new FerryError('invalid-name', 'invalid-name', detail, {
        context,
        cause: err,
        hint: 'the server does not allow this name: rename the file or map it with a path template',
      });
    case 452:
    case 552:
      return new FerryError('quota', 'quota', detail, {
        context,
        cause: err,
        hint: 'the server is out of space (or over quota): free some space there, then sync again',
      });
    case 421:
    case 425:
    case 426:
    case 450:
    case 451:
      return new FerryError('retryable', `ftp-${reply}`, detail, { context, cause: err });
    default:
      return reply >= 400 && reply < 500
        ? new FerryError('retryable', `ftp-${reply}`, detail, { context, cause: err })
        : new FerryError('permanent', `ftp-${reply}`, detail, { context, cause: err });
  }
}
