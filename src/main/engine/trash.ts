import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TRASH_DIR } from './scan/ignoreRules';

/** How long files deleted by two-way sync stay in a folder's trash. */
export const TRASH_DAYS = 30;

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
