import { z } from 'zod';
import { destinationSchema, secretRef } from '../../../../shared/config';
import type { DestinationConfig, DestinationType } from '../../../../shared/config';

/**
 * The destination form, generated from the config schema: one field per property of the chosen union
 * member (read through zod's JSON Schema), and the conversions between the form's strings and a
 * config object. No React here, so the rules are unit-tested (test/unit/schemaForm.test.ts).
 */

export type FieldKind = 'text' | 'url' | 'number' | 'boolean' | 'enum' | 'secret' | 'record';

export type FormField = {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  /** The value the schema fills in when the field is left out. */
  default?: string | number | boolean | Record<string, string>;
  options?: readonly string[];
  min?: number;
  max?: number;
  integer?: boolean;
  help?: string;
  placeholder?: string;
  /** Shown under "More options": rarely needed, with sensible defaults. */
  advanced: boolean;
  /** A secret whose value spans lines (a private key, a JSON key file): typed into a masked text area. */
  multiline: boolean;
};

export type Pair = { key: string; value: string };
/** Text-like fields hold strings (numbers too, as typed), booleans hold booleans, records hold pairs. */
export type FieldValue = string | boolean | Pair[];
export type FormValues = Record<string, FieldValue>;

/** What zod's JSON Schema says about one property (the parts the form uses). */
type JsonProp = {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
};
type JsonObject = { properties?: Record<string, JsonProp>; required?: string[] };

const SECRET_PATTERN = (z.toJSONSchema(secretRef) as JsonProp).pattern;

/** The union members by their `type`, in the schema's order. */
const OPTIONS = new Map<DestinationType, JsonObject>(
  destinationSchema.options.map((option) => {
    const json = z.toJSONSchema(option, { io: 'input' }) as JsonObject;
    return [json.properties?.type?.const as DestinationType, json];
  }),
);

export const DESTINATION_TYPES: readonly DestinationType[] = [...OPTIONS.keys()];

export function isDestinationType(s: string): s is DestinationType {
  return OPTIONS.has(s as DestinationType);
}

/** How the chooser names each type, and what it is for. */
export const TYPE_INFO: Record<DestinationType, { label: string; blurb: string }> = {
  local: { label: 'Folder on this machine', blurb: 'a local disk, an external drive or a mounted NAS share.' },
  s3: { label: 'Amazon S3 or compatible', blurb: 'AWS, MinIO, Cloudflare R2, Backblaze B2, Wasabi…' },
  gcs: { label: 'Google Cloud Storage', blurb: 'a bucket, with a service-account key.' },
  dropbox: { label: 'Dropbox', blurb: 'a folder of a Dropbox account, through an app key and a refresh token.' },
  sftp: { label: 'SFTP (SSH)', blurb: 'a server or NAS reached over SSH.' },
  ftp: { label: 'FTP / FTPS', blurb: 'an FTP server, with TLS unless you turn it off.' },
  webdav: { label: 'WebDAV', blurb: 'Nextcloud, ownCloud, a NAS or any WebDAV server.' },
  http: { label: 'HTTP upload endpoint', blurb: 'a service that accepts one upload request per file.' },
};

/**
 * Help and examples for the common fields, by name or `type.name` (the more specific wins). The schema
 * says what is valid; this says what to type.
 */
