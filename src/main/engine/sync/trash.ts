import { existsSync, lstatSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync, type Dirent } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdirBelowSync } from '../providers/local/dirsBelow';
import { isTempName, TRASH_DIR } from '../scan/ignoreRules';
import { fsPath } from '../scan/rawNames';

/** How long files deleted by two-way sync stay in a folder's trash. */
export const TRASH_DAYS = 30;

/**
 * Moves a file of a folder into the folder's trash, under today's day (`.ferry-trash/YYYY-MM-DD/path`,
 * numbered when the name is taken there). Returns the day.
 */
export function moveToTrash(folderRoot: string, path: string, now = new Date()): string {
  const day = now.toISOString().slice(0, 10);
  const parts = path.split('/');
  // The trash may hold a file where this path has a folder (a file `p` deleted, then the folder `p/`
  // that replaced it): such a segment is numbered too.
  let dir = join(folderRoot, TRASH_DIR, day);
  for (const seg of parts.slice(0, -1)) {
    let next = join(dir, seg);
    for (let i = 2; existsSync(fsPath(next)) && !lstatSync(fsPath(next)).isDirectory(); i++)
      next = join(dir, `${seg}.${i}`);
    dir = next;
  }
  const base = join(dir, parts[parts.length - 1] as string);
  let to = base;
  for (let i = 2; existsSync(fsPath(to)); i++) to = `${base}.${i}`;
  // Never the folder itself: a root that is gone is not made again (see dirsBelow.ts).
  mkdirBelowSync(folderRoot, dirname(to));
  renameSync(fsPath(join(folderRoot, ...path.split('/'))), fsPath(to));
  pruneEmptyParents(folderRoot, path);
  return day;
}

/**
 * Removes the folders of `path` that its removal left empty, deepest first, never the root: a folder
 * the other side deleted goes here too, and a file the other side put at its name can land.
 */
function pruneEmptyParents(folderRoot: string, path: string): void {
  const parts = path.split('/').slice(0, -1);
  for (let i = parts.length; i > 0; i--) {
    try {
      rmdirSync(fsPath(join(folderRoot, ...parts.slice(0, i))));
    } catch {
      return; // not empty (or gone): its parents are not empty either
    }
  }
}

/**
 * Empties the days of a folder's `.ferry-trash` older than TRASH_DAYS (each day is a sub-folder named
 * YYYY-MM-DD, see twoWayExec.ts). Returns the days removed; a missing trash is no error.
 */
export function purgeTrash(folderRoot: string, now = new Date()): string[] {
  const trash = join(folderRoot, TRASH_DIR);
  let days: string[];
  try {
    days = readdirSync(trash);
  } catch {
    return [];
  }
  const cutoff = now.getTime() - TRASH_DAYS * 86_400_000;
  const removed: string[] = [];
  for (const day of days) {
    const t = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
    // A day is emptied once its last moment is more than 30 days ago.
    if (Number.isNaN(t) || t + 86_400_000 > cutoff) continue;
    rmSync(join(trash, day), { recursive: true, force: true });
    removed.push(day);
  }
  return removed;
}

/**
 * Removes what a killed download left in a two-way folder: temporary files (never shown under a real
 * name, ignored by the scanner) that no running transfer owns, since this engine holds the folder's
 * state lock and is not transferring yet. Returns how many were removed.
 */
export function sweepDownloadLeftovers(folderRoot: string): number {
  let removed = 0;
  const walk = (dir: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (depth === 0 && e.name === TRASH_DIR) continue;
      const abs = join(dir, e.name);
      if (e.isDirectory()) walk(abs, depth + 1);
      else if (isTempName(e.name)) {
        try {
          unlinkSync(abs);
          removed++;
        } catch {
          // gone already, or not ours to remove: the scanner ignores it either way
        }
      }
    }
  };
  walk(folderRoot, 0);
  return removed;
}
