import { lstatSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryConfig } from '../../../shared/config';
import type { ConflictItem } from '../../../shared/contract';
import { FerryError } from '../../../shared/errors';
import type { LocalFile } from '../../../shared/models';
import { conflictName, parseConflictName } from '../plan/twoWay';
import { TRASH_DIR } from '../scan/ignoreRules';
import { moveToTrash } from '../sync/trash';
import { unsafeLocalPath } from '../transfer/safeDownload';

const abs = (root: string, path: string) => join(root, ...path.split('/'));

function sizeAndTime(file: string): { size: number; mtimeMs: number } | null {
  try {
    const st = statSync(file);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  }
}

/** The conflicted copies in two-way rules' folders, from their latest scans. */
export function listConflicts(
  cfg: FerryConfig,
  filesOf: (folder: string) => ReadonlyMap<string, LocalFile>,
): ConflictItem[] {
  const items: ConflictItem[] = [];
  for (const rule of cfg.rules) {
    if (rule.mode !== 'two-way') continue;
    const folder = cfg.folders.find((f) => f.id === rule.from[0]);
    if (!folder) continue;
    for (const file of filesOf(folder.id).values()) {
      const parsed = parseConflictName(file.path);
      if (!parsed) continue;
      items.push({
        rule: rule.name,
        folder: folder.id,
        path: parsed.original,
        copy: file.path,
        host: parsed.host,
        date: parsed.date,
        mine: sizeAndTime(abs(folder.path, parsed.original)),
        theirs: sizeAndTime(abs(folder.path, file.path)) ?? {
          size: file.size,
          mtimeMs: Number(file.mtimeNs / 1_000_000n),
        },
      });
    }
  }
  return items.sort((a, b) => a.folder.localeCompare(b.folder) || a.copy.localeCompare(b.copy));
}

function exists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Settles a conflicted copy with plain file operations in the folder; the next pass syncs the result
 * like any local change (a trashed copy is deleted at the destination, a replaced file is uploaded).
 */
export function resolveConflict(
  cfg: FerryConfig,
  folderId: string,
  copy: string,
  keep: 'mine' | 'theirs' | 'both',
): string {
  const folder = cfg.folders.find((f) => f.id === folderId);
  if (!folder) throw new FerryError('not-found', 'unknown-folder', `there is no folder "${folderId}"`);
  const parsed = parseConflictName(copy);
  const bad = unsafeLocalPath(copy);
  if (!parsed || bad) throw new FerryError('permanent', 'not-a-conflict', `"${copy}" is not a conflicted copy`);
  if (!exists(abs(folder.path, copy)))
    throw new FerryError('not-found', 'conflict-gone', `"${copy}" is not there any more (settled elsewhere?)`);
  if (keep === 'mine') {
    moveToTrash(folder.path, copy);
    return `kept ${parsed.original}; the other version is in ${TRASH_DIR}`;
  }
  if (keep === 'theirs') {
    if (exists(abs(folder.path, parsed.original))) moveToTrash(folder.path, parsed.original);
    renameSync(abs(folder.path, copy), abs(folder.path, parsed.original));
    return `${parsed.original} now holds the version from ${parsed.host}; yours is in ${TRASH_DIR}`;
  }
  // Both: the copy keeps a plain name ("name (from HOST DATE).ext") and leaves the list.
  const plainOf = (candidate: string) => candidate.replace(' (conflicted copy from ', ' (from ');
  const plain = plainOf(
    conflictName(parsed.original, parsed.host, new Date(`${parsed.date}T12:00:00`), (p) =>
      exists(abs(folder.path, plainOf(p))),
    ),
  );
  if (exists(abs(folder.path, plain))) throw new FerryError('conflict', 'name-taken', `${plain} already exists`);
  renameSync(abs(folder.path, copy), abs(folder.path, plain));
  return `kept both: the other version is now ${plain}`;
}
