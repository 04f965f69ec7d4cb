import { z } from 'zod';
import { bandwidthScheduleProblem } from './bandwidthSchedule';
import { conditionSchema, globSchema, usesContentType } from './conditions';
import { SYNC_MODES } from './models';

/**
 * The one schema for config.yml: used by the CLI, the daemon and the window's forms alike.
 * Secrets are references (env:/file:/keychain:), never values.
 */
const id = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'use 1–64 letters, digits, "_", "." or "-", starting with a letter or digit',
  );

export const secretRef = z
  .string()
  .regex(
    /^(env|file|keychain):.+$/,
    'secrets are never written in clear: give a reference such as env:VAR, file:/path/to/secret or keychain:NAME',
  );

/**
 * A URL that carries no password (`https://alice:pw@host/` would keep it in clear in the config and
 * answer it back through config:get): the password goes in a secret reference beside the URL.
 */
function urlWithoutPassword(whereInstead: string) {
  return z.url().superRefine((u, ctx) => {
    let password = '';
    try {
      password = new URL(u).password;
    } catch {
      return; // z.url() says what is wrong with it
    }
    if (password !== '')
      ctx.addIssue({
        code: 'custom',
        message: `the URL holds a password in clear: remove "user:password@" from it and give ${whereInstead}`,
      });
  });
}

/** Header names that carry credentials: their values must be secret references, resolved when sent. */
export function isCredentialHeader(name: string): boolean {
  return /^(proxy-)?authorization$|cookie|token|secret|passw|api-?key|auth|session|signature|credential/i.test(name);
}

const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers))
    if (isCredentialHeader(name) && !secretRef.safeParse(value).success)
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `the ${name} header carries a credential: give its whole value as a reference such as env:VAR, file:/path/to/secret or keychain:NAME (a bearer token also fits in token:)`,
      });
});

const port = z.number().int().min(1).max(65535);
const remoteRoot = z.string().optional();

export const TEMPLATE_FIELDS = ['path', 'dir', 'name', 'stem', 'ext', 'yyyy', 'mm', 'dd', 'folder', 'rule'] as const;

export const folderSchema = z.strictObject({
  id,
  path: z.string().min(1),
  ignore: z.array(z.string()).default([]),
  paused: z.boolean().default(false),
  /** How changes are noticed: `auto` (native events; polling on network mounts), `native` or `poll`. */
  watch: z.enum(['auto', 'native', 'poll']).default('auto'),
});

const base = { id, prefix: remoteRoot };

