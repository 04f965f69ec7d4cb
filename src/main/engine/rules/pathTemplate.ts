import { posix } from 'node:path';
import type { LocalFile } from '../../../shared/models';
import { normalizeRemotePath } from '../providers/remotePath';

export type TemplateInput = { path: string; mtimeNs: bigint; folder: string; rule: string };

type Part = string | ((f: TemplateInput, c: Cache) => string);
type Day = { yyyy: string; mm: string; dd: string };
type Cache = { name?: string; day?: Day };

const DAY_MS = 86_400_000;
/** UTC calendar days seen so far: files come in bursts of the same days, and a Date per file is costly. */
const days = new Map<number, Day>();

const nameOf = (f: TemplateInput, c: Cache) => (c.name ??= f.path.slice(f.path.lastIndexOf('/') + 1));
function dayOf(f: TemplateInput, c: Cache): Day {
  if (c.day) return c.day;
  // Number() of the nanoseconds loses well under a millisecond: a day boundary is never misjudged by it.
  const n = Math.floor(Number(f.mtimeNs) / 1e6 / DAY_MS);
  let day = days.get(n);
  if (!day) {
    const d = new Date(n * DAY_MS);
    day = {
      yyyy: String(d.getUTCFullYear()),
      mm: String(d.getUTCMonth() + 1).padStart(2, '0'),
      dd: String(d.getUTCDate()).padStart(2, '0'),
    };
    if (days.size > 100_000) days.clear();
    days.set(n, day);
  }
  return (c.day = day);
}
const dotOf = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? dot : -1;
};

const FIELDS: Record<string, (f: TemplateInput, c: Cache) => string> = {
  path: (f) => f.path,
  dir: (f) => {
    const d = posix.dirname(f.path);
    return d === '.' ? '' : d;
  },
  name: nameOf,
  stem: (f, c) => {
    const n = nameOf(f, c);
    const dot = dotOf(n);
    return dot === -1 ? n : n.slice(0, dot);
  },
  ext: (f, c) => {
    const n = nameOf(f, c);
    const dot = dotOf(n);
    return dot === -1 ? '' : n.slice(dot + 1);
  },
  yyyy: (f, c) => dayOf(f, c).yyyy,
  mm: (f, c) => dayOf(f, c).mm,
  dd: (f, c) => dayOf(f, c).dd,
  folder: (f) => f.folder,
  rule: (f) => f.rule,
};

const compiled = new Map<string, Part[]>();

/** A template split once into literals and field getters: previews expand it for every file. */
function partsOf(template: string): Part[] {
  let parts = compiled.get(template);
  if (!parts) {
    parts = template
      .split(/(\{[a-z]+\})/)
      .filter((p) => p !== '')
      // A backslash the person typed in the template separates folders (as on Windows); one that comes
      // from a file's name is a character of that name and stays one.
      .map((p) => (p.startsWith('{') && p.endsWith('}') ? (FIELDS[p.slice(1, -1)] ?? p) : p.replace(/\\/g, '/')));
    if (compiled.size > 1000) compiled.clear();
    compiled.set(template, parts);
  }
  return parts;
}

/**
 * Expands a destination path template: {path} {dir} {name} {stem} {ext} {yyyy} {mm} {dd} {folder} {rule}.
 * Dates come from the file's modification time, in UTC so that every machine maps a file the same way.
 */
export function expandTemplate(template: string, f: TemplateInput): string {
  // The default template, on every file of every plan: a scanned path is already normalized.
  if (template === '{path}') return f.path;
  const cache: Cache = {};
  let out = '';
  for (const part of partsOf(template)) out += typeof part === 'string' ? part : part(f, cache);
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
