import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An in-process emulator of the parts of Dropbox's HTTP API v2 that Ferry calls, written from
 * Dropbox's published documentation (https://www.dropbox.com/developers/documentation/http/documentation),
 * not from the provider:
 *
 * - content-upload endpoints (`files/upload`, `upload_session/start|append_v2|finish`) take their
 *   arguments as JSON in the `Dropbox-API-Arg` header, which must be ASCII (non-ASCII escaped as
 *   \uXXXX), with an `application/octet-stream` body; `files/download` answers the metadata as JSON in
 *   `Dropbox-API-Result` (escaped the same way) and the bytes as the body;
 * - RPC endpoints take a JSON body (`Content-Type: application/json`);
 * - endpoint errors are HTTP 409 with `{"error_summary": "path/not_found/..", "error": {".tag": …}}`,
 *   unions serialized as Dropbox's Stone does (a struct member inlined beside `.tag`, a union member
 *   nested under its tag name); bad input is 400 with a plain-text body; auth errors are 401 with an
 *   AuthError (`expired_access_token` once an access token outlives its lifetime, `missing_scope`);
 *   rate limits are 429 with `Retry-After` and a RateLimitError body;
 * - upload sessions keep their offset: an append at another offset is refused with
 *   `incorrect_offset` and the `correct_offset`; sessions expire (`not_found`); a single request
 *   carries at most 150 MiB (`payload_too_large`);
 * - `content_hash` is checked when given (SHA-256 over the SHA-256 of each 4 MiB block);
 * - the namespace is case-insensitive and case-preserving (`path_lower`, `path_display`); writing a
 *   file whose content equals what is already there writes nothing and is no conflict (WriteMode);
 * - `upload_session/finish_batch` answers an async job id; `finish_batch/check` says `in_progress`
 *   until the job has run, then `complete` with one entry per session;
 * - concurrent writes to the namespace beyond a limit are refused with `too_many_write_operations`;
 * - names Dropbox will not store: the files its clients ignore (`desktop.ini`, `thumbs.db`,
 *   `.ds_store`, `icon\r`, `.dropbox`, `.dropbox.attr`) and names ending in a space or a dot are
 *   `disallowed_name`; control characters and backslashes are `malformed_path`. (Dropbox's API accepts
 *   `< > : " | ? *`; its own Windows clients cannot sync them, which is why Ferry refuses them itself.)
 * - OAuth 2: `GET /oauth2/authorize` (code flow with PKCE; the emulated person always consents, or
 *   denies when told to) redirects to the loopback `redirect_uri`; `POST /oauth2/token` exchanges a code
 *   (with `code_verifier`) for a refresh token and a short-lived access token, and a refresh token for
 *   a new access token; a revoked refresh token is `invalid_grant`.
 *
 * Tests read its counters (`stats`) and its files, and steer its faults.
 */

export const MAX_REQUEST_BYTES = 150 * 1024 * 1024;
const BLOCK = 4 * 1024 * 1024;
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
const ALL_SCOPES = ['files.metadata.read', 'files.content.read', 'files.content.write'];

export type DropboxEmulatorOptions = {
  /** The app key (client_id) the emulator knows. */
  appKey?: string;
  /** Seconds an access token lives (Dropbox: 4 hours). */
  tokenLifetimeSec?: number;
  /** Entries per list_folder page when the client does not ask for fewer (Dropbox: about 2,000 at most). */
  listPageSize?: number;
  /** Writes to the namespace running at once beyond which Dropbox answers too_many_write_operations. */
  maxConcurrentWrites?: number;
  /** How long a finish_batch job stays in_progress. */
  batchJobMs?: number;
  /** Space in the account, in bytes. */
  quotaBytes?: number;
  /** How long a write takes to commit once its request has arrived (it holds the namespace meanwhile). */
  writeLatencyMs?: number;
};

type FileNode = {
  kind: 'file';
  name: string;
  id: string;
  rev: string;
  data: Buffer;
  contentHash: string;
  clientModified: string;
  serverModified: string;
  /** The path as given when the file was created (what a stale path_display shows). */
  writtenAs?: string[];
};
type FolderNode = { kind: 'folder'; name: string; id: string; writtenAs?: string[] };
type Node = FileNode | FolderNode;

type Session = { id: string; chunks: Buffer[]; size: number; closed: boolean; createdAt: number };
type Job = { done: boolean; entries: unknown[] };
type Cursor = { entries: unknown[]; pos: number; limit: number };
type Token = { refresh: string; expiresAt: number; scopes: string[] };
type AuthCode = {
  clientId: string;
  redirectUri: string | undefined;
  offline: boolean;
  challenge?: string;
  method?: string;
};

/** A Dropbox API error answered as HTTP 409 by endpoints (or another status where Dropbox does). */
class ApiError extends Error {
  constructor(
    readonly error: Record<string, unknown>,
    readonly status = 409,
    readonly headers: Record<string, string> = {},
  ) {
    super(summaryOf(error));
  }
}
class BadRequest extends Error {}

const tag = (t: string, extra: Record<string, unknown> = {}) => ({ '.tag': t, ...extra });
/** A union member that is itself a union is nested under its tag name (Stone's JSON). */
const nested = (t: string, inner: Record<string, unknown>) => ({ '.tag': t, [t]: inner });

function summaryOf(error: Record<string, unknown>): string {
  const parts: string[] = [];
  let cur: Record<string, unknown> | undefined = error;
  while (cur && typeof cur['.tag'] === 'string') {
    const t = cur['.tag'];
    parts.push(t);
    const next: unknown = cur[t] ?? cur.reason;
    cur = next && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
  }
  // Dropbox pads the summary with dots so that nobody parses it: clients must read `error`.
  return `${parts.join('/')}/${'.'.repeat(2 + Math.floor(Math.random() * 2))}`;
}

/** Dropbox's content_hash: SHA-256 over the concatenated SHA-256 digests of each 4 MiB block. */
export function dropboxContentHash(data: Buffer): string {
  const overall = createHash('sha256');
  for (let off = 0; off < data.length; off += BLOCK)
    overall.update(
      createHash('sha256')
        .update(data.subarray(off, off + BLOCK))
        .digest(),
    );
  return overall.digest('hex');
}

/** Escapes every character outside printable ASCII as \uXXXX, as Dropbox does in its headers. */
export function headerSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const RESERVED_NAMES = new Set(['desktop.ini', 'thumbs.db', '.ds_store', 'icon\r', '.dropbox', '.dropbox.attr']);

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type Stats = {
  /** Requests per route ('files/upload', 'oauth2/token', …), answered or not. */
  calls: Record<string, number>;
  /** Body bytes received on content-upload endpoints, counted as they arrive. */
  contentBytes: number;
  /** Sessions committed (finish or finish_batch), by session id. */
  finishedSessions: string[];
  /** Files committed through finish_batch. */
  finishBatchEntries: number;
  /** Writes that changed a file, per path_lower: a file written twice with new content counts 2. */
  commits: Record<string, number>;
  rateLimited: number;
  tooManyWrites: number;
  /** Longpolls answered; longpolls whose client went away before the answer; longpolls before their backoff. */
  longpollAnswered: number;
  longpollAbandoned: number;
  longpollTooSoon: number;
  refreshes: number;
  codeExchanges: number;
  expiredTokenAnswers: number;
};

function freshStats(): Stats {
  return {
    calls: {},
    contentBytes: 0,
    finishedSessions: [],
    finishBatchEntries: 0,
    commits: {},
    rateLimited: 0,
    tooManyWrites: 0,
    longpollAnswered: 0,
    longpollAbandoned: 0,
    longpollTooSoon: 0,
    refreshes: 0,
    codeExchanges: 0,
    expiredTokenAnswers: 0,
  };
}

