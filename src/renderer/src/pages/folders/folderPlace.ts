import type { FolderConfig } from '../../../../shared/config';

/** Absolute paths compared as the OS spells them (Windows drive paths without regard to case). */
function normalized(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/\/+$/, '');
  return /^[A-Za-z]:/.test(p) ? p.toLowerCase() : p;
}

/**
 * Why a folder at `resolved` cannot be watched beside the others, or undefined: the same folder as
 * another, or one inside the other (every file there would be shipped twice, by two sets of rules).
 * No React here: see test/unit/renderer/folderPlace.test.ts.
 */
export function folderPlaceProblem(
  resolved: string,
  folders: readonly Pick<FolderConfig, 'id' | 'path'>[],
): string | undefined {
  const mine = normalized(resolved);
  for (const f of folders) {
    const theirs = normalized(f.path);
    if (mine === theirs) return `folder "${f.id}" already watches ${f.path}: edit that folder instead`;
    if (mine.startsWith(`${theirs}/`))
      return `this is inside folder "${f.id}" (${f.path}), which Ferry already watches: its files would be shipped twice; use a rule on "${f.id}" with a "match" pattern instead`;
    if (theirs.startsWith(`${mine}/`))
      return `folder "${f.id}" (${f.path}) is inside this one: its files would be shipped twice; remove "${f.id}" first, or pick a folder that does not hold it`;
  }
  return undefined;
}
