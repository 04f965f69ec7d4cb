import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { configSchema, type FerryConfig } from '../../../shared/config';
import { pathRelationProblems } from './pathRelations';

export type ConfigProblem = { file: string; line?: number; column?: number; path: string; message: string };

/** A config that cannot be used: every problem names the file, the line, the field path and what is wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return p;
}

/** A schema path as people write it: `rules[0].when.any[1].regex`. */
export function pathToString(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)),
    '',
  );
}

/** A problem inside a rule names the rule too, as people know it by its name: `rule "camera": …`. */
function inRule(raw: unknown, path: readonly PropertyKey[], message: string): string {
  if (path[0] !== 'rules' || typeof path[1] !== 'number' || path.length < 3 || path[2] === 'name') return message;
  const rules = (raw as { rules?: unknown } | null)?.rules;
  const name = Array.isArray(rules) ? (rules[path[1]] as { name?: unknown } | undefined)?.name : undefined;
  return typeof name === 'string' ? `rule ${JSON.stringify(name)}: ${message}` : message;
}

/** Finds the YAML node a schema path points at, to report its line; falls back to the nearest parent. */
function nodeAt(root: YamlNode | null, path: readonly PropertyKey[]): YamlNode | null {
  let node = root;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === seg);
      if (!pair) return node;
      node = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return node;
      node = item;
    } else return node;
  }
  return node;
}

/** `paths: false` skips the checks that look at the disk (folders and destinations that overlap). */
export type ParseOptions = { paths?: boolean };

/**
 * Parses and validates config text. Relative folder and destination paths are resolved against the
 * config file's directory; `~` is the home directory.
 */
export function parseConfig(text: string, file: string, baseDir: string, opts: ParseOptions = {}): FerryConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0)
    throw new ConfigError(
      doc.errors.map((e) => ({
        file,
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
        ...pos(e.pos[0]),
      })),
    );
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue: z.core.$ZodIssue) => {
      const node = nodeAt(doc.contents as YamlNode | null, issue.path);
      return {
        file,
        path: pathToString(issue.path),
        message: inRule(raw, issue.path, describeIssue(issue)),
        ...pos(node?.range?.[0]),
      };
    });
    throw new ConfigError(problems);
  }
  const cfg = resolvePaths(parsed.data, baseDir);
  if (opts.paths === false) return cfg;
  const overlaps = pathRelationProblems(cfg);
  if (overlaps.length > 0)
    throw new ConfigError(
      overlaps.map((o) => ({
        file,
        path: pathToString(o.path),
        message: o.message,
        ...pos(nodeAt(doc.contents as YamlNode | null, o.path)?.range?.[0]),
      })),
    );
  return cfg;
}

/** Validates a configuration given as an object (the window's editor, the API), without YAML positions. */
export function configFromObject(raw: unknown, file: string, baseDir: string): FerryConfig {
  const parsed = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((issue: z.core.$ZodIssue) => ({
        file,
        path: pathToString(issue.path),
        message: inRule(raw, issue.path, describeIssue(issue)),
      })),
    );
  const cfg = resolvePaths(parsed.data, baseDir);
  const overlaps = pathRelationProblems(cfg);
  if (overlaps.length > 0)
    throw new ConfigError(overlaps.map((o) => ({ file, path: pathToString(o.path), message: o.message })));
  return cfg;
}

function resolvePaths(cfg: FerryConfig, baseDir: string): FerryConfig {
  const abs = (p: string) => {
    const e = expandHome(p);
    return isAbsolute(e) ? e : resolve(baseDir, e);
  };
  for (const f of cfg.folders) f.path = abs(f.path);
  for (const d of cfg.destinations) if (d.type === 'local') d.path = abs(d.path);
  if (cfg.settings.state_dir) cfg.settings.state_dir = abs(cfg.settings.state_dir);
  return cfg;
}

function kindOf(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'text';
  return `a ${typeof v}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator')
    return 'unknown destination type: use one of local, s3, gcs, dropbox, sftp, ftp, webdav, http';
  if (issue.code === 'invalid_type')
    // The kind of value given, never the value (it may be a secret written in the wrong place).
    return issue.input === undefined
      ? `required: expected ${issue.expected}`
      : `expected ${issue.expected}, but ${kindOf(issue.input)} was given`;
  return issue.message;
}

export function loadConfig(file: string): FerryConfig {
  const path = resolve(expandHome(file));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        file: path,
        path: '',
        message: `cannot read the config file: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message}`,
      },
    ]);
  }
  return parseConfig(text, path, resolve(path, '..'));
}