export const destinationSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('local'), path: z.string().min(1) }),
  z.strictObject({
    ...base,
    type: z.literal('s3'),
    bucket: z.string().min(1),
    region: z.string().optional(),
    endpoint: urlWithoutPassword('the keys as access_key_id and secret_access_key references').optional(),
    force_path_style: z.boolean().optional(),
    access_key_id: secretRef.optional(),
    secret_access_key: secretRef.optional(),
    storage_class: z.string().optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('gcs'),
    bucket: z.string().min(1),
    project_id: z.string().optional(),
    key_file: secretRef.optional(),
    endpoint: urlWithoutPassword('the credentials as key_file: file:/path/to/key.json').optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('dropbox'),
    root: z.string().default('/'),
    app_key: z.string().min(1),
    refresh_token: secretRef,
    /** Where Dropbox's API and content hosts are reached (a gateway or an emulator); default: Dropbox. */
    endpoint: urlWithoutPassword('the credentials through "Connect to Dropbox" (refresh_token)').optional(),
    /** The loopback redirect URI registered for app_key in the App Console (`ferry connect`); default Ferry's. */
    redirect_uri: z.url().optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('sftp'),
    host: z.string().min(1),
    port: port.default(22),
    user: z.string().min(1),
    password: secretRef.optional(),
    private_key: secretRef.optional(),
    path: z.string().default('.'),
    host_key: z.string().optional(),
    /** Connections kept open to the server (requests are pipelined on each); default 4. */
    connections: z.number().int().min(1).max(16).optional(),
    /** Seconds without an answer after which a connection is given up (and the transfer retried); default 30. */
    timeout: z.number().int().min(1).max(600).optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('ftp'),
    host: z.string().min(1),
    port: port.default(21),
    user: z.string().default('anonymous'),
    password: secretRef.optional(),
    path: z.string().default('/'),
    tls: z.enum(['explicit', 'implicit', 'none']).default('explicit'),
    /** Connections kept open to the server (one transfer at a time on each); default 4. */
    connections: z.number().int().min(1).max(16).optional(),
    /** Seconds without an answer after which a connection is given up (and the transfer retried); default 30. */
    timeout: z.number().int().min(1).max(600).optional(),
    /** A self-signed or private CA's certificate (PEM) that the server's TLS certificate must chain to. */
    ca_file: z.string().optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('webdav'),
    url: urlWithoutPassword('the name as user: and the password as password: keychain:NAME (or env:VAR, file:PATH)'),
    user: z.string().optional(),
    password: secretRef.optional(),
    path: z.string().default('/'),
    /** How to authenticate: `auto` learns Basic or Digest from the server's challenge (the default). */
    auth: z.enum(['auto', 'basic', 'digest']).optional(),
    /** Seconds without any progress on a connection before a request is abandoned (default 60). */
    timeout: z.number().int().min(1).max(3600).optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('http'),
    url: urlWithoutPassword('a bearer token as token: keychain:NAME, or a header whose value is a reference'),
    method: z.enum(['POST', 'PUT']).default('POST'),
    field: z.string().default('file'),
    path_field: z.string().optional(),
    /** Sent with every request; credential headers (Authorization, X-Api-Key…) hold secret references. */
    headers: headersSchema.default({}),
    token: secretRef.optional(),
    /** Send the remote path in this header (percent-encoded) instead of, or besides, `path_field`. */
    path_header: z.string().optional(),
    /** A field of the JSON answer that must be true or "ok" for an upload to count as received. */
    success_field: z.string().optional(),
    /** Seconds without any progress on a connection before a request is abandoned (default 60). */
    timeout: z.number().int().min(1).max(3600).optional(),
  }),
]);