const HELP: Record<string, string> = {
  id: 'How rules name this destination (to: [id]): letters, digits, "_", "." or "-".',
  prefix: 'A sub-folder Ferry keeps everything under at this destination; empty: its root.',
  'local.path': 'A folder on this machine, an external drive or a mounted NAS share.',
  bucket: 'The bucket must exist already.',
  region: 'The bucket’s region, e.g. eu-west-1.',
  endpoint: 'A gateway or an emulator; empty: the provider’s own service.',
  's3.endpoint': 'For S3-compatible stores (MinIO, R2, B2…): their S3 address. Empty: Amazon S3.',
  force_path_style:
    'Address buckets as endpoint/bucket instead of bucket.endpoint (MinIO and most self-hosted stores need it).',
  access_key_id:
    'Empty (with the secret key empty too): the usual AWS credentials of this machine (environment, profile, role).',
  storage_class: 'e.g. STANDARD_IA or GLACIER_IR; empty: the bucket’s default.',
  project_id: 'Empty: the project of the service-account key.',
  key_file: 'A service-account JSON key (IAM → Service accounts → Keys); needed for share links.',
  'dropbox.root': 'The folder in the Dropbox account that Ferry writes below.',
  app_key: 'The key of your Dropbox app (not a secret; the refresh token is).',
  refresh_token: 'The OAuth refresh token of the app’s connection to the account.',
  host: 'A host name or an IP address.',
  user: 'The account to sign in as.',
  private_key: 'An unencrypted private key in OpenSSH or PEM format (use it instead of a password).',
  'sftp.path': 'The folder on the server; relative to the account’s home unless it starts with “/”.',
  'ftp.path': 'The folder on the server.',
  'webdav.path': 'The folder below the URL.',
  host_key: 'The server’s key fingerprint (SHA256:…); leave empty to be shown it on the first test.',
  connections: 'Connections kept open to the server (1–16); default 4.',
  timeout: 'Seconds without an answer before a connection is given up and the transfer retried.',
  tls: 'explicit: TLS after connecting (port 21); implicit: TLS from the start (port 990); none: passwords travel in clear.',
  ca_file: 'A self-signed or private CA’s certificate (PEM file) the server’s certificate must chain to.',
  'webdav.url': 'The server’s WebDAV address, e.g. https://cloud.example.com/remote.php/dav/files/me.',
  auth: 'auto learns Basic or Digest from the server (the default).',
  'http.url': 'Where uploads are sent: POST as multipart/form-data, or PUT to url/<remote path>.',
  method: 'POST sends a form with the file; PUT sends the bytes to url/<remote path>.',
  field: 'The form field that carries the file (POST).',
  path_field: 'The form field that carries the remote path (POST).',
  headers: 'Sent with every upload. Put credentials in the token instead: headers are stored in clear.',
  token: 'Sent as “Authorization: Bearer …”.',
  path_header: 'Also send the remote path in this header (percent-encoded).',
  success_field: 'A field of the JSON answer that must be true or "ok" for an upload to count.',
};

const PLACEHOLDERS: Record<string, string> = {
  id: 'e.g. nas, offsite, photos-bucket',
  'local.path': '/Volumes/Backup/Ferry',
  bucket: 'my-backups',
  region: 'eu-west-1',
  's3.endpoint': 'https://s3.example.com',
  host: 'nas.local',
  host_key: 'SHA256:…',
  'webdav.url': 'https://cloud.example.com/remote.php/dav/files/me',
  'http.url': 'https://uploads.example.com/ingest',
};

/** Rarely changed fields, folded under "More options". */
const ADVANCED = new Set([
  'prefix',
  'connections',
  'timeout',
  'storage_class',
  'ca_file',
  'auth',
  'path_header',
  'success_field',
  'gcs.endpoint',
  'dropbox.endpoint',
]);

/** Secrets whose values span lines. */
const MULTILINE_SECRETS = new Set(['private_key', 'key_file']);

const byName = <T>(table: Record<string, T>, type: string, name: string): T | undefined =>
  table[`${type}.${name}`] ?? table[name];

export const fieldHelp = (type: DestinationType, name: string) => byName(HELP, type, name);
const fieldPlaceholder = (type: DestinationType, name: string) => byName(PLACEHOLDERS, type, name);
const isAdvanced = (type: DestinationType, name: string) => ADVANCED.has(`${type}.${name}`) || ADVANCED.has(name);
const isMultilineSecret = (name: string) => MULTILINE_SECRETS.has(name);

const ACRONYMS: Record<string, string> = { id: 'ID', url: 'URL', tls: 'TLS', ca: 'CA', http: 'HTTP', ssh: 'SSH' };

/** "access_key_id" → "Access key ID". */
export function labelFor(name: string): string {
  return name
    .split('_')
    .filter((w) => w !== '')
    .map((w, i) => ACRONYMS[w] ?? (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w))
    .join(' ');
}

