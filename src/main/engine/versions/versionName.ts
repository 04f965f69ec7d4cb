import { cutToBytes } from '../plan/twoWay';
import { nameBytes } from '../scan/rawNames';

/**
 * Where a destination without versions of its own keeps what a rule replaced or deleted: the
 * `.ferry-versions/` area at its root, each version under its old path with the time it was kept in
 * its name (`.ferry-versions/docs/a.txt@2026-12-07T18-15-00.123Z`), so that the area alone says what
 * each file is even without the state database. Listings leave the area out: it is never synced.
 */
export const VERSIONS_DIR = '.ferry-versions';

/** Most file systems' and servers' limit on one name, in bytes of UTF-8. */
const NAME_MAX = 255;

export function isVersionsArea(remotePath: string): boolean {
  return remotePath === VERSIONS_DIR || remotePath.startsWith(`${VERSIONS_DIR}/`);
}

/** `:` is not allowed in names on Windows shares and some FTP servers: the time uses `-` instead. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

/**
 * Where a version of `remotePath` kept at `keptAt` goes. A name near the file system's limit (255 bytes)
 * is cut to leave room for the time: the version must fit, or the pass that replaces the file would
 * fail on it. Such a name alone no longer says the whole old path: its record does.
 */
export function versionLocation(remotePath: string, keptAt: number): string {
  const suffix = `@${stamp(keptAt)}`;
  const cut = remotePath.lastIndexOf('/') + 1;
  const name = cutToBytes(remotePath.slice(cut), NAME_MAX - nameBytes(suffix));
  return `${VERSIONS_DIR}/${remotePath.slice(0, cut)}${name}${suffix}`;
}

const STAMP = /@(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2}\.\d{3})Z$/;

/** The old path and the time of a name in the area, or undefined for anything else found there. */
export function parseVersionLocation(location: string): { remotePath: string; keptAt: number } | undefined {
  if (!location.startsWith(`${VERSIONS_DIR}/`)) return undefined;
  const m = STAMP.exec(location);
  if (!m) return undefined;
  const keptAt = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  if (Number.isNaN(keptAt)) return undefined;
  const remotePath = location.slice(VERSIONS_DIR.length + 1, location.length - m[0].length);
  return remotePath === '' ? undefined : { remotePath, keptAt };
}
