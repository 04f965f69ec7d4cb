import type { ErrorKind, SerializedError } from '../../../shared/errors';

/** What to do about a failure whose provider gave no hint of its own, by kind. */
const FIX: Record<ErrorKind, string> = {
  retryable: 'Ferry tried again several times; check the network and the destination, then retry it',
  'rate-limited': 'the destination asked Ferry to slow down; retry it later, or lower the number of transfers',
  auth: 'the destination refused the credentials: update them in the destination settings, then retry',
  'not-found':
    'the file or the folder is no longer there: check that the disk or share is mounted and the paths in the settings, then retry',
  conflict: 'something else already has that name at the destination: rename one of them, then retry',
  quota: 'the destination is full: free some space there or raise its quota, then retry',
  'invalid-name': 'the destination cannot hold that name: rename the file, or map it with a path template in the rule',
  'source-changed': 'the file kept changing while Ferry read it: retry once it is saved',
  cancelled: 'retry it when you want it shipped',
  permanent: 'check the destination settings and the file, then retry it',
};

/** A failure as the person sees it: it always says what to do. */
export function withFix(error: SerializedError): SerializedError {
  return error.hint === undefined ? { ...error, hint: FIX[error.kind] } : error;
}
