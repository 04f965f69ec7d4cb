import ignore, { type Ignore } from 'ignore';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from './rawNames';

export const IGNORE_FILE = '.ferryignore';

/** Names Ferry itself writes and must never pick up: temporary files of an upload in progress (providers/tempNames.ts). */
export const TEMP_PREFIX = '.ferrytmp-';
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
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