function kindOf(prop: JsonProp): FieldKind {
  if (prop.enum) return 'enum';
  if (prop.type === 'boolean') return 'boolean';
  if (prop.type === 'integer' || prop.type === 'number') return 'number';
  if (prop.type === 'object') return 'record';
  if (prop.pattern !== undefined && prop.pattern === SECRET_PATTERN) return 'secret';
  if (prop.format === 'uri') return 'url';
  return 'text';
}

function toField(type: DestinationType, name: string, prop: JsonProp, required: boolean): FormField {
  const kind = kindOf(prop);
  const field: FormField = {
    name,
    label: labelFor(name),
    kind,
    required,
    advanced: isAdvanced(type, name),
    multiline: kind === 'secret' && isMultilineSecret(name),
  };
  if (prop.default !== undefined) field.default = prop.default as NonNullable<FormField['default']>;
  if (prop.enum) field.options = prop.enum.map(String);
  if (prop.minimum !== undefined) field.min = prop.minimum;
  if (prop.maximum !== undefined) field.max = prop.maximum;
  if (prop.type === 'integer') field.integer = true;
  const help = fieldHelp(type, name);
  if (help !== undefined) field.help = help;
  const placeholder = fieldPlaceholder(type, name);
  if (placeholder !== undefined) field.placeholder = placeholder;
  else if (prop.default !== undefined && (kind === 'text' || kind === 'number' || kind === 'url'))
    field.placeholder = `${String(prop.default)} (default)`;
  return field;
}

const cache = new Map<DestinationType, readonly FormField[]>();

/**
 * The fields of one destination type: `id` first, the type's own properties in the schema's order,
 * the shared `prefix` last; `type` is left out (the chooser sets it).
 */
export function fieldsFor(type: DestinationType): readonly FormField[] {
  const known = cache.get(type);
  if (known) return known;
  const json = OPTIONS.get(type);
  if (!json) throw new Error(`unknown destination type "${type}"`);
  const required = new Set(json.required ?? []);
  const names = Object.keys(json.properties ?? {}).filter((n) => n !== 'type');
  const ordered = ['id', ...names.filter((n) => n !== 'id' && n !== 'prefix'), ...names.filter((n) => n === 'prefix')];
  const fields = ordered.map((name) => toField(type, name, json.properties?.[name] ?? {}, required.has(name)));
  cache.set(type, fields);
  return fields;
}

/** A blank form: enums and booleans start at their defaults; other defaults show as placeholders. */
export function initialValues(type: DestinationType): FormValues {
  const values: FormValues = {};
  for (const f of fieldsFor(type)) values[f.name] = blankValue(f);
  return values;
}

function blankValue(f: FormField): FieldValue {
  if (f.kind === 'boolean') return f.default === true;
  if (f.kind === 'record') return [];
  if (f.kind === 'enum' && typeof f.default === 'string') return f.default;
  return '';
}

/** A saved destination as form values (numbers as the strings an input holds, records as pairs). */
export function valuesFromDestination(dest: DestinationConfig): FormValues {
  const values = initialValues(dest.type);
  const source = dest as Record<string, unknown>;
  for (const f of fieldsFor(dest.type)) {
    const v = source[f.name];
    if (v === undefined || v === null) continue;
    if (f.kind === 'boolean') values[f.name] = v === true;
    else if (f.kind === 'record')
      values[f.name] = Object.entries(v as Record<string, unknown>).map(([key, value]) => ({
        key,
        value: String(value),
      }));
    else values[f.name] = String(v);
  }
  return values;
}

/** Another type chosen mid-way: what was typed into fields both types share (id, host, path…) is kept. */
export function changeType(values: FormValues, from: DestinationType, to: DestinationType): FormValues {
  const before = new Map(fieldsFor(from).map((f) => [f.name, f]));
  const next = initialValues(to);
  for (const f of fieldsFor(to)) {
    const old = before.get(f.name);
    const v = values[f.name];
    if (!old || old.kind !== f.kind || v === undefined) continue;
    if (f.kind === 'enum' && !(f.options ?? []).includes(String(v))) continue;
    next[f.name] = v;
  }
  return next;
}

const isBlank = (v: FieldValue | undefined) =>
  v === undefined ||
  (typeof v === 'string' && v.trim() === '') ||
  (Array.isArray(v) && v.every((p) => p.key.trim() === ''));