export class DropboxEmulator {
  readonly appKey: string;
  url = '';
  stats: Stats = freshStats();
  /** Answer 429 too_many_requests with this Retry-After (seconds) when it returns a number. */
  rateLimit: ((route: string) => number | undefined) | undefined;
  /** Paths (path_lower) where writes are refused with no_write_permission. */
  denyWrites: ((pathLower: string) => boolean) | undefined;
  /** Makes a finish_batch entry fail (by its commit path_lower) as the service's entries do under load. */
  batchEntryFault: ((pathLower: string) => 'too_many_write_operations' | 'internal_error' | undefined) | undefined;
  /** Whether a (deprecated) v1 finish_batch completes in its answer instead of launching a job: either may happen. */
  v1CompletesAtOnce: () => boolean = () => Math.random() < 0.5;
  /** The redirect URIs registered for the app in the App Console: /oauth2/authorize accepts these exactly. */
  readonly redirectUris = new Set<string>();
  /** path_display keeps each entry's parents in the case they had in the request that created it. */
  staleParentCase = false;
  /** Seconds of jitter added to a longpoll's wait (Dropbox: up to 90, at random). */
  longpollJitterSec: () => number = () => Math.random() * 90;
  /** How long one "second" of a longpoll's wait lasts here (tests shorten it; timeouts are still 30–480). */
  longpollSecondMs = 1000;
  /** The `backoff` every longpoll answer carries, when set. */
  longpollBackoffSec: number | undefined;
  /** The emulated person refuses consent on /oauth2/authorize. */
  denyConsent = false;
  tokenLifetimeSec: number;
  maxConcurrentWrites: number;
  quotaBytes: number;
  writeLatencyMs: number;

  private readonly nodes = new Map<string, Node>();
  private readonly sessions = new Map<string, Session>();
  private readonly jobs = new Map<string, Job>();
  private readonly cursors = new Map<string, Cursor>();
  /** Every change to the namespace, in order: what list_folder/longpoll waits on. */
  private readonly journal: { seq: number; lower: string }[] = [];
  /** Paths of deleted files, as Dropbox keeps them restorable ("deleted files"). */
  private readonly deletedPaths: string[] = [];
  /**
   * Earlier revisions of each path (by path_lower), oldest first, and when its file was deleted: what
   * files/list_revisions lists, files/download reads as `rev:<rev>` and files/restore brings back.
   */
  private readonly revisions = new Map<string, { node: FileNode; display: string }[]>();
  private readonly deletedAt = new Map<string, string>();
  private changeSeq = 0;
  /** Bumped by resetCursors(): older cursors are `reset`. */
  private cursorEpoch = 0;
  private longpollNotBefore = 0;
  private readonly changeWaiters = new Set<() => void>();
  private readonly refreshTokens = new Map<string, { revoked: boolean; scopes: string[] }>();
  private readonly accessTokens = new Map<string, Token>();
  private readonly codes = new Map<string, AuthCode>();
  private readonly listPageSize: number;
  /** The most one request may carry (Dropbox: 150 MiB, MAX_REQUEST_BYTES); tests may lower it. */
  maxRequestBytes = MAX_REQUEST_BYTES;
  private readonly batchJobMs: number;
  private writesInFlight = 0;
  private revCounter = 0x1000;
  private idCounter = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(opts: DropboxEmulatorOptions = {}) {
    this.appKey = opts.appKey ?? 'ferry-test-app';
    this.tokenLifetimeSec = opts.tokenLifetimeSec ?? 4 * 3600;
    this.listPageSize = opts.listPageSize ?? 500;
    // Concurrent writes to one namespace contend for its lock: too_many_write_operations "correspond[s] to
    // ... a namespace lock contention occurring" (https://www.dropbox.com/developers/reference/data-ingress-guide).
    // The service never takes unbounded concurrent writes, so neither does the emulator.
    this.maxConcurrentWrites = opts.maxConcurrentWrites ?? 12;
    this.batchJobMs = opts.batchJobMs ?? 30;
    this.quotaBytes = opts.quotaBytes ?? Infinity;
    this.writeLatencyMs = opts.writeLatencyMs ?? 0;
  }

  // ---- test controls ---------------------------------------------------------------------------

  /** A refresh token as if the person had connected the app (all of Ferry's scopes unless narrowed). */
  issueRefreshToken(scopes: readonly string[] = ALL_SCOPES): string {
    const token = `rt-${randomBytes(16).toString('hex')}`;
    this.refreshTokens.set(token, { revoked: false, scopes: [...scopes] });
    return token;
  }

  /** The person disconnected the app: the refresh token and its access tokens stop working. */
  revoke(refreshToken: string): void {
    const rt = this.refreshTokens.get(refreshToken);
    if (rt) rt.revoked = true;
  }

  /** Makes every access token issued so far expire now. */
  expireAccessTokens(): void {
    for (const t of this.accessTokens.values()) t.expiresAt = 0;
  }

  /**
   * Invalidates every cursor: list_folder/continue and list_folder/longpoll then answer `reset`
   * (files.stone ListFolderContinueError.reset: "Indicates that the cursor has been invalidated. Call
   * list_folder to obtain a new cursor.").
   */
  resetCursors(): void {
    this.cursors.clear();
    this.cursorEpoch++;
  }

  /** An upload session past its 7 days. */
  expireSession(id: string): void {
    const s = this.sessions.get(id);
    if (s) s.createdAt = Date.now() - SESSION_TTL_MS - 1;
  }

  /** Open sessions and the bytes each has acknowledged. */
  openSessions(): { id: string; size: number }[] {
    return [...this.sessions.values()].map((s) => ({ id: s.id, size: s.size }));
  }

  resetStats(): void {
    this.stats = freshStats();
  }

