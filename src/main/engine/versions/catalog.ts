import type { ShippedRecord } from '../store/shippedStore';
import type { Store } from '../store/store';
import type { VersionRecord } from '../store/versionStore';

/** What Ferry knows of one file at one destination: its kept versions (newest first) and the copy there now. */
export type FileVersions = {
  folder: string;
  path: string;
  destination: string;
  remotePath: string;
  versions: VersionRecord[];
  current?: ShippedRecord;
};

const below = (path: string, prefix: string) => prefix === '' || path === prefix || path.startsWith(`${prefix}/`);

/**
 * Every file of a folder at `path` or below it that has versions or a copy at one of `destinations`,
 * by path, then in the order of `destinations`.
 */
export function catalog(store: Store, folder: string, path: string, destinations: readonly string[]): FileVersions[] {
  const out = new Map<string, FileVersions>();
  const entry = (destination: string, p: string, remotePath: string): FileVersions => {
    const key = `${p}\u0000${destinations.indexOf(destination)}`;
    let e = out.get(key);
    if (!e) {
      e = { folder, path: p, destination, remotePath, versions: [] };
      out.set(key, e);
    }
    return e;
  };
  for (const v of store.versions.belowSource(folder, path))
    if (v.state === 'kept' && destinations.includes(v.destination))
      entry(v.destination, v.path, v.remotePath).versions.push(v);
  for (const d of destinations)
    for (const r of store.shipped.forDestination(d))
      if (r.folder === folder && below(r.path, path)) entry(d, r.path, r.remotePath).current = r;
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

/** Where a file's bytes as they were at `at` are: a kept version, the copy there now, or nothing (it did not exist). */
export type Moment =
  { kind: 'version'; version: VersionRecord } | { kind: 'current'; record: ShippedRecord } | { kind: 'absent' };

/**
 * The file as it was at `at`. A version kept at k held the file until k, since it arrived (`since`,
 * when known); the oldest version kept after `at` is the one that was there then. With none, the copy
 * there now was, if it arrived by then.
 */
export function momentOf(f: FileVersions, at: number): Moment {
  const after = f.versions.filter((v) => v.keptAt > at).sort((a, b) => a.keptAt - b.keptAt)[0];
  if (after) return after.since !== null && after.since > at ? { kind: 'absent' } : { kind: 'version', version: after };
  if (f.current && f.current.shippedAt <= at) return { kind: 'current', record: f.current };
  return { kind: 'absent' };
}
