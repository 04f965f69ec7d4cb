import bytes from 'bytes';
import ms from 'ms';
import picomatch from 'picomatch';
import { RE2JS } from 're2js';
import { z } from 'zod';

/**
 * The condition language of a rule's `when`: one key per condition, combined with `all`, `any` and
 * `not`. Shared by the engine (which compiles it) and the rules editor (which validates as you type).
 */
export type Condition =
  | { glob: string | string[] }
  | { ext: string | string[] }
  | { regex: string }
  | { size: { min?: number | string; max?: number | string } }
  | { modified: { after?: string; before?: string } }
  | { age: { min?: string; max?: string } }
  | { type: string | string[] }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export const CONDITION_KEYS = ['glob', 'ext', 'regex', 'size', 'modified', 'age', 'type', 'all', 'any', 'not'] as const;

/** Longest regular expression accepted: the engine is linear in the path, this bounds the pattern. */
export const MAX_REGEX_LENGTH = 1000;

const oneOrMany = (item: z.ZodType<string>) => z.union([item, z.array(item).min(1)]);

export const globSchema = z
  .string()
  .min(1)
  .superRefine((g, ctx) => {
    if (g.startsWith('/'))
      ctx.addIssue({ code: 'custom', message: `"${g}": globs match folder-relative paths, drop the leading "/"` });
    else {
      const problem = globProblem(g);
      if (problem) ctx.addIssue({ code: 'custom', message: `"${g}" is not a valid glob: ${problem}` });
    }
  });

/** Why a glob cannot be used, or undefined. Unbalanced brackets and braces are mistakes, not literals. */
export function globProblem(glob: string): string | undefined {
  try {
    picomatch.makeRe(glob, { dot: true, strictBrackets: true });
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^Missing/, 'missing');
  }
}

const extSchema = z
  .string()
  .min(1)
  .regex(/^\.?[^/\\\s]+$/, 'an extension such as "jpg" or "tar.gz" (no slashes or spaces)');

export const regexSchema = z
  .string()
  .min(1)
  .max(MAX_REGEX_LENGTH, `at most ${MAX_REGEX_LENGTH} characters`)
  .superRefine((re, ctx) => {
    const problem = regexProblem(re);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Regular expressions run on RE2's linear-time engine (re2js): no catastrophic backtracking is
 * possible, and constructs that need backtracking (backreferences, lookaround) are refused.
 */
export function regexProblem(re: string): string | undefined {
  try {
    RE2JS.compile(re);
    return undefined;
  } catch (err) {
    const why = (err as Error).message;
    const hint = /\(\?[=!<]|\\[1-9]/.test(re)
      ? ' (lookaround and backreferences are not supported: rules use RE2 syntax, which always runs in linear time)'
      : '';
    return `invalid regular expression "${re}": ${why}${hint}`;
  }
}

export const sizeValue = z.union([z.number().int().min(0), z.string()]).superRefine((v, ctx) => {
  if (typeof v === 'string' && parseSize(v) === undefined)
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size: write e.g. 500, "10KB", "1.5MB" or "2GB"` });
});

/** Bytes from a number or a string such as "10MB" (units of 1024, as the `bytes` package reads them). */
export function parseSize(v: number | string): number | undefined {
  if (typeof v === 'number') return v;
  const n = bytes.parse(v.trim());
  return n === null || Number.isNaN(n) || n < 0 ? undefined : n;
}

const dateValue = z.string().superRefine((v, ctx) => {
  if (parseDate(v) === undefined)
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a date: write e.g. "2024-01-31" or "2024-01-31T08:00:00Z"`,
    });
});

/** Milliseconds since the epoch; a bare date is midnight UTC. */
export function parseDate(v: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim())) return undefined;
  const t = Date.parse(v.trim());
  return Number.isNaN(t) ? undefined : t;
}

const durationValue = z.string().superRefine((v, ctx) => {
  if (parseDuration(v) === undefined)
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: write e.g. "90m", "12h", "7d", "2w" or "1y"` });
});

export function parseDuration(v: string): number | undefined {
  const n = ms(v.trim() as ms.StringValue) as number | undefined;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

const typeSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.+-]*\/(\*|[a-z0-9][a-z0-9.+-]*)$/i, 'a content type such as "application/pdf" or "image/*"');

const range = <T extends z.ZodType>(v: T, lo: string, hi: string) =>
  z
    .strictObject({ [lo]: v.optional(), [hi]: v.optional() } as Record<string, z.ZodOptional<T>>)
    .refine((o) => o[lo] !== undefined || o[hi] !== undefined, { message: `give ${lo}, ${hi} or both` });

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z
    .strictObject({
      glob: oneOrMany(globSchema).optional(),
      ext: oneOrMany(extSchema).optional(),
      regex: regexSchema.optional(),
      size: range(sizeValue, 'min', 'max').optional(),
      modified: range(dateValue, 'after', 'before').optional(),
      age: range(durationValue, 'min', 'max').optional(),
      type: oneOrMany(typeSchema).optional(),
      all: z.array(conditionSchema).min(1).optional(),
      any: z.array(conditionSchema).min(1).optional(),
      not: conditionSchema.optional(),
    })
    .superRefine((c, ctx) => {
      const keys = Object.keys(c).filter((k) => c[k as keyof typeof c] !== undefined);
      if (keys.length !== 1)
        ctx.addIssue({
          code: 'custom',
          message:
            keys.length === 0
              ? `a condition needs one of: ${CONDITION_KEYS.join(', ')}`
              : `one condition per item (found ${keys.join(', ')}): combine several with all, any or not`,
        });
    }),
) as unknown as z.ZodType<Condition>;

/** Whether a condition (at any depth) depends on the clock (`age`): its answer changes with time alone. */
export function usesClock(c: Condition | undefined): boolean {
  if (!c) return false;
  if ('age' in c) return true;
  if ('all' in c) return c.all.some(usesClock);
  if ('any' in c) return c.any.some(usesClock);
  if ('not' in c) return usesClock(c.not);
  return false;
}

/** Whether a condition (at any depth) asks for the sniffed content type. */
export function usesContentType(c: Condition | undefined): boolean {
  if (!c) return false;
  if ('type' in c) return true;
  if ('all' in c) return c.all.some(usesContentType);
  if ('any' in c) return c.any.some(usesContentType);
  if ('not' in c) return usesContentType(c.not);
  return false;
}