  /** Every file, by path_display (without the leading slash), with its bytes. */
  files(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [lower, n] of this.nodes) if (n.kind === 'file') out.set(this.display(lower).slice(1), n.data);
    return out;
  }

  file(path: string): Buffer | undefined {
    const n = this.nodes.get(lowerOf(path));
    return n?.kind === 'file' ? n.data : undefined;
  }

  /** Every folder, by path_display (without the leading slash). */
  /** Files deleted so far (display paths): what Dropbox would offer to restore. */
  deleted(): string[] {
    return [...this.deletedPaths];
  }

  folders(): string[] {
    return [...this.nodes].filter(([, n]) => n.kind === 'folder').map(([lower]) => this.display(lower).slice(1));
  }

  /** Puts a file in place as another Dropbox client would (no request is made). */
  putFile(path: string, data: Buffer): void {
    this.write(splitPath(path), data, isoSeconds(Date.now()), { '.tag': 'overwrite' }, true);
  }

  /** Damages a stored file's bytes behind Dropbox's back (its metadata still describes the old bytes). */
  corruptFile(path: string): void {
    const n = this.nodes.get(lowerOf(path));
    if (n?.kind !== 'file' || n.data.length === 0) throw new Error(`no file with bytes at ${path}`);
    const data = Buffer.from(n.data);
    data[0] = (data[0] as number) ^ 0xff;
    n.data = data;
  }

  // ---- server ----------------------------------------------------------------------------------

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`emulator failure: ${(err as Error).message}`);
        } else res.destroy();
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const wake of this.changeWaiters) wake();
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const route = url.pathname.replace(/^\/(2\/)?/, '');
    this.stats.calls[route] = (this.stats.calls[route] ?? 0) + 1;
    const content = CONTENT_ROUTES.has(route);
    // A write holds the namespace from the moment it arrives until it is answered: too many at once
    // are refused (after reading the body, as a server that answers the whole request does).
    let release: (() => void) | undefined;
    let refused: unknown;
    if (WRITE_ROUTES.has(route))
      try {
        release = this.beginWrite(route);
      } catch (err) {
        refused = err;
      }
    try {
      await this.serve(route, url, req, res, content, refused);
    } finally {
      release?.();
    }
  }

  private async serve(
    route: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    content: boolean,
    refused: unknown,
  ): Promise<void> {
    const body = await readBody(req, this.maxRequestBytes, content ? (n) => (this.stats.contentBytes += n) : undefined);
    try {
      if (route === 'oauth2/authorize') return this.authorize(url, res);
      if (route === 'oauth2/token') return this.token(url, req, body, res);
      if (req.method !== 'POST' && !(route === 'files/download' && req.method === 'GET'))
        throw new BadRequest(`Unsupported method ${req.method ?? ''}: use POST`);
      const handler = ROUTES[route];
      if (!handler) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`Unknown API function: "${route}"`);
        return;
      }
      // Longpoll goes to the notify host without a token (it reveals nothing but "something changed").
      if (route !== 'files/list_folder/longpoll') this.authenticate(req, route);
      if (refused) throw refused;
      if (WRITE_ROUTES.has(route) && this.writeLatencyMs > 0)
        await new Promise((resolve) => setTimeout(resolve, this.writeLatencyMs));
      const retryAfter = this.rateLimit?.(route);
      if (retryAfter !== undefined) {
        this.stats.rateLimited++;
        throw new ApiError({ reason: tag('too_many_requests'), retry_after: retryAfter }, 429, {
          'retry-after': String(retryAfter),
        });
      }
      const arg = content || route === 'files/download' ? this.headerArg(req, route) : this.jsonArg(req, route, body);
      if (content) {
        const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
        if (
          type !== 'application/octet-stream' &&
          req.headers['content-type'] !== 'text/plain; charset=dropbox-cors-hack'
        )
          throw new BadRequest(
            `Error in call to API function "${route}": Bad HTTP "Content-Type" header: "${req.headers['content-type'] ?? ''}".  Expecting one of "application/octet-stream", "text/plain; charset=dropbox-cors-hack".`,
          );
        if (body.length > this.maxRequestBytes) throw new ApiError(tag('payload_too_large'));
      }
      const result = await handler.call(this, arg, body, res);
      if (result === undefined) return; // the handler answered (download)
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(result === null ? 'null' : JSON.stringify(result));
    } catch (err) {
      if (err instanceof ApiError) {
        res.writeHead(err.status, { 'content-type': 'application/json', ...err.headers });
        res.end(JSON.stringify({ error_summary: err.message, error: err.error }));
      } else if (err instanceof BadRequest) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(err.message);
      } else throw err;
    }
  }

  private authenticate(req: IncomingMessage, route: string): void {
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer '))
      throw new BadRequest(
        `Error in call to API function "${route}": Must provide HTTP header "Authorization" or URL parameter "authorization".`,
      );
    const token = this.accessTokens.get(header.slice('Bearer '.length));
    const refresh = token && this.refreshTokens.get(token.refresh);
    if (!token || !refresh || refresh.revoked) throw new ApiError(tag('invalid_access_token'), 401);
    if (Date.now() >= token.expiresAt) {
      this.stats.expiredTokenAnswers++;
      throw new ApiError(tag('expired_access_token'), 401);
    }
    const needed = SCOPE_OF[route];
    if (needed && !token.scopes.includes(needed))
      throw new ApiError(tag('missing_scope', { required_scope: needed }), 401);
  }

  private headerArg(req: IncomingMessage, route: string): Record<string, unknown> {
    const raw = req.headers['dropbox-api-arg'];
    if (typeof raw !== 'string')
      throw new BadRequest(`Error in call to API function "${route}": Must provide HTTP header "Dropbox-API-Arg".`);
    // Node hands header bytes over as latin1: anything outside printable ASCII was sent unescaped.
    if (/[^\x20-\x7e]/.test(raw))
      throw new BadRequest(
        `Error in call to API function "${route}": HTTP header "Dropbox-API-Arg": could not decode input as JSON`,
      );
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new BadRequest(
        `Error in call to API function "${route}": HTTP header "Dropbox-API-Arg": could not decode input as JSON`,
      );
    }
  }

  private jsonArg(req: IncomingMessage, route: string, body: Buffer): Record<string, unknown> {
    if ((req.headers['content-type'] ?? '').split(';')[0]?.trim() !== 'application/json')
      throw new BadRequest(
        `Error in call to API function "${route}": Bad HTTP "Content-Type" header: "${req.headers['content-type'] ?? ''}".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".`,
      );
    try {
      return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new BadRequest(`Error in call to API function "${route}": request body: could not decode input as JSON`);
    }
  }

  // ---- OAuth ---------------------------------------------------------------------------------

  private authorize(url: URL, res: ServerResponse): void {
    const p = url.searchParams;
    const fail = (why: string) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(why);
    };
    if (p.get('client_id') !== this.appKey) return fail('Invalid client_id');
    if (p.get('response_type') !== 'code') return fail('response_type must be "code" for this app');
    const redirectUri = p.get('redirect_uri') ?? undefined;
    // "Dropbox checks that the specified redirect_uri parameter in your Authorization URL matches one of
    // the registered values at authorization time. You'll need to register the exact redirect URI(s) your
    // app may use in the App Console" (OAuth guide, https://developers.dropbox.com/oauth-guide); "even
    // 'localhost' must be listed if it is used for testing" (/oauth2/authorize, HTTP API documentation).
    // Exact: another port, path or host is another URI.
    if (redirectUri !== undefined && !this.redirectUris.has(redirectUri))
      return fail(`Invalid redirect_uri: "${redirectUri}" is not registered for this app`);
    // token_access_type: "offline" gives a refresh token with the code, "online" (the default) only a
    // short-lived access token (https://dropbox.tech/developers/using-oauth-2-0-with-offline-access).
    const accessType = p.get('token_access_type') ?? 'online';
    if (accessType !== 'online' && accessType !== 'offline' && accessType !== 'legacy')
      return fail('Invalid token_access_type');
    const challenge = p.get('code_challenge') ?? undefined;
    const method = p.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
    if (challenge !== undefined && !/^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) return fail('Invalid code_challenge');
    if (method !== undefined && method !== 'S256' && method !== 'plain') return fail('Invalid code_challenge_method');
    const state = p.get('state');
    if (this.denyConsent) {
      if (!redirectUri) return fail('access denied');
      const to = new URL(redirectUri);
      to.searchParams.set('error', 'access_denied');
      to.searchParams.set('error_description', 'The user chose not to give your app access to their Dropbox account.');
      if (state !== null) to.searchParams.set('state', state);
      res.writeHead(302, { location: to.toString() });
      res.end();
      return;
    }
    const code = `code-${randomBytes(12).toString('hex')}`;
    this.codes.set(code, {
      clientId: this.appKey,
      redirectUri,
      offline: accessType === 'offline',
      ...(challenge ? { challenge } : {}),
      ...(method ? { method } : {}),
    });
    if (!redirectUri) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(code);
      return;
    }
    const to = new URL(redirectUri);
    to.searchParams.set('code', code);
    if (state !== null) to.searchParams.set('state', state);
    res.writeHead(302, { location: to.toString() });
    res.end();
  }

  private token(url: URL, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const answer = (status: number, obj: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (req.method !== 'POST') return answer(400, { error: 'invalid_request', error_description: 'use POST' });
    // Parameters come form-encoded in the body (or, as some SDKs send them, in the query string).
    const p = new URLSearchParams(url.search);
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) p.set(k, v);
    const grant = p.get('grant_type');
    if (p.get('client_id') !== this.appKey)
      return answer(400, { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' });
    if (grant === 'authorization_code') {
      this.stats.codeExchanges++;
      const code = this.codes.get(p.get('code') ?? '');
      if (!code) return answer(400, { error: 'invalid_grant', error_description: "code doesn't exist or has expired" });
      this.codes.delete(p.get('code') ?? ''); // a code is good once
      if ((p.get('redirect_uri') ?? undefined) !== code.redirectUri)
        return answer(400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
      if (code.challenge !== undefined) {
        const verifier = p.get('code_verifier');
        if (!verifier) return answer(400, { error: 'invalid_request', error_description: 'No code_verifier provided' });
        const expected = code.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
        if (expected !== code.challenge)
          return answer(400, { error: 'invalid_grant', error_description: 'invalid code verifier' });
      }
      // Online access still needs a refresh token internally to tie the access token to the grant; it is
      // not handed out.
      const refresh = this.issueRefreshToken();
      const access = this.issueAccessToken(refresh);
      return answer(200, {
        access_token: access,
        token_type: 'bearer',
        expires_in: this.tokenLifetimeSec,
        ...(code.offline ? { refresh_token: refresh } : {}),
        scope: ALL_SCOPES.join(' '),
        uid: '12345',
        account_id: 'dbid:emulated-account',
      });
    }
    if (grant === 'refresh_token') {
      this.stats.refreshes++;
      const rt = this.refreshTokens.get(p.get('refresh_token') ?? '');
      if (!rt || rt.revoked)
        return answer(400, { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' });
      return answer(200, {
        access_token: this.issueAccessToken(p.get('refresh_token') as string),
        token_type: 'bearer',
        expires_in: this.tokenLifetimeSec,
      });
    }
    return answer(400, { error: 'unsupported_grant_type', error_description: `grant_type "${grant ?? ''}"` });
  }

  private issueAccessToken(refresh: string): string {
    const token = `sl.${randomBytes(24).toString('base64url')}`;
    const scopes = this.refreshTokens.get(refresh)?.scopes ?? [];
    this.accessTokens.set(token, { refresh, expiresAt: Date.now() + this.tokenLifetimeSec * 1000, scopes });
    return token;
  }

  // ---- namespace -----------------------------------------------------------------------------

  private display(lower: string): string {
    const parts = lower.split('/').slice(1);
    let acc = '';
    let out = '';
    for (const p of parts) {
      acc += `/${p}`;
      out += `/${this.nodes.get(acc)?.name ?? p}`;
    }
    return out;
  }

  /**
   * path_display as Dropbox reports it. files.stone, Metadata.path_display: "In rare instances the
   * casing will not correctly match the user's filesystem ... at least the last path component will have
   * the correct casing." With `staleParentCase`, an entry's parents keep the case they were given when
   * the entry was written (its folders may show another case in their own entries).
   */
  private reportedDisplay(lower: string, n: Node): string {
    if (!this.staleParentCase || !n.writtenAs) return this.display(lower);
    return `/${[...n.writtenAs.slice(0, -1), n.name].join('/')}`;
  }

  private metadata(lower: string): Record<string, unknown> {
    const n = this.nodes.get(lower) as Node;
    const base = { name: n.name, path_lower: lower, path_display: this.reportedDisplay(lower, n), id: n.id };
    if (n.kind === 'folder') return { '.tag': 'folder', ...base };
    return {
      '.tag': 'file',
      ...base,
      client_modified: n.clientModified,
      server_modified: n.serverModified,
      rev: n.rev,
      size: n.data.length,
      is_downloadable: true,
      content_hash: n.contentHash,
    };
  }

  /**
   * Where a route's result is typed FileMetadata or FolderMetadata (a struct, not the Metadata union:
   * files/upload, finish, finish_batch entries, download, create_folder_v2), Stone writes no ".tag".
   */
  private struct(lower: string): Record<string, unknown> {
    const { '.tag': _tag, ...rest } = this.metadata(lower);
    return rest;
  }

  private usedBytes(): number {
    let n = 0;
    for (const node of this.nodes.values()) if (node.kind === 'file') n += node.data.length;
    return n;
  }

  /**
   * Writes a file (creating its folders). Returns the metadata or throws the WriteError (`path`
   * member of the caller's error union is added by the caller).
   */
  private write(
    parts: string[],
    data: Buffer,
    clientModified: string,
    mode: unknown,
    autorename: boolean,
  ): Record<string, unknown> {
    const lower = `/${parts.join('/')}`.toLowerCase();
    this.checkWritable(parts);
    const existing = this.nodes.get(lower);
    const contentHash = dropboxContentHash(data);
    if (existing?.kind === 'folder') throw writeConflict('folder');
    const modeTag = typeof mode === 'string' ? mode : ((mode as { '.tag'?: string } | undefined)?.['.tag'] ?? 'add');
    if (existing?.kind === 'file') {
      // WriteMode: a file with identical contents is no conflict and nothing gets written.
      if (existing.contentHash === contentHash) return this.struct(lower);
      const conflict =
        modeTag === 'add' || (modeTag === 'update' && (mode as { update?: string }).update !== existing.rev);
      if (conflict) {
        if (autorename) return this.write(renamed(parts), data, clientModified, 'add', true);
        throw writeConflict('file');
      }
    }
    if (this.usedBytes() - (existing?.kind === 'file' ? existing.data.length : 0) + data.length > this.quotaBytes)
      throw new ApiError(tag('insufficient_space'));
    this.makeParents(parts);
    const now = Date.now();
    this.noteChange(lower);
    if (existing?.kind === 'file') this.keepRevision(lower, existing);
    this.deletedAt.delete(lower);
    this.nodes.set(lower, {
      kind: 'file',
      name: existing?.name ?? (parts.at(-1) as string),
      writtenAs: existing?.writtenAs ?? parts,
      id: existing?.id ?? this.newId(),
      rev: this.newRev(),
      data,
      contentHash,
      clientModified,
      serverModified: isoSeconds(now),
    });
    this.stats.commits[lower] = (this.stats.commits[lower] ?? 0) + 1;
    return this.struct(lower);
  }

  /** Name rules and write permission for a path about to be written (parts already validated as a path). */
  private checkWritable(parts: string[]): void {
    for (const name of parts) {
      if (RESERVED_NAMES.has(name.toLowerCase()) || / $|\.$/.test(name)) throw new ApiError(tag('disallowed_name'));
    }
    const lower = `/${parts.join('/')}`.toLowerCase();
    if (this.denyWrites?.(lower)) throw new ApiError(tag('no_write_permission'));
  }

  private makeParents(parts: string[]): void {
    let acc = '';
    for (const name of parts.slice(0, -1)) {
      acc += `/${name.toLowerCase()}`;
      const n = this.nodes.get(acc);
      if (n?.kind === 'file') throw writeConflict('file_ancestor');
      if (!n) this.nodes.set(acc, { kind: 'folder', name, id: this.newId() });
    }
  }

  private newRev(): string {
    return `${(++this.revCounter).toString(16).padStart(9, '0')}${randomBytes(2).toString('hex')}`;
  }

  private newId(): string {
    return `id:${(++this.idCounter).toString(36).padStart(6, '0')}${randomBytes(6).toString('base64url')}`;
  }

  /**
   * A write to the namespace; beyond the limit of concurrent writes Dropbox refuses it. Where the
   * route's error union has a `too_many_write_operations` member the refusal is that member, a 409
   * (files.stone: WriteError, UploadSessionFinishError, DeleteError: "There are too many write
   * operations in user's Dropbox. Please retry this request."); elsewhere it is the 429 RateLimitError
   * with reason too_many_write_operations (auth.stone RateLimitReason).
   */
  private beginWrite(route = ''): () => void {
    if (this.writesInFlight >= this.maxConcurrentWrites) {
      this.stats.tooManyWrites++;
      const busy = tag('too_many_write_operations');
      if (route === 'files/upload')
        throw new ApiError(
          tag('path', { reason: busy, upload_session_id: `pid_upload_session:${randomBytes(8).toString('hex')}` }),
        );
      if (route === 'files/upload_session/finish' || route === 'files/delete_v2') throw new ApiError(busy);
      if (route === 'files/create_folder_v2') throw new ApiError(nested('path', busy));
      throw new ApiError({ reason: busy, retry_after: 1 }, 429, { 'retry-after': '1' });
    }
    this.writesInFlight++;
    let released = false;
    return () => {
      if (!released) this.writesInFlight--;
      released = true;
    };
  }

  private session(cursor: unknown): Session {
    const c = cursor as { session_id?: unknown; offset?: unknown } | undefined;
    if (typeof c?.session_id !== 'string' || typeof c.offset !== 'number')
      throw new BadRequest('request body: cursor: missing required field "session_id" or "offset"');
    const s = this.sessions.get(c.session_id);
    if (!s || Date.now() - s.createdAt > SESSION_TTL_MS) throw new ApiError(tag('not_found'));
    return s;
  }

  /** The session's bytes (after checking the offset given matches what it holds). */
  private sessionAt(cursor: unknown): Session {
    const s = this.session(cursor);
    const offset = (cursor as { offset: number }).offset;
    if (offset !== s.size) throw new ApiError(tag('incorrect_offset', { correct_offset: s.size }));
    return s;
  }

  private commitInfo(commit: unknown): { parts: string[]; clientModified: string; mode: unknown; autorename: boolean } {
    const c = commit as Record<string, unknown> | undefined;
    if (!c || typeof c.path !== 'string') throw new BadRequest('request body: commit: missing required field "path"');
    const parts = pathArg(c.path, 'commit.path', false);
    return {
      parts,
      clientModified: clientModifiedArg(c.client_modified),
      mode: c.mode ?? 'add',
      autorename: c.autorename === true,
    };
  }

  /**
   * Commits a session's bytes; throws an UploadSessionFinishError body. `content_hash` describes the
   * bytes of this one request, not the file: files.stone, UploadSessionFinishArg.content_hash: "A hash
   * of the file content uploaded in this call. If provided and the uploaded content does not match this
   * hash, an error will be returned"; UploadSessionFinishError.content_hash_mismatch: "The content
   * received by the Dropbox server in this call does not match the provided content hash." A
   * finish_batch entry carries no content at all, so only the hash of no bytes matches there.
   */
  private finishSession(s: Session, commit: unknown, contentHash: unknown, callBody: Buffer): Record<string, unknown> {
    if (typeof contentHash === 'string' && contentHash !== dropboxContentHash(callBody))
      throw new ApiError(tag('content_hash_mismatch'));
    const data = Buffer.concat(s.chunks);
    let meta;
    try {
      const info = this.commitInfo(commit);
      meta = this.write(info.parts, data, info.clientModified, info.mode, info.autorename);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) throw new ApiError(nested('path', err.error));
      throw err;
    }
    this.sessions.delete(s.id);
    this.stats.finishedSessions.push(s.id);
    return meta;
  }

  // ---- routes --------------------------------------------------------------------------------

  upload(arg: Record<string, unknown>, body: Buffer): Record<string, unknown> {
    if (typeof arg.content_hash === 'string' && arg.content_hash !== dropboxContentHash(body))
      throw new ApiError(tag('content_hash_mismatch'));
    try {
      const info = this.commitInfo(arg);
      return this.write(info.parts, body, info.clientModified, info.mode, info.autorename);
    } catch (err) {
      // UploadError.path is an UploadWriteFailed struct: its fields sit beside the tag.
      if (err instanceof ApiError && err.status === 409)
        throw new ApiError(
          tag('path', { reason: err.error, upload_session_id: `pid_upload_session:${randomBytes(8).toString('hex')}` }),
        );
      throw err;
    }
  }

  uploadStart(arg: Record<string, unknown>, body: Buffer): Record<string, unknown> {
    if (typeof arg.content_hash === 'string' && arg.content_hash !== dropboxContentHash(body))
      throw new ApiError(tag('content_hash_mismatch'));
    const id = `pid_upload_session:${randomBytes(18).toString('base64url')}`;
    this.sessions.set(id, { id, chunks: [body], size: body.length, closed: arg.close === true, createdAt: Date.now() });
    return { session_id: id };
  }

  uploadStartBatch(arg: Record<string, unknown>): Record<string, unknown> {
    const n = arg.num_sessions;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000)
      throw new BadRequest('request body: num_sessions: value must be between 1 and 1000');
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `pid_upload_session:${randomBytes(18).toString('base64url')}`;
      this.sessions.set(id, { id, chunks: [], size: 0, closed: false, createdAt: Date.now() });
      ids.push(id);
    }
    return { session_ids: ids };
  }

  uploadAppend(arg: Record<string, unknown>, body: Buffer): null {
    const s = this.sessionAt(arg.cursor);
    if (s.closed) throw new ApiError(tag('closed'));
    if (typeof arg.content_hash === 'string' && arg.content_hash !== dropboxContentHash(body))
      throw new ApiError(tag('content_hash_mismatch'));
    s.chunks.push(body);
    s.size += body.length;
    if (arg.close === true) s.closed = true;
    return null;
  }

  uploadFinish(arg: Record<string, unknown>, body: Buffer): Record<string, unknown> {
    let s: Session;
    try {
      s = this.sessionAt(arg.cursor);
    } catch (err) {
      if (err instanceof ApiError) throw new ApiError(nested('lookup_failed', err.error));
      throw err;
    }
    {
      if (body.length > 0) {
        s.chunks.push(body);
        s.size += body.length;
      }
      try {
        return this.finishSession(s, arg.commit, arg.content_hash, body);
      } catch (err) {
        // A commit that failed leaves the session as it was before this request.
        if (body.length > 0) {
          s.chunks.pop();
          s.size -= body.length;
        }
        throw err;
      }
    }
  }

  /**
   * The entries of a finish_batch, each committed or failed alone (UploadSessionFinishBatchResultEntry:
   * `success` FileMetadata or `failure` UploadSessionFinishError, in the order of the request).
   * `batchEntryFault` makes an entry fail as the service's do under load: `too_many_write_operations`
   * (UploadSessionFinishError: "You should retry uploading this file") or `internal_error` (the union is
   * open, not union_closed, so a client meets tags it does not know; Dropbox's batch entries describe
   * internal_error as "Something went wrong with the job on Dropbox's end. You'll need to verify that
   * the action you were taking succeeded, and if not, try again", files.stone RelocationBatchErrorEntry).
   */
  private commitBatch(entries: Record<string, unknown>[]): unknown[] {
    return entries.map((e) => {
      try {
        const fault = this.batchEntryFault?.(lowerOf(String((e.commit as { path?: unknown } | undefined)?.path ?? '')));
        if (fault) return { '.tag': 'failure', failure: tag(fault) };
        let s: Session;
        try {
          s = this.sessionAt(e.cursor);
          if (!s.closed) throw new ApiError(tag('not_closed'));
        } catch (err) {
          if (err instanceof ApiError) throw new ApiError(nested('lookup_failed', err.error));
          throw err;
        }
        const meta = this.finishSession(s, e.commit, e.content_hash, Buffer.alloc(0));
        this.stats.finishBatchEntries++;
        return { '.tag': 'success', ...meta };
      } catch (err) {
        if (err instanceof ApiError) return { '.tag': 'failure', failure: err.error };
        return { '.tag': 'failure', failure: tag('other') };
      }
    });
  }

  private batchEntries(arg: Record<string, unknown>): Record<string, unknown>[] {
    const entries = arg.entries;
    // files.stone UploadSessionFinishBatchArg: entries List(UploadSessionFinishArg, max_items=1000).
    if (!Array.isArray(entries) || entries.length > 1000)
      throw new BadRequest('request body: entries: at most 1000 entries');
    return entries as Record<string, unknown>[];
  }

  /**
   * upload_session/finish_batch (v1, deprecated in files.stone): "This route will return a job_id
   * immediately and do the async commit job in background" — but its result is
   * UploadSessionFinishBatchLaunch, which "may either launch an asynchronous job or complete
   * synchronously": `v1CompletesAtOnce` says which this call does.
   */
  uploadFinishBatch(arg: Record<string, unknown>): Record<string, unknown> {
    const entries = this.batchEntries(arg);
    if (this.v1CompletesAtOnce()) {
      const release = this.beginWrite();
      try {
        return { '.tag': 'complete', entries: this.commitBatch(entries) };
      } finally {
        release();
      }
    }
    const release = this.beginWrite();
    const jobId = `dbjid:${randomBytes(24).toString('base64url')}`;
    const job: Job = { done: false, entries: [] };
    this.jobs.set(jobId, job);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      job.entries = this.commitBatch(entries);
      job.done = true;
      release();
    }, this.batchJobMs);
    this.timers.add(timer);
    return { '.tag': 'async_job_id', async_job_id: jobId };
  }

  /** upload_session/finish_batch:2 (`finish_batch_v2`): synchronous, UploadSessionFinishBatchResult. */
  uploadFinishBatchV2(arg: Record<string, unknown>): Record<string, unknown> {
    return { entries: this.commitBatch(this.batchEntries(arg)) };
  }

  uploadFinishBatchCheck(arg: Record<string, unknown>): Record<string, unknown> {
    const job = this.jobs.get(String(arg.async_job_id));
    if (!job) throw new ApiError(tag('invalid_async_job_id'));
    if (!job.done) return tag('in_progress');
    return { '.tag': 'complete', entries: job.entries };
  }

  download(arg: Record<string, unknown>, _body: Buffer, res: ServerResponse): undefined {
    // DownloadArg.path: "(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)" (files.stone): a
    // revision is read by `rev:<rev>`, a live or an earlier one; an unknown one is path/not_found.
    if (typeof arg.path === 'string' && arg.path.startsWith('rev:')) {
      const found = this.revision(arg.path.slice(4));
      if (!found) throw new ApiError(nested('path', tag('not_found')));
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(found.node.data.length),
        'dropbox-api-result': headerSafeJson(this.fileStruct(found.node, found.display)),
      });
      res.end(found.node.data);
      return undefined;
    }
    const parts = lookupPath(arg.path, 'path');
    const lower = `/${parts.join('/')}`.toLowerCase();
    const n = this.nodes.get(lower);
    if (!n) throw new ApiError(nested('path', tag('not_found')));
    if (n.kind !== 'file') throw new ApiError(nested('path', tag('not_file')));
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(n.data.length),
      'dropbox-api-result': headerSafeJson(this.struct(lower)),
    });
    res.end(n.data);
    return undefined;
  }

  /**
   * files/list_revisions (https://www.dropbox.com/developers/documentation/http/documentation#files-list_revisions):
   * ListRevisionsArg {path, mode: path|id = path, limit: 1..100 = 10}; ListRevisionsResult {is_deleted,
   * server_deleted?, entries: FileMetadata newest first, "only revisions that are not deleted"}; a path
   * with no file and no history is ListRevisionsError.path/not_found. Only `path` mode is emulated.
   */
  listRevisions(arg: Record<string, unknown>): Record<string, unknown> {
    const parts = lookupPath(arg.path, 'path');
    const limit = arg.limit ?? 10;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new BadRequest(`request body: limit: ${String(limit)} is not within range [1, 100]`);
    const mode = (arg.mode as { '.tag'?: string } | string | undefined) ?? 'path';
    if ((typeof mode === 'string' ? mode : mode['.tag']) !== 'path')
      throw new BadRequest('request body: mode: only path mode is emulated');
    const lower = `/${parts.join('/')}`.toLowerCase();
    const live = this.nodes.get(lower);
    if (live?.kind === 'folder') throw new ApiError(nested('path', tag('not_file')));
    const earlier = this.revisions.get(lower) ?? [];
    if (!live && earlier.length === 0) throw new ApiError(nested('path', tag('not_found')));
    const entries = [
      ...(live?.kind === 'file' ? [this.struct(lower)] : []),
      ...[...earlier].reverse().map((r) => this.fileStruct(r.node, r.display)),
    ].slice(0, limit);
    const deleted = this.deletedAt.get(lower);
    return { is_deleted: !live, ...(live ? {} : deleted ? { server_deleted: deleted } : {}), entries };
  }

  /**
   * files/restore (…#files-restore): RestoreArg {path, rev} → FileMetadata; the revision's bytes become
   * the file at `path` (a new revision). An unknown rev is RestoreError.invalid_revision.
   */
  restore(arg: Record<string, unknown>): Record<string, unknown> {
    const parts = pathArg(arg.path, 'path', false);
    if (typeof arg.rev !== 'string' || !/^[0-9a-f]{9,}$/.test(arg.rev))
      throw new BadRequest(`request body: rev: '${String(arg.rev)}' did not match pattern '[0-9a-f]+'`);
    const found = this.revision(arg.rev);
    if (!found) throw new ApiError(tag('invalid_revision'));
    try {
      return this.write(parts, found.node.data, found.node.clientModified, 'overwrite', false);
    } catch (err) {
      if (err instanceof ApiError) throw new ApiError(nested('path_write', err.error));
      throw err;
    }
  }

  private keepRevision(lower: string, node: FileNode): void {
    const list = this.revisions.get(lower) ?? [];
    list.push({ node, display: this.display(lower) });
    this.revisions.set(lower, list);
  }

  private revision(rev: string): { node: FileNode; display: string } | undefined {
    for (const [lower, n] of this.nodes)
      if (n.kind === 'file' && n.rev === rev) return { node: n, display: this.display(lower) };
    for (const list of this.revisions.values()) for (const r of list) if (r.node.rev === rev) return r;
    return undefined;
  }

  /** FileMetadata of a revision (a struct: no ".tag"). */
  private fileStruct(n: FileNode, display: string): Record<string, unknown> {
    return {
      name: n.name,
      path_lower: display.toLowerCase(),
      path_display: display,
      id: n.id,
      client_modified: n.clientModified,
      server_modified: n.serverModified,
      rev: n.rev,
      size: n.data.length,
      is_downloadable: true,
      content_hash: n.contentHash,
    };
  }

  getMetadata(arg: Record<string, unknown>): Record<string, unknown> {
    if (arg.path === '') throw new BadRequest('request body: path: The root folder is unsupported.');
    const parts = lookupPath(arg.path, 'path');
    const lower = `/${parts.join('/')}`.toLowerCase();
    if (!this.nodes.has(lower)) throw new ApiError(nested('path', tag('not_found')));
    return this.metadata(lower);
  }

  listFolder(arg: Record<string, unknown>): Record<string, unknown> {
    const path = arg.path;
    if (typeof path !== 'string') throw new BadRequest('request body: missing required field "path"');
    const parts = path === '' ? [] : lookupPath(path, 'path');
    const lower = parts.length === 0 ? '' : `/${parts.join('/')}`.toLowerCase();
    if (lower !== '') {
      const n = this.nodes.get(lower);
      if (!n) throw new ApiError(nested('path', tag('not_found')));
      if (n.kind !== 'folder') throw new ApiError(nested('path', tag('not_folder')));
    }
    const limit = arg.limit === undefined ? this.listPageSize : Number(arg.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 2000)
      throw new BadRequest('request body: limit: value must be between 1 and 2000');
    const recursive = arg.recursive === true;
    const below = [...this.nodes.keys()]
      .filter((k) => k.startsWith(`${lower}/`) && (recursive || !k.slice(lower.length + 1).includes('/')))
      .sort();
    // A recursive listing of a folder starts with the folder itself, then parents before their children.
    const keys = recursive && lower !== '' ? [lower, ...below] : below;
    const cursorId = `AAE${randomBytes(24).toString('base64url')}`;
    const entries = keys.map((k) => this.metadata(k));
    this.cursors.set(cursorId, { entries, pos: 0, limit: Math.min(limit, this.listPageSize) });
    return this.page(cursorId);
  }

  private noteChange(lower: string): void {
    this.journal.push({ seq: ++this.changeSeq, lower });
    for (const wake of [...this.changeWaiters]) wake();
  }

  /** A cursor for "changes from now on" below a folder (files/list_folder/get_latest_cursor). */
  latestCursor(arg: Record<string, unknown>): Record<string, unknown> {
    const raw = typeof arg.path === 'string' ? arg.path : '';
    const lower = raw === '' ? '' : `/${lookupPath(raw, 'path').join('/')}`.toLowerCase();
    return { cursor: `chg:${this.cursorEpoch}:${this.changeSeq}:${Buffer.from(lower).toString('base64url')}` };
  }

  /**
   * files/list_folder/longpoll (notify host, no token): answers as soon as something changed below the
   * cursor's folder since it was made, or `{changes: false}` once the wait is over. files.stone,
   * ListFolderLongpollArg.timeout (30–480): "The request will block for at most this length of time,
   * plus up to 90 seconds of random jitter added to avoid the thundering herd problem" — the jitter of
   * each wait is `longpollJitterSec()`. ListFolderLongpollResult.backoff: "If present, backoff for at
   * least this many seconds before calling list_folder/longpoll again": with `longpollBackoffSec` set,
   * every answer carries it, and a longpoll that comes sooner is refused (429 too_many_requests), so a
   * client that ignores it fails a test. A cursor made before `resetCursors()` is `reset`
   * (ListFolderLongpollError.reset).
   */
  async longpoll(arg: Record<string, unknown>, _body: Buffer, res: ServerResponse): Promise<Record<string, unknown>> {
    const m = typeof arg.cursor === 'string' ? /^chg:(\d+):(\d+):([\w-]*)$/.exec(arg.cursor) : null;
    if (!m || Number(m[1]) !== this.cursorEpoch) throw new ApiError(tag('reset'));
    const since = Number(m[2]);
    const prefix = Buffer.from(m[3] ?? '', 'base64url').toString();
    const timeout = typeof arg.timeout === 'number' ? arg.timeout : 30;
    if (timeout < 30 || timeout > 480)
      throw new BadRequest(
        'Error in call to API function "files/list_folder/longpoll": timeout must be between 30 and 480',
      );
    if (Date.now() < this.longpollNotBefore) {
      this.stats.longpollTooSoon++;
      const wait = Math.ceil((this.longpollNotBefore - Date.now()) / 1000);
      throw new ApiError({ reason: tag('too_many_requests'), retry_after: wait }, 429, { 'retry-after': String(wait) });
    }
    const changed = () =>
      this.journal.some(
        (c) => c.seq > since && (prefix === '' || c.lower === prefix || c.lower.startsWith(`${prefix}/`)),
      );
    if (!changed()) {
      const waitMs = (timeout + Math.min(90, Math.max(0, this.longpollJitterSec()))) * this.longpollSecondMs;
      const abandoned = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), waitMs);
        const onClose = () => done(true);
        res.once('close', onClose);
        const wake = () => {
          if (changed()) done(false);
        };
        function finish() {
          clearTimeout(timer);
          res.off('close', onClose);
        }
        const done = (gone: boolean) => {
          finish();
          this.changeWaiters.delete(wake);
          resolve(gone);
        };
        this.changeWaiters.add(wake);
      });
      if (abandoned) {
        this.stats.longpollAbandoned++;
        return { changes: false };
      }
    }
    this.stats.longpollAnswered++;
    const backoff = this.longpollBackoffSec;
    if (backoff !== undefined) this.longpollNotBefore = Date.now() + backoff * 1000;
    return { changes: changed(), ...(backoff !== undefined ? { backoff } : {}) };
  }

  listFolderContinue(arg: Record<string, unknown>): Record<string, unknown> {
    if (typeof arg.cursor !== 'string' || !this.cursors.has(arg.cursor)) throw new ApiError(tag('reset'));
    return this.page(arg.cursor);
  }

  private page(cursorId: string): Record<string, unknown> {
    const c = this.cursors.get(cursorId) as Cursor;
    const entries = c.entries.slice(c.pos, c.pos + c.limit);
    c.pos += entries.length;
    return { entries, cursor: cursorId, has_more: c.pos < c.entries.length };
  }

  deleteV2(arg: Record<string, unknown>): Record<string, unknown> {
    const parts = lookupPath(arg.path, 'path');
    const lower = `/${parts.join('/')}`.toLowerCase();
    if (!this.nodes.has(lower)) throw new ApiError(nested('path_lookup', tag('not_found')));
    if (this.denyWrites?.(lower)) throw new ApiError(nested('path_write', tag('no_write_permission')));
    const meta = this.metadata(lower);
    const gone = [...this.nodes.keys()].filter((k) => k === lower || k.startsWith(`${lower}/`));
    for (const k of gone) {
      const n = this.nodes.get(k);
      if (n?.kind !== 'file') continue;
      this.deletedPaths.push(String(this.metadata(k).path_display));
      this.keepRevision(k, n);
      this.deletedAt.set(k, isoSeconds(Date.now()));
    }
    for (const k of gone) this.nodes.delete(k);
    this.noteChange(lower);
    return { metadata: meta };
  }

  relocate(arg: Record<string, unknown>, keepSource: boolean): Record<string, unknown> {
    const from = lookupPath(arg.from_path, 'from_path');
    const to = pathArg(arg.to_path, 'to_path', false);
    const fromLower = `/${from.join('/')}`.toLowerCase();
    const toLower = `/${to.join('/')}`.toLowerCase();
    {
      const src = this.nodes.get(fromLower);
      if (!src) throw new ApiError(nested('from_lookup', tag('not_found')));
      if (toLower.startsWith(`${fromLower}/`)) throw new ApiError(tag('cant_move_folder_into_itself'));
      const caseOnly = fromLower === toLower;
      if (caseOnly && keepSource) throw new ApiError(tag('duplicated_or_nested_paths'));
      try {
        this.checkWritable(to);
        if (!caseOnly && this.nodes.has(toLower))
          throw writeConflict(this.nodes.get(toLower)?.kind === 'folder' ? 'folder' : 'file');
        this.makeParents(to);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) throw new ApiError(nested('to', err.error));
        throw err;
      }
      const moved = [...this.nodes].filter(([k]) => k === fromLower || k.startsWith(`${fromLower}/`));
      if (!keepSource) for (const [k] of moved) this.nodes.delete(k);
      if (!keepSource) this.noteChange(fromLower);
      this.noteChange(toLower);
      for (const [k, n] of moved) {
        const dest = toLower + k.slice(fromLower.length);
        const name = k === fromLower ? (to.at(-1) as string) : n.name;
        this.nodes.set(
          dest,
          keepSource
            ? {
                ...n,
                name,
                id: this.newId(),
                writtenAs: [...to, ...(n.writtenAs?.slice(from.length) ?? [])],
                ...(n.kind === 'file' ? { rev: this.newRev() } : {}),
              }
            : { ...n, name, writtenAs: [...to, ...(n.writtenAs?.slice(from.length) ?? [])] },
        );
      }
      return { metadata: this.metadata(toLower) };
    }
  }

  createFolder(arg: Record<string, unknown>): Record<string, unknown> {
    const parts = pathArg(arg.path, 'path', false);
    const lower = `/${parts.join('/')}`.toLowerCase();
    {
      try {
        this.checkWritable(parts);
        if (this.nodes.has(lower)) throw writeConflict(this.nodes.get(lower)?.kind === 'folder' ? 'folder' : 'file');
        this.makeParents([...parts, 'x']);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) throw new ApiError(nested('path', err.error));
        throw err;
      }
      return { metadata: this.struct(lower) };
    }
  }
}

