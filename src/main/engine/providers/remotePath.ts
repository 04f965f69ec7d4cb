import { randomBytes } from 'node:crypto';
import { FerryError } from '../../../shared/errors';
import type { TempNames } from './tempNames';
import type { UploadSource } from './types';

/** Anything normalizing would change: empty, "." or ".." segments, a leading or trailing slash. */
const NEEDS_WORK = /\/\/|^\/|\/$|^$|(^|\/)\.\.?(\/|$)/;

/**
 * Normalizes a destination-relative path: no empty or "." segments, never ".." and never absolute, so
 * no name can escape the destination's root. Only "/" separates: a backslash is a character of a POSIX
 * name (`back\slash.txt` is not `back/slash.txt`); a destination that cannot hold it refuses the name.
 */
export function normalizeRemotePath(p: string): string {
  if (!NEEDS_WORK.test(p)) return p;
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
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

/** Joins an absolute server path (SFTP, FTP) and a relative one. */
export function joinAbs(dir: string, rel: string): string {
  return dir.endsWith('/') ? `${dir}${rel}` : `${dir}/${rel}`;
}

/** The parent of an absolute server path ("/" for a top-level entry). */
export function parentAbs(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * The whole second an upload's copy gets where a version is only size and time (SFTP, FTP): the
 * source's, unless that would give the copy the very version of the file it replaces (two-way sync's
 * `replaces`; `versionAt` says what a second would give). Then one second later, so that another
 * instance that recorded the old file sees that it changed.
 */
export function secondApart(source: UploadSource, versionAt: (second: number) => string | undefined): number {
  const second = Math.floor(source.mtimeMs / 1000);
  return source.replaces != null && source.replaces === versionAt(second) ? second + 1 : second;
}

/** `.ferrytmp-<instance>-<hex>-<name>` beside the final name, cut to stay within 255 bytes (most file systems' limit). */
export function tempName(temp: TempNames, name: string): string {
  const head = `${temp.head}${randomBytes(6).toString('hex')}-`;
  let tail = name;
  while (Buffer.byteLength(head + tail) > 255) tail = [...tail].slice(1).join('');
  return head + tail;
}

/** A temporary name in the same folder as `rel` (a rename within one folder is atomic everywhere). */
export function tempPathBeside(temp: TempNames, rel: string): string {
  const parent = parentOf(rel);
  return parent === '' ? tempName(temp, rel) : `${parent}/${tempName(temp, rel.slice(parent.length + 1))}`;
}
