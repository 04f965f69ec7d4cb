import picomatch from 'picomatch';
import { RE2JS } from 're2js';
import { type Condition, parseDate, parseDuration, parseSize } from '../../../shared/conditions';
import type { LocalFile } from '../../../shared/models';

/** What a condition looks at: the index's knowledge of a file. */
export type Subject = Pick<LocalFile, 'path' | 'size' | 'mtimeNs' | 'mime'>;
/** `now` (ms since the epoch) is passed in, so that one plan judges every file's age at the same instant. */
export type Predicate = (f: Subject, now: number) => boolean;

const GLOB_OPTS = { dot: true } as const;

/** Turns a validated condition into a predicate. Everything that can be done once is done here. */
export function compileCondition(c: Condition): Predicate {
  // Conditions have no side effects: the cheap ones go first, so a regex runs only where it can matter.
  if ('all' in c) {
    const parts = cheapestFirst(c.all).map(compileCondition);
    return (f, now) => parts.every((p) => p(f, now));
  }
  if ('any' in c) {
    const parts = cheapestFirst(c.any).map(compileCondition);
    return (f, now) => parts.some((p) => p(f, now));
  }
  if ('not' in c) {
    const inner = compileCondition(c.not);
    return (f, now) => !inner(f, now);
  }
  if ('glob' in c) {
    const m = picomatch(c.glob, GLOB_OPTS);
    return (f) => m(f.path);
  }
  if ('ext' in c) {
    const suffixes = [c.ext].flat().map((e) => `.${e.replace(/^\./, '').toLowerCase()}`);
    return (f) => {
      const lower = f.path.toLowerCase();
      const slash = lower.lastIndexOf('/');
      // The suffix must leave a name in front of it: ".jpg" alone is a hidden file, not a JPEG.
      return suffixes.some((s) => lower.endsWith(s) && lower.length - s.length > slash + 1);
    };
  }
  if ('regex' in c) {
    // RE2 semantics: linear time in the path's length, whatever the pattern.
    const re = RE2JS.compile(c.regex);
    return (f) => re.test(f.path);
  }
  if ('size' in c) {
    const min = c.size.min === undefined ? 0 : (parseSize(c.size.min) ?? 0);
    const max = c.size.max === undefined ? Infinity : (parseSize(c.size.max) ?? Infinity);
    return (f) => f.size >= min && f.size <= max;
  }
  if ('modified' in c) {
    const after = c.modified.after === undefined ? -Infinity : (parseDate(c.modified.after) ?? -Infinity);
    const before = c.modified.before === undefined ? Infinity : (parseDate(c.modified.before) ?? Infinity);
    return (f) => {
      const t = mtimeMs(f);
      return t >= after && t < before;
    };
  }
  if ('age' in c) {
    const min = c.age.min === undefined ? 0 : (parseDuration(c.age.min) ?? 0);
    const max = c.age.max === undefined ? Infinity : (parseDuration(c.age.max) ?? Infinity);
    return (f, now) => {
      const age = now - mtimeMs(f);
      return age >= min && age <= max;
    };
  }
  if ('type' in c) {
    const exact = new Set<string>();
    const families: string[] = [];
    for (const t of [c.type].flat()) {
      const lower = t.toLowerCase();
      if (lower.endsWith('/*')) families.push(lower.slice(0, -1));
      else exact.add(lower);
    }
    // A file whose type is not known yet (never sniffed) matches no type condition.
    return (f) => f.mime !== undefined && (exact.has(f.mime) || families.some((p) => f.mime?.startsWith(p)));
  }
  throw new Error(`unknown condition ${JSON.stringify(c)}`);
}

/** A rough cost per path: regular expressions run an automaton, everything else is a compare or two. */
function cost(c: Condition): number {
  if ('all' in c) return c.all.reduce((n, x) => n + cost(x), 0);
  if ('any' in c) return c.any.reduce((n, x) => n + cost(x), 0);
  if ('not' in c) return cost(c.not);
  if ('regex' in c) return 20;
  if ('glob' in c) return 2;
  return 1;
}

function cheapestFirst(items: readonly Condition[]): Condition[] {
  return [...items].sort((a, b) => cost(a) - cost(b));
}

/** Number() of the nanoseconds is exact to well under a millisecond, and much cheaper than bigint division. */
function mtimeMs(f: Subject): number {
  return Number(f.mtimeNs) / 1e6;
}
