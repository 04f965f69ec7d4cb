import type { BrowseEntry, BrowseResult } from '../../../shared/contract';
import { normalizeRemotePath } from '../providers/remotePath';
import { FerryError } from '../../../shared/errors';
import { canRead, canShare, type Destination } from '../providers/types';

/** Entries read from a listing before the answer is cut short (a huge bucket still answers quickly). */
const MAX_LISTED = 20_000;

/**
 * One level of a destination for the window's browser: the listing below `prefix` folded into its
 * direct sub-folders (with the bytes below them) and files. Leftovers of interrupted uploads are hidden.
 */
export async function browseDestination(
  dest: Destination,
  prefix: string,
  signal?: AbortSignal,
): Promise<BrowseResult> {
  if (!canRead(dest))
    throw new FerryError(
      'permanent',
      'not-listable',
      `destination "${dest.id}" accepts uploads only: it cannot be browsed`,
      {
        context: { destination: dest.id },
        hint: 'look at what Ferry sent there in History',
      },
    );
  const base = normalizeRemotePath(prefix);
  const folders = new Map<string, BrowseEntry>();
  const files: BrowseEntry[] = [];
  let listed = 0;
  let truncated = false;
  for await (const e of dest.list(base, signal)) {
    if (++listed > MAX_LISTED) {
      truncated = true;
      break;
    }
    if (e.partial) continue;
    const rel = base === '' ? e.path : e.path.startsWith(`${base}/`) ? e.path.slice(base.length + 1) : undefined;
    if (rel === undefined || rel === '') continue;
    const slash = rel.indexOf('/');
    if (slash < 0) {
      files.push({ name: rel, path: e.path, dir: false, size: e.size, mtimeMs: e.mtimeMs ?? null });
      continue;
    }
    const name = rel.slice(0, slash);
    const dir = folders.get(name) ?? {
      name,
      path: base === '' ? name : `${base}/${name}`,
      dir: true,
      size: 0,
      mtimeMs: null,
    };
    dir.size += e.size;
    if (e.mtimeMs !== undefined) dir.mtimeMs = Math.max(dir.mtimeMs ?? 0, e.mtimeMs);
    folders.set(name, dir);
  }
  const byName = (a: BrowseEntry, b: BrowseEntry) => a.name.localeCompare(b.name);
  return {
    prefix: base,
    entries: [...[...folders.values()].sort(byName), ...files.sort(byName)],
    truncated,
    shareLinks: canShare(dest),
  };
}
