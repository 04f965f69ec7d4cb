import { basename, dirname } from 'node:path';
import { FerryError, type ErrorContext } from '../../../shared/errors';
import { isTempName } from '../scan/ignoreRules';

/**
 * The path a Node error is about: its own `dest` (a rename's target) or `path`, else the one quoted in a
 * message that crossed a thread as text ("ENOENT: no such file or directory, open '/x/y'").
 */
function pathOf(e: NodeJS.ErrnoException & { dest?: string }): string | undefined {
  const quoted = /, \w+ '([^']+)'(?: -> '([^']+)')?$/.exec(e.message ?? '');
  // A rename is about where the file was going.
  const path = e.dest ?? (typeof e.path === 'string' ? e.path : undefined) ?? quoted?.[2] ?? quoted?.[1];
  // Ferry's own temporary file means nothing to the person: the folder it was written in does.
  return path !== undefined && isTempName(basename(path)) ? dirname(path) : path;
}

/** What went wrong, said plainly with the path it is about (no errno jargon), and what to do. */
function cause(code: string | undefined, at: string): { said: string; hint?: string } {
  switch (code) {
    case 'ENOENT':
      return {
        said: `${at} does not exist`,
        hint: 'if it lives on a disk or a share, make sure that is mounted; otherwise check the path in the settings, then retry',
      };
    case 'EACCES':
    case 'EPERM':
      return {
        said: `Ferry is not allowed to write ${at}`,
        hint: 'give your user write access there (or choose another destination folder), then retry',
      };
    case 'EROFS':
      return {
        said: `${at} is on a read-only file system`,
        hint: 'mount it writable or choose another destination folder, then retry',
      };
    case 'ENOSPC':
    case 'EDQUOT':
      return { said: `the disk holding ${at} is full`, hint: 'free some space there, then retry' };
    case 'ENAMETOOLONG':
      return {
        said: `the name is too long for the file system at ${at}`,
        hint: 'shorten the file or folder name, or map it with a path template in the rule',
      };
    case 'EILSEQ':
    case 'EINVAL':
      return {
        said: `the file system at ${at} cannot hold that name`,
        hint: 'rename the file, or map it with a path template in the rule',
      };
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return {
        said: `a file and a folder want the same name at ${at}`,
        hint: 'rename one of them, then retry',
      };
    case 'EIO':
      return {
        said: `the disk or share holding ${at} reported a read or write error`,
        hint: 'check the disk or the network share; Ferry tries again by itself',
      };
    case 'EBUSY':
      return { said: `${at} is busy (in use by another program)`, hint: 'Ferry tries again by itself' };
    case 'EAGAIN':
    case 'EMFILE':
    case 'ENFILE':
      return { said: `the system ran out of open files while working on ${at}`, hint: 'Ferry tries again by itself' };
    case 'ETIMEDOUT':
    case 'ESTALE':
      return {
        said: `the network share holding ${at} stopped answering`,
        hint: 'check the network and the share; Ferry tries again by itself',
      };
    default:
      return { said: `${at} could not be used` };
  }
}

/**
 * Maps a Node file-system error to a FerryError kind with a sentence a person can act on: what Ferry
 * was doing, what is wrong and where, and (in `hint`) what to do.
 */
export function fsError(err: unknown, what: string, context: ErrorContext = {}): FerryError {
  if (err instanceof FerryError) return err.withContext(context);
  const e = err as NodeJS.ErrnoException;
  const where = pathOf(e);
  const { said, hint } = cause(e.code, where ?? 'the path');
  const detail = `${what}: ${said}`;
  const opts = { context, cause: err, ...(hint === undefined ? {} : { hint }) };
  switch (e.code) {
    case 'ENOENT':
      return new FerryError('not-found', e.code, detail, opts);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new FerryError('permanent', e.code, detail, opts);
    case 'ENOSPC':
    case 'EDQUOT':
      return new FerryError('quota', e.code, detail, opts);
    case 'ENAMETOOLONG':
    case 'EILSEQ':
    case 'EINVAL':
      return new FerryError('invalid-name', e.code, detail, opts);
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new FerryError('conflict', e.code, detail, opts);
    case 'EIO':
    case 'EBUSY':
    case 'EAGAIN':
    case 'EMFILE':
    case 'ENFILE':
    case 'ETIMEDOUT':
    case 'ESTALE':
      return new FerryError('retryable', e.code, detail, opts);
    default:
      // An error this list does not name: its own words are still the best clue.
      return new FerryError(
        'permanent',
        e.code ?? 'EUNKNOWN',
        `${what}: ${where === undefined ? '' : `${where}: `}${e.message ?? String(err)}`,
        opts,
      );
  }
}
