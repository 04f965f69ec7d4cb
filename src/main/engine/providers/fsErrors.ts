import { FerryError, type ErrorContext } from '../../../shared/errors';

/** Maps a Node file-system error to a FerryError kind with a message a person can act on. */
export function fsError(err: unknown, what: string, context: ErrorContext = {}): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  const e = err as NodeJS.ErrnoException;
  const detail = `${what}: ${e.message ?? String(err)}`;
  switch (e.code) {
    case 'ENOENT':
      return new FerryError('not-found', e.code, detail, { context, cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new FerryError('permanent', e.code, detail, {
        context,
        cause: err,
        hint: 'Ferry may not write there: fix the permissions or choose another destination folder',
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new FerryError('quota', e.code, detail, {
        context,
        cause: err,
        hint: 'the disk is full: free some space, then sync again',
      });
    case 'ENAMETOOLONG':
    case 'EILSEQ':
    case 'EINVAL':
      return new FerryError('invalid-name', e.code, detail, {
        context,
        cause: err,
        hint: 'this destination cannot hold that name: rename the file or map it with a path template',
      });
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new FerryError('conflict', e.code, detail, {
        context,
        cause: err,
        hint: 'a file and a folder want the same name at the destination: rename one of them',
      });
    case 'EIO':
    case 'EBUSY':
    case 'EAGAIN':
    case 'EMFILE':
    case 'ENFILE':
    case 'ETIMEDOUT':
    case 'ESTALE':
      return new FerryError('retryable', e.code, detail, { context, cause: err });
    default:
      return new FerryError('permanent', e.code ?? 'EUNKNOWN', detail, { context, cause: err });
  }
}
