import ignore, { type Ignore } from 'ignore';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from './rawNames';

export const IGNORE_FILE = '.ferryignore';

/** Names Ferry itself writes and must never pick up: temporary files of an upload in progress. */
export const TEMP_PREFIX = '.ferrytmp-';
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/**
 * Temporary names carry the writing instance's tag (`.ferrytmp-<tag>-…`): a listing sweeps only its own
 * leftovers, because another instance sharing the destination may be writing one at this very moment.
 * The tag belongs to the state directory (see Store.open), so a restart still finds its own leftovers.
 */
let instanceTag = newInstanceTag();
export function newInstanceTag(): string {
  return randomBytes(4).toString('hex');
}
export function isInstanceTag(tag: string): boolean {
  return /^[0-9a-f]{8}$/.test(tag);
}
export function setInstanceTag(tag: string): void {
  if (!isInstanceTag(tag)) throw new Error(`invalid instance tag ${JSON.stringify(tag)}`);
  instanceTag = tag;
}
/** Worker threads start with their own module state: they are handed this. */
export function currentInstanceTag(): string {
  return instanceTag;
}
/** The start of every temporary name this process writes. */
export function tempHead(): string {
  return `${TEMP_PREFIX}${instanceTag}-`;
}
/** A fresh temporary name of this process (`kind` tells what it is for: `probe-`, `dl-`, ...). */
export function tempFileName(kind = ''): string {
  return `${tempHead()}${kind}${randomBytes(8).toString('hex')}`;
}
/** Another instance's temporary is taken for abandoned, and swept, only once it is this old. */
export const FOREIGN_TEMP_AGE_MS = 24 * 3600_000;
/** Whether a listing may remove this leftover: ours, or someone else's long abandoned. */
export function isSweepableTemp(name: string, mtimeMs: number | undefined, now = Date.now()): boolean {
  if (name.startsWith(tempHead())) return true;
  return mtimeMs !== undefined && now - mtimeMs > FOREIGN_TEMP_AGE_MS;
}

/** At a folder's root: where two-way sync puts files deleted elsewhere, kept 30 days. Never synced. */
export const TRASH_DIR = '.ferry-trash';

type Layer = { base: string; ig: Ignore };

/**
 * gitignore semantics, layered: the folder's `ignore` patterns and its root .ferryignore apply from
 * the root; a .ferryignore in a sub-folder applies below it, as git does with nested .gitignore files.
 */
export class IgnoreStack {
  private constructor(private readonly layers: readonly Layer[]) {}

  static forRoot(patterns: readonly string[]): IgnoreStack {
    return new IgnoreStack(patterns.length > 0 ? [{ base: '', ig: ignore().add(patterns as string[]) }] : []);
  }

  /** Adds the .ferryignore found in `absDir` (relative path `relDir`), if there is one. */
  enter(absDir: string, relDir: string): IgnoreStack {
    let text: string;
    try {
      text = readFileSync(fsPath(join(absDir, IGNORE_FILE)), 'utf8');
    } catch {
      return this;
    }
    return new IgnoreStack([...this.layers, { base: relDir, ig: ignore().add(text) }]);
  }

  /** The deepest layer with an opinion wins: a nested `!name` re-includes what a parent layer ignores. */
  ignores(relPath: string, isDir: boolean): boolean {
    let ignored = false;
    for (const { base, ig } of this.layers) {
      const sub = base === '' ? relPath : relPath.slice(base.length + 1);
      const r = ig.test(isDir ? `${sub}/` : sub);
      if (r.ignored) ignored = true;
      else if (r.unignored) ignored = false;
    }
    return ignored;
  }
}
