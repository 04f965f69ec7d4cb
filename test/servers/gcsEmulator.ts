import { createHash, createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An in-process Google Cloud Storage JSON API emulator for tests (see ../shared/docs/TEST-SERVERS.md:
 * no complete emulator runs here). It follows https://cloud.google.com/storage/docs/json_api — object
 * resources, uploads (media, multipart, resumable with 308 "Resume Incomplete"), listing with
 * prefix/delimiter/pageToken, rewrite/copy, preconditions, md5Hash and crc32c in base64, the JSON error
 * bodies — plus service-account authentication (self-signed JWTs checked against the account's public
 * key) and V4 signed URLs on the XML path. Tests can inject 429/503 answers, expire upload sessions and read counters.
 *
 * It refuses what the service refuses, each rule citing its source: self-signed JWTs as AIP-4111 has them
 * (`kid`, `iss == sub`, one hour at most), preconditions (412, and 304 for a read whose NotMatch holds),
 * rewrites of large objects in several calls (`done: false` + `rewriteToken`), composite objects without
 * `md5Hash`, and dead resumable sessions (410).
 */

export type GcsRole = 'writer' | 'reader';
/** A service account: `keyId` is its key's `private_key_id`, which a self-signed JWT names as `kid`. */
export type GcsAccount = { email: string; keyId: string; publicKeyPem: string; role: GcsRole };

export type GcsFault = { status: 429 | 500 | 503; retryAfterSec?: number } | 'reset';
export type GcsRequestInfo = { method: string; path: string; query: URLSearchParams; n: number };

export type GcsEmulatorOptions = {
  buckets?: string[];
  /** With accounts, every JSON API request needs a bearer token: an account's self-signed JWT (or one of `tokens`). */
  accounts?: GcsAccount[];
  /** Bearer tokens accepted as they are, with the role they carry. */
  tokens?: Record<string, GcsRole>;
  /**
   * Bytes a rewrite copies per call (default 1 MiB): a larger object takes several calls, each answering
   * `done: false` with a `rewriteToken` until the last (objects.rewrite: "For large objects, this method
   * requires the use of multiple requests").
   */
  rewriteStep?: number;
};

export type StoredObject = {
  name: string;
  bucket: string;
  generation: string;
  metageneration: number;
  data: Buffer;
  contentType: string;
  metadata?: Record<string, string>;
  /** Absent on composite objects (https://cloud.google.com/storage/docs/composite-objects: no MD5 hash). */
  md5?: string;
  crc32c: string;
  /** Composite objects: how many components they were made of. */
  componentCount?: number;
  timeCreated: string;
  updated: string;
};

type Session = {
  id: string;
  bucket: string;
  name: string;
  meta: Record<string, unknown>;
  params: URLSearchParams;
  parts: Buffer[];
  persisted: number;
  declaredSize?: number;
  result?: StoredObject;
  cancelled: boolean;
  expired: boolean;
};

type RewriteState = {
  src: [string, string];
  dst: [string, string];
  sourceGeneration: string;
  /** The first call's query: later calls may leave parameters out, not change them. */
  params: URLSearchParams;
  meta: Record<string, unknown>;
  rewritten: number;
};

export type GcsStats = {
  requests: number;
  /** Object bytes received by uploads (media, the media part of multipart, resumable chunks, interrupted ones included). */
  uploadBytes: number;
  ops: Record<string, number>;
};

export type GcsEmulator = {
  url: string;
  stats: GcsStats;
  object: (bucket: string, name: string) => StoredObject | undefined;
  objects: (bucket: string) => StoredObject[];
  sessions: () => { id: string; name: string; persisted: number; done: boolean }[];
  /** Answers the requests `fault` picks with an error (or a reset) instead of serving them. */
  inject: (fault: ((r: GcsRequestInfo) => GcsFault | undefined) | undefined) => void;
  /** Every open resumable session answers 410 Gone from now on, as an expired session does. */
  expireSessions: () => void;
  /** Changes what an account may do (a writer made a reader: every write answers 403). */
  setRole: (email: string, role: GcsRole) => void;
  close: () => Promise<void>;
};

const QUANTUM = 256 * 1024;
const STORAGE_SCOPES = [
  'https://www.googleapis.com/auth/devstorage.full_control',
  'https://www.googleapis.com/auth/devstorage.read_write',
  'https://www.googleapis.com/auth/devstorage.read_only',
  'https://www.googleapis.com/auth/cloud-platform',
];

// ---- checksums --------------------------------------------------------------------------------------

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as GCS reports it: the big-endian 4 bytes, base64. */
export function crc32cBase64(buf: Buffer): string {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = (CRC32C_TABLE[(crc ^ (buf[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

const md5Base64 = (buf: Buffer) => createHash('md5').update(buf).digest('base64');

// ---- errors -----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const notFoundObject = (b: string, o: string) => new ApiError(404, `No such object: ${b}/${o}`, 'notFound');
const notFoundBucket = () => new ApiError(404, 'The specified bucket does not exist.', 'notFound');
const preconditionFailed = () =>
  new ApiError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet', {
    locationType: 'header',
    location: 'If-Match',
  });
const notModified = () => new ApiError(304, 'Not Modified', 'notModified');
const badRequest = (message: string, reason = 'invalid') => new ApiError(400, message, reason);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: ApiError): void {
  // A 304 has no body (RFC 9110 §15.4.5).
  if (e.status === 304) {
    res.writeHead(304, e.headers);
    res.end();
    return;
  }
  sendJson(
    res,
    e.status,
    {
      error: {
        code: e.status,
        message: e.message,
        errors: [{ message: e.message, domain: 'global', reason: e.reason, ...e.extra }],
      },
    },
    e.headers,
  );
}

// ---- the emulator -----------------------------------------------------------------------------------

export async function startGcsEmulator(opts: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const buckets = new Map<string, { created: string; objects: Map<string, StoredObject> }>();
  for (const b of opts.buckets ?? ['test-bucket'])
    buckets.set(b, { created: new Date().toISOString(), objects: new Map() });
  const accounts = new Map<string, { key: KeyObject; keyId: string; role: GcsRole }>(
    (opts.accounts ?? []).map((a) => [a.email, { key: createPublicKey(a.publicKeyPem), keyId: a.keyId, role: a.role }]),
  );
  const rewriteStep = opts.rewriteStep ?? 1024 * 1024;
  const tokens = new Map<string, { email: string; role: GcsRole }>(
    Object.entries(opts.tokens ?? {}).map(([t, role]) => [t, { email: 'token-holder@test', role }]),
  );
  const authRequired = accounts.size > 0 || tokens.size > 0;
  const sessions = new Map<string, Session>();
  const rewrites = new Map<string, RewriteState>();
  const stats: GcsStats = { requests: 0, uploadBytes: 0, ops: {} };
  let fault: ((r: GcsRequestInfo) => GcsFault | undefined) | undefined;
  let lastGeneration = 0;
  let base = '';

  const op = (name: string) => (stats.ops[name] = (stats.ops[name] ?? 0) + 1);
  const nextGeneration = () => {
    lastGeneration = Math.max(lastGeneration + 1, Date.now() * 1000);
    return String(lastGeneration);
  };
  const bucketOf = (name: string) => {
    const b = buckets.get(name);
    if (!b) throw notFoundBucket();
    return b;
  };

  const resource = (o: StoredObject) => {
    const enc = encodeURIComponent(o.name);
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${base}/storage/v1/b/${o.bucket}/o/${enc}`,
      mediaLink: `${base}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.data.length),
      ...(o.md5 !== undefined ? { md5Hash: o.md5 } : {}),
      crc32c: o.crc32c,
      ...(o.componentCount !== undefined ? { componentCount: o.componentCount } : {}),
      etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
      timeCreated: o.timeCreated,
      updated: o.updated,
      timeStorageClassUpdated: o.timeCreated,
      ...(o.metadata && Object.keys(o.metadata).length > 0 ? { metadata: o.metadata } : {}),
    };
  };

  // -- auth
  type Caller = { email: string; role: GcsRole } | undefined;
  const invalidCredentials = () =>
    new ApiError(
      401,
      'Invalid Credentials',
      'authError',
      { locationType: 'header', location: 'Authorization' },
      { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
    );
  /**
   * Who is calling: a fixed token from the options, or a service account's self-signed JWT — the form
   * Google's client libraries send with `useJWTAccessWithScope`, no token exchange involved. The JWT is
   * checked as AIP-4111 (https://google.aip.dev/auth/4111, "Self-signed JWT") describes it:
   * - header `alg` RS256 and `kid` the service account's private key id ("kid: the private key id of
   *   the service account"): a token without it, or naming another key, is refused;
   * - `iss` and `sub` both the service account's email;
   * - `scope` (with UseJWTAccessWithScope) or `aud`, never both ("caller must not specify scope and
   *   audience at the same time"), and a storage or cloud-platform scope / the storage audience;
   * - `exp` at most one hour after `iat` ("exp: iat + 3600", what google-auth-library's
   *   JWTAccess.getExpirationTime signs), not past, `iat` not in the future;
   * - the signature verifies against the key the `kid` names.
   */
  const caller = (req: IncomingMessage): Caller => {
    if (!authRequired) return { email: 'anonymous-emulator-user', role: 'writer' };
    const h = req.headers.authorization;
    if (!h) return undefined;
    const bearer = /^Bearer (.+)$/.exec(h)?.[1];
    if (!bearer) throw invalidCredentials();
    const fixed = tokens.get(bearer);
    if (fixed) return fixed;
    const claims = verifySelfSignedJwt(bearer);
    if (!claims) throw invalidCredentials();
    return claims;
  };
  const verifySelfSignedJwt = (jwt: string): { email: string; role: GcsRole } | undefined => {
    const parts = jwt.split('.');
    if (parts.length !== 3) return undefined;
    let header: { alg?: string; kid?: string };
    let claims: { iss?: string; sub?: string; scope?: string; aud?: string; exp?: number; iat?: number };
    try {
      header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return undefined;
    }
    const account = claims.iss ? accounts.get(claims.iss) : undefined;
    if (!account || header.alg !== 'RS256' || header.kid !== account.keyId) return undefined;
    if (claims.sub !== claims.iss) return undefined;
    if (claims.scope !== undefined && claims.aud !== undefined) return undefined;
    const scoped =
      (claims.scope ?? '').split(' ').some((sc) => STORAGE_SCOPES.includes(sc)) ||
      claims.aud === 'https://storage.googleapis.com/';
    const now = Date.now() / 1000;
    const { exp, iat } = claims;
    if (!scoped || typeof exp !== 'number' || typeof iat !== 'number') return undefined;
    if (exp - iat > 3600 || exp < now || iat > now + 300) return undefined;
    const signed = createVerify('RSA-SHA256')
      .update(`${parts[0]}.${parts[1]}`)
      .verify(account.key, Buffer.from(parts[2] as string, 'base64url'));
    return signed ? { email: claims.iss as string, role: account.role } : undefined;
  };
  const need = (who: Caller, permission: string, on: string, write: boolean) => {
    if (!who)
      throw new ApiError(401, `Anonymous caller does not have ${permission} access to ${on}.`, 'required', {
        locationType: 'header',
        location: 'Authorization',
      });
    if (write && who.role !== 'writer')
      throw new ApiError(
        403,
        `${who.email} does not have ${permission} access to ${on}. Permission '${permission}' denied on resource (or it may not exist).`,
        'forbidden',
      );
  };
  const onBucket = (b: string) => `the Google Cloud Storage bucket ${b}`;
  const onObject = (b: string, o: string) => `the Google Cloud Storage object ${b}/${o}`;

  /**
   * Preconditions, as https://cloud.google.com/storage/docs/request-preconditions tabulates them:
   * ifGenerationMatch / ifMetagenerationMatch — "If the values don't match, the request fails with a
   * 412 Precondition Failed response" (generation 0: the object must not exist); ifGenerationNotMatch /
   * ifMetagenerationNotMatch — "If the values match, the request fails with a 304 Not Modified response".
   */
  const checkPreconditions = (q: URLSearchParams, current: StoredObject | undefined, prefix = 'if') => {
    const gm = q.get(`${prefix}GenerationMatch`);
    const gnm = q.get(`${prefix}GenerationNotMatch`);
    const mm = q.get(`${prefix}MetagenerationMatch`);
    const mnm = q.get(`${prefix}MetagenerationNotMatch`);
    const gen = current?.generation ?? '0';
    if (gm !== null && gm !== gen) throw preconditionFailed();
    if (mm !== null && (!current || String(current.metageneration) !== mm)) throw preconditionFailed();
    if (gnm !== null && gnm === gen) throw notModified();
    if (mnm !== null && current && String(current.metageneration) === mnm) throw notModified();
  };

  /** Stores an object; `componentCount` makes it a composite object, which has no MD5 hash. */
  const store = (
    bucket: string,
    name: string,
    data: Buffer,
    meta: Record<string, unknown>,
    q: URLSearchParams,
    componentCount?: number,
  ) => {
    const b = bucketOf(bucket);
    validateName(name);
    const md5 = componentCount === undefined ? md5Base64(data) : undefined;
    const crc = crc32cBase64(data);
    if (typeof meta.md5Hash === 'string' && meta.md5Hash !== md5)
      throw badRequest(`Provided MD5 hash "${meta.md5Hash}" doesn't match calculated MD5 hash "${md5}".`);
    if (typeof meta.crc32c === 'string' && meta.crc32c !== crc)
      throw badRequest(`Provided CRC32C "${meta.crc32c}" doesn't match calculated CRC32C "${crc}".`);
    checkPreconditions(q, b.objects.get(name));
    const now = new Date().toISOString();
    const obj: StoredObject = {
      name,
      bucket,
      generation: nextGeneration(),
      metageneration: 1,
      data,
      contentType: typeof meta.contentType === 'string' ? meta.contentType : 'application/octet-stream',
      ...(md5 !== undefined ? { md5 } : { componentCount }),
      crc32c: crc,
      timeCreated: now,
      updated: now,
    };
    if (meta.metadata && typeof meta.metadata === 'object')
      obj.metadata = Object.fromEntries(
        Object.entries(meta.metadata as Record<string, unknown>)
          .filter(([, v]) => v !== null)
          .map(([k, v]) => [k, String(v)]),
      );
    b.objects.set(name, obj);
    return obj;
  };

  /** The hashes a client may send with the final request of an upload (`X-Goog-Hash: crc32c=…,md5=…`). */
  const checkGoogHash = (req: IncomingMessage, data: Buffer) => {
    const h = req.headers['x-goog-hash'];
    if (!h) return;
    for (const part of String(h).split(',')) {
      const [k, ...v] = part.trim().split('=');
      const value = v.join('=');
      if (k === 'md5' && value !== md5Base64(data))
        throw badRequest(`Provided MD5 hash "${value}" doesn't match calculated MD5 hash "${md5Base64(data)}".`);
      if (k === 'crc32c' && value !== crc32cBase64(data))
        throw badRequest(`Provided CRC32C "${value}" doesn't match calculated CRC32C "${crc32cBase64(data)}".`);
    }
  };

  const readBody = (req: IncomingMessage, counted: boolean): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        parts.push(c);
        if (counted) stats.uploadBytes += c.length;
      });
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', () => undefined);
      req.on('close', () => {
        if (!req.complete) reject(Object.assign(new Error('aborted'), { partial: Buffer.concat(parts) }));
      });
    });
  const jsonBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const raw = await readBody(req, false);
    if (raw.length === 0) return {};
    try {
      return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new ApiError(400, 'Parse Error', 'parseError');
    }
  };

  // -- handlers
  const listObjects = (res: ServerResponse, bucket: string, q: URLSearchParams) => {
    const b = bucketOf(bucket);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const max = Math.min(Math.max(Number(q.get('maxResults') ?? 1000) || 1000, 1), 1000);
    const after = q.get('pageToken')
      ? Buffer.from(q.get('pageToken') as string, 'base64url').toString('utf8')
      : undefined;
    const names = [...b.objects.keys()]
      .filter((n) => n.startsWith(prefix))
      .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const items: unknown[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let more = false;
    for (const n of names) {
      let key = n;
      if (delimiter) {
        const i = n.indexOf(delimiter, prefix.length);
        if (i >= 0) key = n.slice(0, i + delimiter.length);
      }
      if (after !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(after)) <= 0) continue;
      if (key === last) continue;
      if (items.length + prefixes.length >= max) {
        more = true;
        break;
      }
      if (key !== n) prefixes.push(key);
      else items.push(resource(b.objects.get(n) as StoredObject));
      last = key;
    }
    sendJson(res, 200, {
      kind: 'storage#objects',
      ...(more && last !== undefined ? { nextPageToken: Buffer.from(last).toString('base64url') } : {}),
      ...(prefixes.length > 0 ? { prefixes } : {}),
      ...(items.length > 0 ? { items } : {}),
    });
  };

  const download = (req: IncomingMessage, res: ServerResponse, o: StoredObject) => {
    op('download');
    let start = 0;
    let end = o.data.length - 1;
    let status = 200;
    const range = req.headers.range;
    const headers: Record<string, string | number> = {
      'content-type': o.contentType,
      'x-goog-hash': o.md5 !== undefined ? `crc32c=${o.crc32c},md5=${o.md5}` : `crc32c=${o.crc32c}`,
      'x-goog-generation': o.generation,
      'x-goog-metageneration': String(o.metageneration),
      'x-goog-stored-content-length': o.data.length,
      'x-goog-stored-content-encoding': 'identity',
      etag: `"${createHash('md5').update(o.generation).digest('hex')}"`,
      'accept-ranges': 'bytes',
    };
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (m) {
        if (m[1] === '' && m[2] !== '') start = Math.max(0, o.data.length - Number(m[2]));
        else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= o.data.length && o.data.length > 0) {
          res.writeHead(416, { 'content-range': `bytes */${o.data.length}` });
          res.end();
          return;
        }
        if (o.data.length > 0) {
          status = 206;
          headers['content-range'] = `bytes ${start}-${end}/${o.data.length}`;
        }
      }
    }
    const body = o.data.subarray(start, end + 1);
    headers['content-length'] = body.length;
    res.writeHead(status, headers);
    res.end(body);
  };

  const getObject = (req: IncomingMessage, res: ServerResponse, bucket: string, name: string, q: URLSearchParams) => {
    const o = bucketOf(bucket).objects.get(name);
    if (!o || (q.get('generation') !== null && q.get('generation') !== o.generation))
      throw notFoundObject(bucket, name);
    checkPreconditions(q, o);
    if (q.get('alt') === 'media') return download(req, res, o);
    op('get');
    sendJson(res, 200, resource(o));
  };

  /**
   * objects.copy and objects.rewrite (https://cloud.google.com/storage/docs/json_api/v1/objects/rewrite):
   * "For large objects, this method requires the use of multiple requests … the method responds with the
   * done flag set to false and also returns a rewriteToken. To complete the rewrite, you must keep calling
   * the endpoint using the rewriteToken returned in the prior response until the done flag is true."
   * Objects above `rewriteStep` bytes take several calls here; a call with a token may leave out the other
   * parameters, but those it carries must be the first call's (the rewriteToken field: "Calls that provide a
   * rewriteToken can omit all other request fields, but if included, those fields must match the values
   * provided in the first rewrite request"). The destination's preconditions are checked on the first call
   * and when the object is written; the source's on each call. A composite source stays composite, with no
   * MD5 (https://cloud.google.com/storage/docs/composite-objects).
   */
  const copyObject = async (
    req: IncomingMessage,
    res: ServerResponse,
    who: Caller,
    src: [string, string],
    dst: [string, string],
    q: URLSearchParams,
    rewrite: boolean,
  ) => {
    const token = rewrite ? q.get('rewriteToken') : null;
    op(token === null ? (rewrite ? 'rewrite' : 'copy') : 'rewriteContinue');
    const body = await jsonBody(req);
    need(who, 'storage.objects.get', onObject(src[0], src[1]), false);
    need(who, 'storage.objects.create', onObject(dst[0], dst[1]), true);
    let state: RewriteState | undefined;
    let params = q;
    if (token !== null) {
      state = rewrites.get(token);
      if (!state || state.src.join('/') !== src.join('/') || state.dst.join('/') !== dst.join('/'))
        throw badRequest('Invalid rewrite token.');
      for (const [k, v] of q) if (k !== 'rewriteToken' && state.params.get(k) !== v) throw badRequest(`Invalid ${k}.`);
      params = state.params;
    }
    const s = bucketOf(src[0]).objects.get(src[1]);
    const pinned = state?.sourceGeneration ?? params.get('sourceGeneration');
    if (!s || (pinned !== null && pinned !== s.generation)) throw notFoundObject(src[0], src[1]);
    checkPreconditions(params, s, 'ifSource');
    if (!state) {
      checkPreconditions(params, bucketOf(dst[0]).objects.get(dst[1]));
      const given = Object.keys(body).length > 0;
      const meta: Record<string, unknown> = {
        contentType: (given ? body.contentType : undefined) ?? s.contentType,
        metadata: given && body.metadata !== undefined ? body.metadata : s.metadata,
      };
      state = { src, dst, sourceGeneration: s.generation, params, meta, rewritten: 0 };
    }
    const perCall = Math.min(rewriteStep, Number(params.get('maxBytesRewrittenPerCall') ?? Infinity) || Infinity);
    state.rewritten = Math.min(s.data.length, state.rewritten + perCall);
    if (rewrite && state.rewritten < s.data.length) {
      const next = randomBytes(18).toString('base64url');
      if (token !== null) rewrites.delete(token);
      rewrites.set(next, state);
      return sendJson(res, 200, {
        kind: 'storage#rewriteResponse',
        totalBytesRewritten: String(state.rewritten),
        objectSize: String(s.data.length),
        done: false,
        rewriteToken: next,
      });
    }
    if (token !== null) rewrites.delete(token);
    const o = store(dst[0], dst[1], Buffer.from(s.data), state.meta, params, s.componentCount);
    if (!rewrite) return sendJson(res, 200, resource(o));
    sendJson(res, 200, {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: String(o.data.length),
      objectSize: String(o.data.length),
      done: true,
      resource: resource(o),
    });
  };

  /**
   * objects.compose (https://cloud.google.com/storage/docs/json_api/v1/objects/compose): 1 to 32 source
   * objects of one bucket, concatenated. The result is a composite object: a CRC32C and a componentCount,
   * and no MD5 hash ("Composite objects do not have an MD5 hash metadata field",
   * https://cloud.google.com/storage/docs/composite-objects).
   */
  const composeObject = async (
    req: IncomingMessage,
    res: ServerResponse,
    who: Caller,
    bucket: string,
    name: string,
    q: URLSearchParams,
  ) => {
    op('compose');
    const body = (await jsonBody(req)) as {
      sourceObjects?: { name?: string; generation?: string; objectPreconditions?: { ifGenerationMatch?: string } }[];
      destination?: { contentType?: string; metadata?: Record<string, string> };
    };
    need(who, 'storage.objects.create', onObject(bucket, name), true);
    const sources = body.sourceObjects ?? [];
    if (sources.length < 1 || sources.length > 32)
      throw badRequest('The number of source components provided (0) is invalid.');
    const b = bucketOf(bucket);
    const parts: StoredObject[] = [];
    for (const so of sources) {
      const o = so.name !== undefined ? b.objects.get(so.name) : undefined;
      if (!o || (so.generation !== undefined && String(so.generation) !== o.generation))
        throw notFoundObject(bucket, so.name ?? '');
      const want = so.objectPreconditions?.ifGenerationMatch;
      if (want !== undefined && String(want) !== o.generation) throw preconditionFailed();
      parts.push(o);
    }
    const count = parts.reduce((n, o) => n + (o.componentCount ?? 1), 0);
    const meta = { contentType: body.destination?.contentType, metadata: body.destination?.metadata };
    const o = store(bucket, name, Buffer.concat(parts.map((p) => p.data)), meta, q, count);
    sendJson(res, 200, resource(o));
  };

  const parseMultipart = (req: IncomingMessage, body: Buffer): { meta: Record<string, unknown>; data: Buffer } => {
    const m = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '');
    if (!m) throw badRequest('Missing multipart boundary');
    const delim = Buffer.from(`--${m[1]}`);
    const parts: Buffer[] = [];
    let i = body.indexOf(delim);
    while (i >= 0) {
      const startOfPart = i + delim.length;
      if (body.subarray(startOfPart, startOfPart + 2).toString() === '--') break;
      const next = body.indexOf(delim, startOfPart);
      if (next < 0) break;
      parts.push(body.subarray(startOfPart, next));
      i = next;
    }
    const content = (p: Buffer) => {
      const sep = p.indexOf('\r\n\r\n');
      if (sep < 0) throw badRequest('Malformed multipart body');
      let c = p.subarray(sep + 4);
      if (c.subarray(c.length - 2).toString() === '\r\n') c = c.subarray(0, c.length - 2);
      return c;
    };
    if (parts.length !== 2) throw badRequest('Multipart upload needs exactly a metadata part and a media part');
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(content(parts[0] as Buffer).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new ApiError(400, 'Parse Error', 'parseError');
    }
    return { meta, data: Buffer.from(content(parts[1] as Buffer)) };
  };

  const insert = async (req: IncomingMessage, res: ServerResponse, who: Caller, bucket: string, q: URLSearchParams) => {
    const type = q.get('uploadType');
    bucketOf(bucket);
    if (type === 'media' || type === 'multipart') {
      op(type === 'media' ? 'insertMedia' : 'insertMultipart');
      const raw = await readBody(req, type === 'media');
      let meta: Record<string, unknown> = {};
      let data = raw;
      if (type === 'multipart') {
        ({ meta, data } = parseMultipart(req, raw));
        stats.uploadBytes += data.length;
      } else if (req.headers['content-type']) meta.contentType = req.headers['content-type'];
      const name = (q.get('name') ?? (typeof meta.name === 'string' ? meta.name : '')) as string;
      if (!name) throw new ApiError(400, 'Required', 'required');
      need(who, 'storage.objects.create', onObject(bucket, name), true);
      checkGoogHash(req, data);
      return sendJson(res, 200, resource(store(bucket, name, data, meta, q)));
    }
    if (type === 'resumable') {
      op('resumableInit');
      const meta = await jsonBody(req);
      const name = (q.get('name') ?? (typeof meta.name === 'string' ? meta.name : '')) as string;
      if (!name) throw new ApiError(400, 'Required', 'required');
      need(who, 'storage.objects.create', onObject(bucket, name), true);
      validateName(name);
      // Preconditions are checked when the session starts, and again when it completes.
      checkPreconditions(q, bucketOf(bucket).objects.get(name));
      if (req.headers['x-upload-content-type']) meta.contentType = req.headers['x-upload-content-type'];
      const id = randomBytes(18).toString('base64url');
      const s: Session = {
        id,
        bucket,
        name,
        meta,
        params: q,
        parts: [],
        persisted: 0,
        cancelled: false,
        expired: false,
      };
      if (req.headers['x-upload-content-length']) s.declaredSize = Number(req.headers['x-upload-content-length']);
      sessions.set(id, s);
      const location = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
      res.writeHead(200, { location, 'x-guploader-uploadid': id, 'content-length': 0 });
      res.end();
      return;
    }
    throw badRequest(`Invalid upload type: ${type ?? '(none)'}`);
  };

  /** One request of a resumable session: a chunk, or a status query (`bytes *\/N` with no body). */
  const sessionRequest = async (req: IncomingMessage, res: ServerResponse, s: Session) => {
    // A session that expired (a week after it started) or died is gone for good: "410 Gone … you must start
    // a new resumable upload" (https://cloud.google.com/storage/docs/performing-resumable-uploads, and the
    // JSON API's HTTP status codes page: 410 Gone for a resumable upload that is no longer available).
    if (s.expired) {
      req.resume();
      throw new ApiError(410, 'The upload session has expired; start a new one.', 'gone');
    }
    if (s.cancelled) {
      req.resume();
      res.writeHead(499, { 'content-length': 0 });
      res.end();
      return;
    }
    if (req.method === 'DELETE') {
      op('resumableCancel');
      s.cancelled = true;
      req.resume();
      res.writeHead(499, { 'content-length': 0 });
      res.end();
      return;
    }
    const cr = String(req.headers['content-range'] ?? '');
    const status = /^bytes \*\/(\d+|\*)$/.exec(cr);
    const chunk = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr);
    const answer308 = () => {
      res.writeHead(308, {
        ...(s.persisted > 0 ? { range: `bytes=0-${s.persisted - 1}` } : {}),
        'content-length': 0,
        'x-guploader-uploadid': s.id,
      });
      res.end();
    };
    if (s.result) {
      req.resume();
      op('statusQuery');
      return sendJson(res, 200, resource(s.result));
    }
    let total: number | undefined;
    let data: Buffer;
    let start: number;
    if (status || cr === '') {
      op('statusQuery');
      await readBody(req, false);
      total = status && status[1] !== '*' ? Number(status[1]) : undefined;
      data = Buffer.alloc(0);
      start = s.persisted;
    } else if (chunk) {
      op('resumableChunk');
      start = Number(chunk[1]);
      const last = Number(chunk[2]);
      total = chunk[3] === '*' ? undefined : Number(chunk[3]);
      if (last < start || (total !== undefined && last >= total)) {
        req.resume();
        throw badRequest(`Invalid Content-Range: ${cr}`);
      }
      try {
        data = await readBody(req, true);
      } catch (err) {
        // The connection broke mid-chunk: like the real service, keep what arrived, in whole 256 KiB units.
        const partial = (err as { partial?: Buffer }).partial;
        if (partial && start <= s.persisted) {
          const fresh = partial.subarray(s.persisted - start);
          const keep = Math.floor(fresh.length / QUANTUM) * QUANTUM;
          if (keep > 0) {
            s.parts.push(Buffer.from(fresh.subarray(0, keep)));
            s.persisted += keep;
          }
        }
        return;
      }
      if (data.length !== last - start + 1)
        throw badRequest('The Content-Range does not match the request body length.');
      if (start > s.persisted)
        throw badRequest(`Invalid request. There were ${start - s.persisted} byte(s) missing before offset ${start}.`);
    } else {
      req.resume();
      throw badRequest(`Invalid Content-Range: ${cr}`);
    }
    if (total !== undefined && s.declaredSize !== undefined && total !== s.declaredSize)
      throw badRequest(`The total size ${total} differs from X-Upload-Content-Length ${s.declaredSize}.`);
    const fresh = data.subarray(Math.min(data.length, s.persisted - start));
    const reachesEnd = total !== undefined && start + data.length >= total;
    if (total !== undefined && s.persisted + fresh.length > total)
      throw badRequest('More bytes than the declared size.');
    if (reachesEnd) {
      const whole = Buffer.concat([...s.parts, fresh]);
      if (whole.length !== total) return answer308();
      checkGoogHash(req, whole);
      s.result = store(s.bucket, s.name, whole, s.meta, s.params);
      s.parts = [];
      s.persisted = whole.length;
      return sendJson(res, 200, resource(s.result));
    }
    // Not the last chunk: the service keeps whole multiples of 256 KiB and says how far it got.
    const keep = Math.floor(fresh.length / QUANTUM) * QUANTUM;
    if (keep > 0) {
      s.parts.push(Buffer.from(fresh.subarray(0, keep)));
      s.persisted += keep;
    }
    answer308();
  };

  /** XML API GET of an object through a V4 signed URL (what "copy share link" hands out). */
  const signedGet = (req: IncomingMessage, res: ServerResponse, rawPath: string, url: URL) => {
    op('signedGet');
    const q = url.searchParams;
    const xmlError = (status: number, code: string, message: string) => {
      const body = `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
      res.writeHead(status, {
        'content-type': 'application/xml; charset=UTF-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    };
    const cred = q.get('X-Goog-Credential') ?? '';
    const email = cred.split('/')[0] ?? '';
    const account = accounts.get(email);
    if (q.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256' || !account)
      return xmlError(400, 'AuthenticationRequired', 'Authentication required.');
    const date = q.get('X-Goog-Date') ?? '';
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    const expires = Number(q.get('X-Goog-Expires'));
    if (!m || !(expires > 0)) return xmlError(400, 'InvalidArgument', 'Invalid argument.');
    const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    if (Date.now() > signedAt + expires * 1000) return xmlError(400, 'ExpiredToken', 'Invalid argument.');
    const canonicalQuery = [...q.entries()]
      .filter(([k]) => k !== 'X-Goog-Signature')
      .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const signedHeaders = (q.get('X-Goog-SignedHeaders') ?? '').split(';');
    // GCS itself only listens on 443; the client libraries sign the host name without a port (URL.hostname),
    // so a server on another port canonicalizes `host` the same way.
    const headerValue = (h: string) =>
      h === 'host' ? String(req.headers.host ?? '').replace(/:\d+$/, '') : String(req.headers[h] ?? '').trim();
    const canonicalHeaders = signedHeaders.map((h) => `${h}:${headerValue(h)}\n`).join('');
    const canonicalRequest = [
      'GET',
      rawPath,
      canonicalQuery,
      canonicalHeaders,
      signedHeaders.join(';'),
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const scope = cred.split('/').slice(1).join('/');
    const stringToSign = [
      'GOOG4-RSA-SHA256',
      date,
      scope,
      createHash('sha256').update(canonicalRequest).digest('hex'),
    ].join('\n');
    const ok = createVerify('RSA-SHA256')
      .update(stringToSign)
      .verify(account.key, Buffer.from(q.get('X-Goog-Signature') ?? '', 'hex'));
    if (!ok)
      return xmlError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    const segs = rawPath.split('/').slice(1).map(decodeURIComponent);
    const bucket = segs[0] ?? '';
    const name = segs.slice(1).join('/');
    const o = buckets.get(bucket)?.objects.get(name);
    if (!o) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    download(req, res, o);
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const rawPath = url.pathname;
    const seg = rawPath
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s));
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    stats.requests++;
    const f = fault?.({ method, path: rawPath, query: q, n: stats.requests });
    if (f === 'reset') {
      req.socket.destroy();
      return;
    }
    if (f) {
      // Like a front end that is overloaded: the request is read to its end, then refused.
      await readBody(req, false);
      const reason = f.status === 429 ? 'rateLimitExceeded' : 'backendError';
      const message = f.status === 429 ? 'The rate of change requests to the object is too high.' : 'Backend Error';
      throw new ApiError(
        f.status,
        message,
        reason,
        {},
        f.retryAfterSec !== undefined ? { 'retry-after': String(f.retryAfterSec) } : {},
      );
    }
    if (
      seg[0] === 'upload' &&
      seg[1] === 'storage' &&
      seg[2] === 'v1' &&
      seg[3] === 'b' &&
      seg[5] === 'o' &&
      seg.length === 6
    ) {
      const id = q.get('upload_id');
      if (id !== null) {
        const s = sessions.get(id);
        if (!s || s.bucket !== seg[4]) {
          req.resume();
          throw new ApiError(404, 'No such upload session.', 'notFound');
        }
        return sessionRequest(req, res, s);
      }
      if (method !== 'POST') throw new ApiError(405, 'Method not allowed', 'methodNotAllowed');
      return insert(req, res, caller(req), seg[4] as string, q);
    }
    const json = seg[0] === 'storage' && seg[1] === 'v1' && seg[2] === 'b';
    const dl = seg[0] === 'download' && seg[1] === 'storage' && seg[2] === 'v1' && seg[3] === 'b';
    if (dl && seg[5] === 'o' && seg.length === 7) {
      const who = caller(req);
      need(who, 'storage.objects.get', onObject(seg[4] as string, seg[6] as string), false);
      q.set('alt', 'media');
      return getObject(req, res, seg[4] as string, seg[6] as string, q);
    }
    if (!json) {
      if (q.has('X-Goog-Signature') && method === 'GET') return signedGet(req, res, rawPath, url);
      throw new ApiError(404, 'Not Found', 'notFound');
    }
    const who = caller(req);
    const bucket = seg[3] as string;
    if (seg.length === 4 && method === 'GET') {
      op('bucketGet');
      need(who, 'storage.buckets.get', onBucket(bucket), false);
      const b = bucketOf(bucket);
      return sendJson(res, 200, {
        kind: 'storage#bucket',
        id: bucket,
        name: bucket,
        projectNumber: '123456789012',
        metageneration: '1',
        location: 'US',
        storageClass: 'STANDARD',
        etag: 'CAE=',
        timeCreated: b.created,
        updated: b.created,
        locationType: 'multi-region',
      });
    }
    if (seg[4] !== 'o') throw new ApiError(404, 'Not Found', 'notFound');
    if (seg.length === 5 && method === 'GET') {
      op('list');
      need(who, 'storage.objects.list', onBucket(bucket), false);
      return listObjects(res, bucket, q);
    }
    const name = seg[5] as string;
    if (seg.length === 6) {
      if (method === 'GET') {
        need(who, 'storage.objects.get', onObject(bucket, name), false);
        return getObject(req, res, bucket, name, q);
      }
      if (method === 'DELETE') {
        op('delete');
        need(who, 'storage.objects.delete', onObject(bucket, name), true);
        const b = bucketOf(bucket);
        const o = b.objects.get(name);
        if (!o || (q.get('generation') !== null && q.get('generation') !== o.generation))
          throw notFoundObject(bucket, name);
        checkPreconditions(q, o);
        b.objects.delete(name);
        res.writeHead(204);
        res.end();
        return;
      }
      if (method === 'PATCH') {
        op('patch');
        const body = await jsonBody(req);
        need(who, 'storage.objects.update', onObject(bucket, name), true);
        const o = bucketOf(bucket).objects.get(name);
        if (!o) throw notFoundObject(bucket, name);
        checkPreconditions(q, o);
        if (typeof body.contentType === 'string') o.contentType = body.contentType;
        if (body.metadata === null) delete o.metadata;
        else if (body.metadata && typeof body.metadata === 'object') {
          const next = { ...o.metadata };
          for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>))
            if (v === null) delete next[k];
            else next[k] = String(v);
          o.metadata = next;
        }
        o.metageneration++;
        o.updated = new Date().toISOString();
        return sendJson(res, 200, resource(o));
      }
    }
    if (seg.length === 7 && method === 'POST' && seg[6] === 'compose')
      return composeObject(req, res, who, bucket, name, q);
    if (
      seg.length === 11 &&
      method === 'POST' &&
      (seg[6] === 'rewriteTo' || seg[6] === 'copyTo') &&
      seg[7] === 'b' &&
      seg[9] === 'o'
    )
      return copyObject(
        req,
        res,
        who,
        [bucket, name],
        [seg[8] as string, seg[10] as string],
        q,
        seg[6] === 'rewriteTo',
      );
    throw new ApiError(404, 'Not Found', 'notFound');
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof ApiError) {
        if (!req.complete) req.resume();
        sendError(res, err);
      } else if ((err as Error).message !== 'aborted') {
        sendError(res, new ApiError(500, `emulator: ${(err as Error).message}`, 'backendError'));
      }
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    stats,
    object: (bucket, name) => buckets.get(bucket)?.objects.get(name),
    objects: (bucket) => [...(buckets.get(bucket)?.objects.values() ?? [])],
    sessions: () =>
      [...sessions.values()].map((s) => ({ id: s.id, name: s.name, persisted: s.persisted, done: !!s.result })),
    inject: (f) => (fault = f),
    expireSessions: () => {
      for (const s of sessions.values()) if (!s.result) s.expired = true;
    },
    setRole: (email, role) => {
      const a = accounts.get(email);
      if (a) a.role = role;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** GCS object-name rules: 1–1024 bytes of UTF-8, no CR or LF, not "." or "..", not under .well-known/acme-challenge/. */
function validateName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > 1024) throw badRequest('The object name must be between 1 and 1024 bytes long.');
  if (/[\r\n]/.test(name)) throw badRequest('Object name contains a carriage return or line feed.');
  if (name === '.' || name === '..') throw badRequest('Object name cannot be "." or "..".');
  if (name.startsWith('.well-known/acme-challenge/'))
    throw badRequest('Object name cannot start with .well-known/acme-challenge/.');
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