type Handler = (this: DropboxEmulator, arg: Record<string, unknown>, body: Buffer, res: ServerResponse) => unknown;

const ROUTES: Record<string, Handler> = {
  'files/upload': DropboxEmulator.prototype.upload,
  'files/upload_session/start': DropboxEmulator.prototype.uploadStart,
  'files/upload_session/start_batch': DropboxEmulator.prototype.uploadStartBatch,
  'files/upload_session/append_v2': DropboxEmulator.prototype.uploadAppend,
  'files/upload_session/finish': DropboxEmulator.prototype.uploadFinish,
  'files/upload_session/finish_batch': DropboxEmulator.prototype.uploadFinishBatch,
  'files/upload_session/finish_batch/check': DropboxEmulator.prototype.uploadFinishBatchCheck,
  'files/upload_session/finish_batch_v2': DropboxEmulator.prototype.uploadFinishBatchV2,
  'files/download': DropboxEmulator.prototype.download,
  'files/list_revisions': DropboxEmulator.prototype.listRevisions,
  'files/restore': DropboxEmulator.prototype.restore,
  'files/get_metadata': DropboxEmulator.prototype.getMetadata,
  'files/list_folder': DropboxEmulator.prototype.listFolder,
  'files/list_folder/continue': DropboxEmulator.prototype.listFolderContinue,
  'files/list_folder/get_latest_cursor': DropboxEmulator.prototype.latestCursor,
  'files/list_folder/longpoll': DropboxEmulator.prototype.longpoll,
  'files/delete_v2': DropboxEmulator.prototype.deleteV2,
  'files/move_v2': function (arg) {
    return this.relocate(arg, false);
  },
  'files/copy_v2': function (arg) {
    return this.relocate(arg, true);
  },
  'files/create_folder_v2': DropboxEmulator.prototype.createFolder,
};

