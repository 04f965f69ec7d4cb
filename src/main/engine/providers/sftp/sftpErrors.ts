import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isNetworkError } from '../kit/networkErrors';

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
export const FX = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

type SshError = Error & { code?: string | number; level?: string };

/** Messages ssh2 uses when the connection went away under a request. */
const LOST =
  /no response from server|connection lost|not connected|no connection|keepalive timeout|timed out|socket|channel/i;

/** Whether an error means the connection (not the request) failed: the session is dropped and rebuilt. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof FerryError) return err.code === 'connection-lost' || err.code === 'unreachable';
  const e = err as SshError;
  if (isNetworkError(err)) return true;
  if (e?.code === FX.NO_CONNECTION || e?.code === FX.CONNECTION_LOST) return true;
  if (e?.level === 'client-socket' || e?.level === 'client-timeout') return true;
  return typeof e?.message === 'string' && typeof e.code !== 'number' && LOST.test(e.message);
}

/**
 * Classifies an SFTP failure. `op` says whether the request wrote (a permission refusal then means the
 * folder is read-only for this login) or read. Retrying and backing off are the transfer pool's job.
 */
export function classify(err: unknown, what: string, context: ErrorContext, op: 'read' | 'write' = 'read'): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  const e = err as SshError;
  const msg = e?.message ?? String(err);
  const detail = `${what}: ${msg}`;
  if (e?.name === 'AbortError')
    return new FerryError('cancelled', 'cancelled', `${what}: cancelled`, { context, cause: err });
  if (isConnectionError(err))
    return new FerryError('retryable', 'connection-lost', detail, {
      context,
      cause: err,
      hint: 'the connection to the SFTP server dropped: Ferry tries again',
    });
  switch (e?.code) {
    case FX.NO_SUCH_FILE:
      return new FerryError('not-found', 'not-found', detail, { context, cause: err });
    case FX.PERMISSION_DENIED:
      return op === 'write'
        ? new FerryError('auth', 'read-only', detail, {
            context,
            cause: err,
            hint: 'this login may not write there: give the SFTP user write permission on the folder, or choose another path',
          })
        : new FerryError('auth', 'permission-denied', detail, {
            context,
            cause: err,
            hint: 'this login may not read there: fix the permissions on the server',
          });
    case FX.FAILURE:
      // OpenSSH says only "Failure" for most errnos; other servers pass the reason through.
      if (/no space|ENOSPC|disk full|quota|EDQUOT|insufficient storage/i.test(msg))
        return new FerryError('quota', 'quota', detail, {
          context,
          cause: err,
          hint: 'the server is out of space (or over quota): free some space there, then sync again',
        });
      if (/file name too long|ENAMETOOLONG|invalid (argument|name)/i.test(msg))
        return new FerryError('invalid-name', 'invalid-name', detail, {
          context,
          cause: err,
          hint: 'the server cannot hold this name: rename the file or map it with a path template',
        });
      if (/exists|not a directory|is a directory|not empty/i.test(msg))
        return new FerryError('conflict', 'conflict', detail, {
          context,
          cause: err,
          hint: 'a file and a folder want the same name at the destination: rename one of them',
        });
      return new FerryError('retryable', 'sftp-failure', detail, { context, cause: err });
    case FX.OP_UNSUPPORTED:
      return new FerryError('permanent', 'unsupported', detail, { context, cause: err });
    case FX.BAD_MESSAGE:
      return new FerryError('retryable', 'bad-message', detail, { context, cause: err });
    default:
      return new FerryError('permanent', 'sftp-error', detail, { context, cause: err });
  }
}

export function cancelledError(what: string, context: ErrorContext): FerryError {
  return new FerryError('cancelled', 'cancelled', `${what}: cancelled`, { context });
}
