import { momentAt, type Moment } from '../../../shared/versions';
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
export function momentOf(f: FileVersions, at: number): Moment<VersionRecord, ShippedRecord> {
  return momentAt(f.versions, f.current, at);
}
