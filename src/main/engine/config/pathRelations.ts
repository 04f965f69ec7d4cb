import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { FerryConfig } from '../../../shared/config';
import { normalizeRemotePath } from '../providers/remotePath';
import { IgnoreStack } from '../scan/ignoreRules';

/** A problem with the place a folder or a local destination is, at its config path. */
export type PathRelationProblem = { path: (string | number)[]; message: string };

/** The real path of `p` through symbolic links, as far as it exists; what does not exist yet is kept as written. */
export function realPathAsFarAsItExists(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(realPathAsFarAsItExists(parent), basename(p));
  }
}

// Where names are compared without case, ~/Backup and ~/backup are one folder.
const caseless = process.platform === 'darwin' || process.platform === 'win32';

/** `inner` relative to `outer` ('' when they are one), or undefined when `inner` is not within `outer`. */
function within(inner: string, outer: string): string | undefined {
  const rel = caseless ? relative(outer.toLowerCase(), inner.toLowerCase()) : relative(outer, inner);
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  // As written (not lower-cased): the last segments of `inner`.
  return inner.split(sep).slice(-rel.split(sep).length).join(sep);
}

/** Whether the folder's own ignore patterns leave `rel` (or a folder above it) out of its scans. */
function ignoredBy(patterns: readonly string[], rel: string): boolean {
  const stack = IgnoreStack.forRoot(patterns);
  const parts = rel.split(sep);
  for (let i = 1; i <= parts.length; i++) if (stack.ignores(parts.slice(0, i).join('/'), true)) return true;
  return false;
}

type Place = { kind: 'folder' | 'destination'; id: string; index: number; written: string; real: string };

function describe(p: Place): string {
  const through = p.real !== p.written ? `, which is ${p.real} through a symbolic link` : '';
  return `${p.kind} "${p.id}" (${p.written}${through})`;
}

/**
 * Folders and local destinations must not overlap: a destination inside a folder copies its own copies
 * into itself forever (each copy is a new file of the folder); a folder inside a destination is listed,
 * overwritten or deleted as the destination's content; one place that is both is both. Compared by real
 * path, so a symbolic link does not hide the relation. A destination inside a folder that the folder's
 * own ignore patterns leave out is fine: the folder never sees it.
 */
export function pathRelationProblems(cfg: FerryConfig): PathRelationProblem[] {
  const folders: Place[] = cfg.folders.map((f, index) => ({
    kind: 'folder',
    id: f.id,
    index,
    written: f.path,
    real: realPathAsFarAsItExists(f.path),
  }));
  const destinations: Place[] = [];
  cfg.destinations.forEach((d, index) => {
    if (d.type !== 'local') return;
    const prefix = d.prefix ? normalizeRemotePath(d.prefix) : '';
    const written = prefix === '' ? d.path : join(d.path, ...prefix.split('/'));
    destinations.push({ kind: 'destination', id: d.id, index, written, real: realPathAsFarAsItExists(written) });
  });
  const problems: PathRelationProblem[] = [];
  const at = (p: Place) => [p.kind === 'folder' ? 'folders' : 'destinations', p.index, 'path'];
  for (const d of destinations)
    for (const f of folders) {
      const destInFolder = within(d.real, f.real);
      if (destInFolder === '')
        problems.push({
          path: at(d),
          message: `${describe(d)} is the same folder as ${describe(f)}: Ferry would copy the folder into itself; choose a destination outside the folder`,
        });
      else if (destInFolder !== undefined) {
        const ignore = `${destInFolder.split(sep).join('/')}/`;
        if (!ignoredBy(cfg.folders[f.index]?.ignore ?? [], destInFolder))
          problems.push({
            path: at(d),
            message: `${describe(d)} is inside ${describe(f)}: every copy would be a new file of the folder, copied again forever; choose a destination outside the folder, or add "${ignore}" to the folder's ignore patterns`,
          });
      } else if (within(f.real, d.real) !== undefined)
        problems.push({
          path: at(f),
          message: `${describe(f)} is inside ${describe(d)}: what Ferry writes, renames and deletes there would change the folder itself; choose a folder outside the destination`,
        });
    }
  // One destination inside another: a mirror to the outer one would delete the inner one's files.
  destinations.forEach((d, i) => {
    for (const other of destinations.slice(0, i)) {
      const rel = within(d.real, other.real) ?? within(other.real, d.real);
      if (rel === undefined) continue;
      problems.push({
        path: at(d),
        message:
          rel === ''
            ? `${describe(d)} is the same folder as ${describe(other)}: each would list the other's files as its own; give each destination its own folder`
            : `${describe(d)} and ${describe(other)} are one inside the other: each would list the other's files as its own, and a mirror would delete them; give each destination its own folder`,
      });
    }
  });
  return problems;
}
