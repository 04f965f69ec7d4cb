import type { Action } from '../../../shared/models';
import type { ShippedRecord } from '../store/shippedStore';
import { labelledName, localDay } from './twoWay';

/**
 * Backup and move rules keep what they delivered, so when a name changes kind in a folder (a file
 * replaced by a folder of its name, or a folder by a file) their kept copy stands where the new one
 * must be written. It moves aside at the destination before the pass's writes (`set-aside` runs with
 * the renames), under a name that says why, and the new one takes the name in the same pass:
 *   - a file where a folder is needed: `notes (replaced by a folder 2026-12-07).txt`;
 *   - a folder of kept copies where a file is needed: its files, under `p (replaced by a file 2026-12-07)/`
 *     (in one rename of the folder where emptied folders stay, as on Dropbox).
 * Nothing is deleted. Not for destinations where a file and a folder of one name live side by side
 * (S3 and GCS keys, where folders are only prefixes).
 */
export type KeptAsideInput = {
  destination: string;
  /** The destination's records by remote path. */
  shippedAt: ReadonlyMap<string, ShippedRecord>;
  /** Remote paths this pass writes that the destination holds nothing at (per the records). */
  newPaths: Iterable<string>;
  /** Whether a record is a kept copy: its rule keeps what it delivered and its source is gone. */
  isKept: (r: ShippedRecord) => boolean;
  /** Every path the destination is known to hold: its listing's (when listed) and the records'. */
  known: () => Iterable<string>;
  /** A folder stays when its last file leaves (Dropbox): a folder of kept copies moves whole. */
  emptyFoldersStay?: boolean;
  /** The plan's instant (ms): the day in the names. */
  now: number;
};

export function keptAsideActions(input: KeptAsideInput): Action[] {
  const { shippedAt } = input;
  const actions: Action[] = [];
  const moved = new Set<string>();
  const planned = new Set<string>();
  const prefixesOf = (paths: Iterable<string>): Set<string> => {
    const out = new Set<string>();
    for (const p of paths) for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) out.add(p.slice(0, i));
    return out;
  };
  // Built only when needed: the records' folders for every pass that writes a new path, the whole
  // destination's names only when a kept copy is in the way (rare).
  let recordFolders: Set<string> | undefined;
  let knownPaths: Set<string> | undefined;
  let knownFolders: Set<string> | undefined;
  const known = (): Set<string> => (knownPaths ??= new Set(input.known()));
  const isKnownFolder = (p: string): boolean => (knownFolders ??= prefixesOf(known())).has(p);
  const day = localDay(new Date(input.now));
  const takenFile = (p: string) => known().has(p) || isKnownFolder(p) || planned.has(p);
  const takenFolder = (p: string) => takenFile(p) || [...planned].some((q) => q.startsWith(`${p}/`));

  const aside = (r: ShippedRecord, to: string, why: string) => {
    if (moved.has(r.remotePath)) return;
    moved.add(r.remotePath);
    planned.add(to);
    actions.push({
      kind: 'set-aside',
      rule: r.rule,
      destination: input.destination,
      folder: r.folder,
      path: r.path,
      remotePath: r.remotePath,
      size: r.size,
      sha256: r.sha256,
      reason: why,
      detail: { aside: 'remote', conflictPath: to, clearsWay: true },
    });
  };

  for (const path of input.newPaths) {
    // A kept file where this path needs a folder.
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      const r = shippedAt.get(path.slice(0, i));
      if (r && input.isKept(r))
        aside(
          r,
          labelledName(r.remotePath, `replaced by a folder ${day}`, takenFile),
          'a folder now has its name: the kept copy moves aside',
        );
    }
    // Kept files in a folder where this path needs a file: the folder's tree moves aside whole, when
    // all it holds is kept copies (another writer's files there are not Ferry's to move).
    if (!(recordFolders ??= prefixesOf(shippedAt.keys())).has(path)) continue;
    const inside = (p: string) => p.startsWith(`${path}/`);
    const below = [...shippedAt.values()].filter((r) => inside(r.remotePath));
    if (!below.every((r) => input.isKept(r))) continue;
    if ([...known()].some((p) => inside(p) && !shippedAt.has(p))) continue;
    const top = labelledName(path, `replaced by a file ${day}`, takenFolder, { folder: true });
    if (!input.emptyFoldersStay) {
      // File by file: the destination removes each folder its last file leaves (local, SFTP, FTP, WebDAV).
      for (const r of below)
        aside(r, top + r.remotePath.slice(path.length), "a file now has its folder's name: the kept copy moves aside");
      continue;
    }
    // One rename of the whole folder where an emptied folder would stay at the name (Dropbox). Keyed by
    // where it goes, as a rename is.
    planned.add(top);
    for (const r of below) moved.add(r.remotePath);
    const first = below[0] as ShippedRecord;
    actions.push({
      kind: 'set-aside',
      rule: first.rule,
      destination: input.destination,
      folder: first.folder,
      path,
      remotePath: top,
      fromRemotePath: path,
      size: 0,
      sha256: '',
      reason: "a file now has its folder's name: the kept copies move aside with the folder",
      detail: { aside: 'remote', conflictPath: top, clearsWay: true, tree: true },
    });
  }
  return actions;
}