const templateSchema = z
  .string()
  .min(1)
  .superRefine((t, ctx) => {
    const problem = templateProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Why a destination path template cannot work, or undefined: unknown or unclosed placeholders, a path
 * that climbs out of the destination, or one without {path}, {name} or {stem} (every file would land
 * on the same name).
 */
export function templateProblem(t: string): string | undefined {
  const opened = (t.match(/\{/g) ?? []).length;
  const closed = [...t.matchAll(/\{([^{}]*)\}/g)];
  if (closed.length !== opened || (t.match(/\}/g) ?? []).length !== opened)
    return `"${t}" has an unclosed or stray brace: placeholders look like {name}`;
  const unknown = closed.map((m) => m[1] ?? '').filter((k) => !(TEMPLATE_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    return `unknown placeholder {${unknown[0]}}: use only ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')}`;
  if (t.split(/[\\/]/).some((seg) => seg === '..'))
    return `"${t}" climbs out of the destination with "..": templates stay inside the destination root`;
  if (!closed.some((m) => ['path', 'name', 'stem'].includes(m[1] ?? '')))
    return `"${t}" gives every file the same name: include {path}, {name} or {stem}`;
  return undefined;
}

export const HOOK_EVENTS = ['transfer.completed', 'transfer.failed'] as const;

/** Something to run when a transfer ends: a command (the event as JSON on stdin) or a URL to POST it to. */
export const hookSchema = z
  .strictObject({
    on: z.array(z.enum(HOOK_EVENTS)).min(1).default(['transfer.completed', 'transfer.failed']),
    command: z.string().min(1).optional(),
    url: urlWithoutPassword('the secret as token: keychain:NAME (sent as a bearer token)').optional(),
    /** Sent as `Authorization: Bearer …` with a URL hook. */
    token: secretRef.optional(),
    timeout: z.number().int().min(1).max(600).default(30),
  })
  .refine((h) => (h.command === undefined) !== (h.url === undefined), { message: 'give either a command or a url' });

export const COMPRESSIONS = ['gzip', 'zstd'] as const;

/** A duration as written in a config: `30d`, `12h`, `90m`, `45s`, `2w`, or `0` (never). */
const DURATION_UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export function durationMs(v: string | number): number | undefined {
  // A bare number other than 0 says no unit: 30 seconds or 30 days? Refused rather than guessed.
  if (typeof v === 'number') return v === 0 ? 0 : undefined;
  const m = /^\s*(\d+)\s*([smhdw])?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n !== 0 && m[2] === undefined) return undefined;
  return n * DURATION_UNITS_MS[(m[2] ?? 's') as keyof typeof DURATION_UNITS_MS];
}

/**
 * What a rule keeps of the files it replaces or deletes at a destination (see engine/versions/):
 * `keep` how long (`0` turns keeping off), `max` how many versions per file at most.
 */
export const versionsSchema = z.strictObject({
  keep: z
    .union([z.string(), z.number()])
    .refine((v) => durationMs(v) !== undefined, {
      message:
        'keep is how long to keep replaced and deleted files: a duration such as 30d, 12h, 2w, or 0 to keep none',
    })
    .default('30d'),
  max: z
    .number()
    .int('max is a whole number of versions per file')
    .min(1, 'max is at least 1 (keep: 0 turns versions off)')
    .optional(),
});
export type VersionsConfig = z.infer<typeof versionsSchema>;

export const ruleSchema = z.strictObject({
  name: z.string().min(1).max(120),
  from: z.array(id).min(1, 'name at least one folder id'),
  /** Globs on the folder-relative path; a file must match one of them (and `when`, if given). */
  match: z.array(globSchema).default(['**']),
  exclude: z.array(globSchema).default([]),
  /** Conditions on path, extension, size, dates and sniffed content type (see conditions.ts). */
  when: conditionSchema.optional(),
  /** A file this rule catches is not offered to the rules after it (first-match lists). */
  stop: z.boolean().default(false),
  to: z.array(id).min(1, 'name at least one destination id'),
  path: templateSchema.default('{path}'),
  mode: z.enum(SYNC_MODES).default('backup'),
  /** Compress before upload; the remote name gets .gz / .zst and verification covers the compressed bytes. */
  compress: z.enum(COMPRESSIONS).optional(),
  /** Free strings carried to the destination as metadata where it supports it, and kept in history. */
  tags: z.array(z.string().min(1).max(128)).max(32).default([]),
  /** Count a file safe once this many of `to` hold verified copies (a move deletes the source then). */
  safe_when: z.number().int().min(1).optional(),
  /** Two-way only ("selective sync"): remote folders or files (globs) never brought home, nor deleted here. */
  remote_exclude: z.array(globSchema).default([]),
  hooks: z.array(hookSchema).default([]),
  /** Versions of what the rule replaces or deletes at its destinations (default: 30 days for mirror and two-way). */
  versions: versionsSchema.optional(),
});

export const settingsSchema = z.strictObject({
  transfers: z.number().int().min(1).max(64).default(4),
  bandwidth: z.number().int().min(0).default(0),
  /**
   * rclone's `--bwlimit` timetable ("08:00,2M 18:00,off", "Mon-08:00,1M:512k"; bandwidthSchedule.ts):
   * when set, it takes the place of `bandwidth`, with separate upload and download limits.
   */
  bandwidth_schedule: z
    .string()
    .max(4000)
    .superRefine((text, ctx) => {
      const problem = bandwidthScheduleProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** The desktop app holds every transfer while the computer runs on battery (the OS says so). */
  pause_on_battery: z.boolean().default(true),
  /** The desktop app holds every transfer on a network the OS calls metered (NetworkManager on Linux). */
  pause_on_metered: z.boolean().default(true),
  retries: z.number().int().min(0).max(20).default(5),
  /** Mirror brake: a run that would delete more than this share of what a rule shipped stops and asks. */
  max_delete_share: z.number().min(0).max(1).default(0.5),
  /** Seconds between full rescans (with a listing of every destination): the safety net under the watchers. */
  rescan_interval: z.number().int().min(10).default(3600),
  /** Seconds between looks at the destinations of two-way rules for changes made elsewhere. */
  remote_poll: z.number().int().min(5).default(60),
  /** Hooks for every rule's transfers. */
  hooks: z.array(hookSchema).default([]),
  state_dir: z.string().optional(),
  /** The window: light, dark or as the system says. */
  theme: z.enum(['system', 'light', 'dark']).default('system'),
  /** Desktop notifications for failures that need the person (auth revoked, a destination full, a folder gone). */
  notifications: z.boolean().default(true),
  /** Start Ferry when the person logs in (the desktop app registers itself with the OS). */
  start_at_login: z.boolean().default(false),
});

export const configSchema = z
  .strictObject({
    folders: z.array(folderSchema).default([]),
    destinations: z.array(destinationSchema).default([]),
    rules: z.array(ruleSchema).default([]),
    settings: settingsSchema.default(settingsSchema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    const unique = (items: { id: string }[], key: 'folders' | 'destinations') => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.id))
          ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `duplicate id "${item.id}"` });
        seen.add(item.id);
      });
    };
    unique(cfg.folders, 'folders');
    unique(cfg.destinations, 'destinations');
    const folderIds = cfg.folders.map((f) => f.id);
    const destIds = cfg.destinations.map((d) => d.id);
    const ruleNames = new Set<string>();
    cfg.rules.forEach((rule, i) => {
      if (ruleNames.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${rule.name}"` });
      ruleNames.add(rule.name);
      rule.from.forEach((f, j) => {
        if (!folderIds.includes(f))
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'from', j],
            message: `unknown folder "${f}" (folders: ${folderIds.join(', ') || 'none defined'})`,
          });
      });
      rule.to.forEach((d, j) => {
        if (!destIds.includes(d))
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'to', j],
            message: `unknown destination "${d}" (destinations: ${destIds.join(', ') || 'none defined'})`,
          });
      });
      if (rule.safe_when !== undefined && rule.safe_when > rule.to.length)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'safe_when'],
          message: `safe_when is ${rule.safe_when} but the rule ships to ${rule.to.length} destination(s): at most ${rule.to.length}`,
        });
      if (new Set(rule.to).size !== rule.to.length)
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'to'], message: 'a destination is named twice' });
      if (rule.mode === 'two-way') {
        // Two-way keeps one folder and one destination path equal: a 1:1 mapping, both ways.
        const refuse = (field: string, message: string) =>
          ctx.addIssue({ code: 'custom', path: ['rules', i, field], message });
        if (rule.to.length !== 1)
          refuse('to', 'a two-way rule keeps one folder and one destination equal: name one destination');
        if (rule.from.length !== 1)
          refuse('from', 'a two-way rule keeps one folder and one destination equal: name one folder');
        if (rule.path !== '{path}')
          refuse('path', 'a two-way rule mirrors the folder as it is: leave the path template out (it is {path})');
        if (rule.compress !== undefined)
          refuse('compress', 'a two-way rule cannot compress: files must come back as they left');
        if (rule.safe_when !== undefined) refuse('safe_when', 'safe_when is for move rules, not two-way ones');
      } else if (rule.remote_exclude.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'remote_exclude'],
          message: 'remote_exclude (selective sync) is for two-way rules only',
        });
    });
  });