/** Routes that write to the namespace while they are answered (finish_batch holds it while its job runs). */
const WRITE_ROUTES = new Set([
  'files/upload',
  'files/upload_session/finish',
  'files/upload_session/finish_batch_v2',
  'files/delete_v2',
  'files/move_v2',
  'files/copy_v2',
  'files/create_folder_v2',
  'files/restore',
]);

const CONTENT_ROUTES = new Set([
  'files/upload',
  'files/upload_session/start',
  'files/upload_session/append_v2',
  'files/upload_session/finish',
]);

const SCOPE_OF: Record<string, string> = {
  'files/upload': 'files.content.write',
  'files/upload_session/start': 'files.content.write',
  'files/upload_session/start_batch': 'files.content.write',
  'files/upload_session/append_v2': 'files.content.write',
  'files/upload_session/finish': 'files.content.write',
  'files/upload_session/finish_batch': 'files.content.write',
  'files/upload_session/finish_batch/check': 'files.content.write',
  'files/upload_session/finish_batch_v2': 'files.content.write',
  'files/delete_v2': 'files.content.write',
  'files/move_v2': 'files.content.write',
  'files/copy_v2': 'files.content.write',
  'files/create_folder_v2': 'files.content.write',
  'files/download': 'files.content.read',
  'files/list_revisions': 'files.metadata.read',
  'files/restore': 'files.content.write',
  'files/get_metadata': 'files.metadata.read',
  'files/list_folder': 'files.metadata.read',
  'files/list_folder/continue': 'files.metadata.read',
  'files/list_folder/get_latest_cursor': 'files.metadata.read',
};