/**
 * The config object a filled form stands for: strings trimmed, numbers as numbers, empty optional
 * fields left out (the schema's defaults apply), booleans kept when they say something. Secret fields
 * hold references only; values typed into them travel separately (see secrets.ts).
 */
export function destinationFromValues(type: DestinationType, values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fieldsFor(type)) {
    const v = values[f.name];
    if (f.kind === 'boolean') {
      const on = v === true;
      if (on || f.required || f.default !== undefined) out[f.name] = on;
      continue;
    }
    if (isBlank(v)) continue;
    if (f.kind === 'record') {
      const pairs = (v as Pair[]).filter((p) => p.key.trim() !== '');
      out[f.name] = Object.fromEntries(pairs.map((p) => [p.key.trim(), p.value.trim()]));
      continue;
    }
    const s = String(v).trim();
    if (f.kind === 'number') {
      const n = Number(s);
      // Left as typed, so that validation says what is wrong with it.
      out[f.name] = Number.isFinite(n) ? n : s;
      continue;
    }
    out[f.name] = s;
  }
  // id and type first: the order config.yml is written in.
  const { id, ...rest } = out;
  return id === undefined ? { type, ...rest } : { id, type, ...rest };
}

export type Validation = {
  /** The parsed destination when the form is valid. */
  config: DestinationConfig | undefined;
  /** One message per field name ('' for the form as a whole). */
  errors: Record<string, string>;
};

/**
 * Checks a form the way the engine will (destinationSchema), with plainer words for the common cases.
 * `pendingSecrets` are fields whose value was typed and will be stored before saving: they count as
 * filled in. `takenIds` are the other destinations' ids (the engine refuses duplicates).
 */
export function validateValues(
  type: DestinationType,
  values: FormValues,
  opts: { pendingSecrets?: Iterable<string>; takenIds?: Iterable<string> } = {},
): Validation {
  const pending = new Set(opts.pendingSecrets ?? []);
  const fields = fieldsFor(type);
  const draft = destinationFromValues(type, values);
  const errors: Record<string, string> = {};
  const id = typeof draft.id === 'string' ? draft.id : '';
  for (const name of pending) draft[name] = `keychain:${secretName(id || 'draft', name)}`;

  for (const f of fields) {
    const v = draft[f.name];
    if (f.required && v === undefined) errors[f.name] = `${f.label} is required`;
    else if (f.kind === 'number' && typeof v === 'string')
      errors[f.name] = f.integer ? 'Enter a whole number' : 'Enter a number';
  }
  const parsed = destinationSchema.safeParse(draft);
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const key = issue.path.length > 0 ? String(issue.path[0]) : '';
      const kind = fields.find((f) => f.name === key)?.kind;
      errors[key] ??=
        kind === 'url' && issue.code === 'invalid_format'
          ? 'Enter a full address, starting with https:// or http://'
          : issue.message;
    }
  if (id !== '' && [...(opts.takenIds ?? [])].includes(id))
    errors.id ??= `Another destination is already called "${id}": ids must be unique`;
  const ok = parsed.success && Object.keys(errors).length === 0;
  return { config: ok ? parsed.data : undefined, errors };
}

/** The name a typed secret is stored under (`secret:set`); the config then holds `keychain:<name>`. */
export function secretName(destinationId: string, field: string): string {
  return `${destinationId}.${field}`;
}

export function isSecretReference(s: string): boolean {
  return SECRET_PATTERN !== undefined && new RegExp(SECRET_PATTERN).test(s);
}

/** The field a server problem path points at: `headers.Authorization` → `headers`, `` → ``. */
export function fieldOfPath(path: string): string {
  return path.split(/[.[]/)[0] ?? '';
}

/**
 * The fingerprint an SFTP server presented when its key is not recorded yet (the test's message says
 * so): the form offers to pin it. A key that differs from a pinned one is never offered (it may be an
 * attack).
 */
export function offeredHostKey(message: string): string | undefined {
  if (!/not recorded in the configuration/.test(message)) return undefined;
  return /presented host key (SHA256:[A-Za-z0-9+/=]+)/.exec(message)?.[1];
}