export type FerryConfig = z.infer<typeof configSchema>;
export type FolderConfig = z.infer<typeof folderSchema>;
export type DestinationConfig = z.infer<typeof destinationSchema>;
export type DestinationType = DestinationConfig['type'];
export type RuleConfig = z.infer<typeof ruleSchema>;
export type Settings = z.infer<typeof settingsSchema>;
export type HookConfig = z.infer<typeof hookSchema>;
export type Compression = (typeof COMPRESSIONS)[number];

/**
 * How long a rule keeps what it replaces or deletes, and how many per file; undefined when it keeps
 * nothing. Mirror and two-way rules keep 30 days unless told otherwise; backup and move rules only when
 * `versions` is given.
 */
export function versionPolicy(
  rule: Pick<RuleConfig, 'mode' | 'versions'>,
): { keepMs: number; max?: number } | undefined {
  const v = rule.versions;
  if (v === undefined)
    return rule.mode === 'mirror' || rule.mode === 'two-way' ? { keepMs: 30 * 86_400_000 } : undefined;
  const keepMs = durationMs(v.keep) ?? 0;
  if (keepMs === 0) return undefined;
  return v.max !== undefined ? { keepMs, max: v.max } : { keepMs };
}

/** Whether any rule over this folder needs the files' sniffed content type. */
export function folderNeedsContentType(cfg: Pick<FerryConfig, 'rules'>, folder: string): boolean {
  return cfg.rules.some((r) => r.from.includes(folder) && usesContentType(r.when));
}
