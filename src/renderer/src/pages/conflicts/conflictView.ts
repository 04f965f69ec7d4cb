import type { ConflictItem } from '../../../../shared/contract';

export type Keep = 'mine' | 'theirs' | 'both';

/** One conflicted copy: a folder holds each copy name once. */
export const conflictKey = (item: Pick<ConflictItem, 'folder' | 'copy'>): string => `${item.folder}\n${item.copy}`;

const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** "2025-03-04" (the copy's local day, from its name) → "Mar 4, 2025"; anything else as it is. */
export function formatDay(date: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return date;
  return day.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/** Which side was modified later, when both are there and the times shown (to the second) differ. */
export function newerSide(item: Pick<ConflictItem, 'mine' | 'theirs'>): 'mine' | 'theirs' | undefined {
  if (!item.mine || Math.abs(item.mine.mtimeMs - item.theirs.mtimeMs) < 1000) return undefined;
  return item.mine.mtimeMs > item.theirs.mtimeMs ? 'mine' : 'theirs';
}

/** The last segment of a folder-relative path. */
export const fileName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export const KEEP_LABEL: Record<Keep, string> = { mine: 'Keep mine', theirs: 'Keep theirs', both: 'Keep both' };

/** What each choice does, as the buttons' tooltips and the page's lead say it. */
export const KEEP_HELP: Record<Keep, string> = {
  mine: 'Keep the file as it is here; the other version goes to the folder’s .ferry-trash',
  theirs: 'Replace the file with the other version; yours goes to the folder’s .ferry-trash',
  both: 'Keep both: the other version stays beside the file under a plain name',
};
