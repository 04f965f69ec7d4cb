import { FerryError } from '../../../shared/errors';

/** Anything normalizing would change: backslashes, empty, "." or ".." segments, a leading or trailing slash. */
const NEEDS_WORK = /\\|\/\/|^\/|\/$|^$|(^|\/)\.\.?(\/|$)/;

/**
 * Normalizes a destination-relative path: POSIX separators, no empty or "." segments, never ".."
 * and never absolute, so no name can escape the destination's root.
 */
export function normalizeRemotePath(p: string): string {
  if (!NEEDS_WORK.test(p)) return p;
  const parts = p
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..'))
    throw new FerryError('invalid-name', 'path-escapes-root', `remote path "${p}" leaves the destination's root`, {
      hint: "fix the rule's path template so that it stays inside the destination",
    });
  return parts.join('/');
}

export function joinRemote(...parts: string[]): string {
  return normalizeRemotePath(parts.filter((p) => p !== '').join('/'));
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}