function writeConflict(kind: 'file' | 'folder' | 'file_ancestor'): ApiError {
  return new ApiError(nested('conflict', tag(kind)));
}

function lowerOf(path: string): string {
  return `/${splitPath(path).join('/')}`.toLowerCase();
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

/**
 * A path argument: "/a/b" (never "", never a trailing slash or an empty, "." or ".." component, no
 * control character or backslash). Errors are a LookupError/WriteError `malformed_path` (409) or, for
 * a value that does not match Dropbox's pattern at all, a 400.
 */
function pathArg(value: unknown, field: string, _lookup: boolean): string[] {
  if (typeof value !== 'string') throw new BadRequest(`request body: ${field}: missing required field`);
  if (!value.startsWith('/'))
    throw new BadRequest(
      `request body: ${field}: '${value}' did not match pattern '(/(.|[\\r\\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)'`,
    );
  const parts = value.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new ApiError(tag('malformed_path'));
  // "icon\r" is one of the names Dropbox ignores: it is refused as a disallowed name, not as malformed.
  if (parts.some((p) => hasControlOrBackslash(p) && p.toLowerCase() !== 'icon\r'))
    throw new ApiError(tag('malformed_path'));
  return parts;
}

function hasControlOrBackslash(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/** A path to look up: malformed paths are a LookupError under the route's `path` member. */
function lookupPath(value: unknown, field: string): string[] {
  try {
    return pathArg(value, field, true);
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(nested(field === 'from_path' ? 'from_lookup' : 'path', err.error));
    throw err;
  }
}

function clientModifiedArg(v: unknown): string {
  if (v === undefined) return isoSeconds(Date.now());
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(v))
    throw new BadRequest(
      `request body: client_modified: '${String(v)}' is not a timestamp of the form %Y-%m-%dT%H:%M:%SZ`,
    );
  return v;
}

/** "doc.txt" → "doc (1).txt", the autorename strategy of add and overwrite. */
function renamed(parts: string[]): string[] {
  const name = parts.at(-1) as string;
  const m = /^(.*?)(?: \((\d+)\))?(\.[^.]*)?$/.exec(name);
  const next = `${m?.[1] ?? name} (${Number(m?.[2] ?? 0) + 1})${m?.[3] ?? ''}`;
  return [...parts.slice(0, -1), next];
}

async function readBody(req: IncomingMessage, limit: number, count?: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    count?.(chunk.length);
    // Keep at most one byte past the request limit: enough to refuse it, without holding it all.
    if (size <= limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks);
}

export async function startDropboxEmulator(opts: DropboxEmulatorOptions = {}): Promise<DropboxEmulator> {
  return new DropboxEmulator(opts).start();
}
