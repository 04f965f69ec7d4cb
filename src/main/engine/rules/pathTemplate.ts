import { posix } from 'node:path';
import type { LocalFile } from '../../../shared/models';
import { normalizeRemotePath } from '../providers/remotePath';

export type TemplateInput = { path: string; mtimeNs: bigint; folder: string; rule: string };

/**
 * Expands a destination path template: {path} {dir} {name} {stem} {ext} {yyyy} {mm} {dd} {folder} {rule}.
 * Dates come from the file's modification time, in UTC so that every machine maps a file the same way.
 */
export function expandTemplate(template: string, f: TemplateInput): string {
  // The default template, on every file of every plan: a scanned path is already normalized.
  if (template === '{path}') return f.path;
  const name = posix.basename(f.path);
  const dot = name.lastIndexOf('.');
  const hasExt = dot > 0;
  const date = new Date(Number(f.mtimeNs / 1_000_000n));
  const values: Record<string, string> = {
    path: f.path,
    dir: posix.dirname(f.path) === '.' ? '' : posix.dirname(f.path),
    name,
    stem: hasExt ? name.slice(0, dot) : name,
    ext: hasExt ? name.slice(dot + 1) : '',
    yyyy: String(date.getUTCFullYear()),
    mm: String(date.getUTCMonth() + 1).padStart(2, '0'),
    dd: String(date.getUTCDate()).padStart(2, '0'),
    folder: f.folder,
    rule: f.rule,
  };
  const out = template.replace(/\{([a-z]+)\}/g, (whole, key: string) => values[key] ?? whole);
  return normalizeRemotePath(out);
}

/** Where a rule sends a local file: its template expanded for the file. Throws when it leaves the root. */
export function remotePathOf(
  template: string,
  file: Pick<LocalFile, 'folder' | 'path' | 'mtimeNs'>,
  rule: string,
): string {
  return expandTemplate(template, { path: file.path, mtimeNs: file.mtimeNs, folder: file.folder, rule });
}
