import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import type { DestinationConfig } from '../../../../shared/config';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { formatBytes } from '../../../../shared/units';
import { isTempName } from '../../scan/ignoreRules';
import { TempNames } from '../tempNames';
import { fileBody, openSource, readSmall, SMALL_FILE } from '../kit/fileBody';
import { type HttpAnswer, HttpTransport, networkError, type SendOptions, statusError } from '../kit/httpTransport';
import { VERSIONS_DIR } from '../../versions/versionName';
import { joinRemote, normalizeRemotePath, parentOf } from '../remotePath';
import type { ProviderDeps } from '../types';
import type {
  CheckOptions,
  Destination,
  ProviderFeatures,
  RemoteEntry,
  ServerSideCopy,
  ServerSideMove,
  TransferOpts,
  UploadSource,
} from '../types';
import { DavAuth } from './davAuth';
import { type DavResource, normalizeEtag, OC_NS, parseChecksums, parseMultistatus } from './davXml';

export type WebdavDestinationConfig = Extract<DestinationConfig, { type: 'webdav' }>;

/** Uploads at least this large are looked at (PROPFIND) after the MOVE: the server's size, ETag, checksum. */
const VERIFY_BY_PROPFIND_BYTES = 8 * 1024 * 1024;
const LIST_CONCURRENCY = 4;

/** How an upload was verified, counted per destination (tests and `ferry status` read these). */
export type WebdavVerification = {
  /** A SHA-256 the server reported (oc:checksums, or an OC-Checksum answer header) matched. */
  checksum: number;
  /** A PROPFIND after the MOVE showed the expected size (and gave the ETag kept as the version). */
  propfind: number;
  /** The server accepted a PUT of exactly Content-Length bytes and the MOVE; the next listing checks size and ETag. */
  answer: number;
};

/**
 * A WebDAV server (Nextcloud/ownCloud, Apache mod_dav, nginx, rclone serve webdav, a NAS…).
 *
 * Upload: the bytes are PUT to a temporary name beside the target (`.ferrytmp-<hex>-<name>`), hashed as
 * they are streamed; the last chunk goes out only once the whole file hashed to the expected SHA-256
 * (otherwise the PUT is abandoned, the temporary deleted, and `source-changed` thrown); then a MOVE with
 * `Overwrite: T` publishes it under its final name. Missing parent collections are made with MKCOL
 * (remembered, and learned from listings, so a sync of known folders sends none). One keep-alive agent
 * per destination keeps the sockets open between requests.
 *
 * Verification: a checksum the server vouches for when it offers one (Nextcloud/ownCloud store the
 * `OC-Checksum: SHA256:<hex>` sent with the PUT and report it as oc:checksums); otherwise size and
 * ETag. Small files cost no extra request: the PUT's own ETag is kept as the version when this server
 * keeps ETags across a MOVE (learned once, by the check's probe or the first upload), and the next
 * listing compares size and ETag. Files of 8 MiB or more are PROPFINDed after the MOVE.
 *
 * Not resumable: WebDAV has no standard partial PUT (rclone serve webdav, for one, replaces the whole
 * file when given Content-Range), so an interrupted upload starts again (features.resumable = false).
 */
export class WebdavDestination implements Destination, ServerSideMove, ServerSideCopy {
  readonly type = 'webdav';
  readonly features: ProviderFeatures = {
    hashes: ['sha256'],
    caseInsensitive: false,
    resumable: false,
    maxSingleUpload: Infinity,
    tags: false,
  };
  readonly id: string;
  readonly verified: WebdavVerification = { checksum: 0, propfind: 0, answer: 0 };
  /** Requests sent, by method (tests prove there is no PROPFIND or MKCOL per small upload). */
  readonly requests: Record<string, number> = {};
  private readonly http: HttpTransport;
  private readonly auth: DavAuth;
  private readonly origin: URL;
  /** The destination's root below the server URL, as decoded path segments. */
  private readonly rootSegs: string[];
  /** Collections known to exist, relative to the root ('' is the root). */
  private readonly collections = new Set<string>(['']);
  private readonly making = new Map<string, Promise<void>>();
  /** Background removals of abandoned temporary files (see sweepAbandoned). */
  private readonly sweeps = new Set<Promise<void>>();
  /** Whether this server keeps a file's ETag when it is moved (learned on the first probe or upload). */
  private etagSurvivesMove: boolean | undefined;
  /** Whether to ask for oc:checksums (a Nextcloud/ownCloud server). */
  private ocChecksums = false;
  /** Whether PROPFIND answers give files an ETag (nginx's do not): learned from every file listed. */
  private listsEtags: boolean | undefined;

  /** This instance's temporary names (ProviderDeps.temp). */
  private readonly temp: TempNames;

  constructor(cfg: WebdavDestinationConfig, deps: Pick<ProviderDeps, 'secret' | 'temp'>) {
    this.id = cfg.id;
    this.temp = deps.temp ?? new TempNames();
    const url = new URL(cfg.url);
    this.origin = new URL(url.origin);
    const password =
      cfg.password === undefined ? undefined : deps.secret(cfg.password, `destination ${cfg.id}: password`);
    this.auth = new DavAuth(cfg.user, password ?? (cfg.user === undefined ? undefined : ''), cfg.auth ?? 'auto');
    const decoded = url.pathname.split('/').filter(Boolean).map(safeDecode);
    const extra = [cfg.path ?? '/', cfg.prefix ?? ''].flatMap((p) => normalizeRemotePath(p).split('/')).filter(Boolean);
    this.rootSegs = [...decoded, ...extra];
    this.http = new HttpTransport(this.origin, {
      timeoutMs: cfg.timeout === undefined ? undefined : cfg.timeout * 1000,
    });
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private url(rel: string, collection = false): URL {
    const segs = [...this.rootSegs, ...(rel === '' ? [] : rel.split('/'))];
    // The root is always a collection: nginx's `location /dav/` does not match `/dav` (405).
    const slash = (collection || rel === '') && segs.length > 0;
    const path = `/${segs.map(encodeSegment).join('/')}${slash ? '/' : ''}`;
    return new URL(path, this.origin);
  }

  private where(rel: string): string {
    return `${this.origin.host}/${[...this.rootSegs, ...(rel ? [rel] : [])].join('/')}`;
  }

  private ctx(rel: string): ErrorContext {
    return { destination: this.id, remotePath: rel };
  }

  /** One request with the credentials; a first challenge (or a stale digest nonce) is answered once. */
  private async call(method: string, url: URL, opts: SendOptions = {}): Promise<HttpAnswer> {
    const once = async () => {
      this.requests[method] = (this.requests[method] ?? 0) + 1;
      const headers: OutgoingHttpHeaders = { ...opts.headers };
      const authorization = this.auth.header(method, url.pathname + url.search);
      if (authorization) headers.authorization = authorization;
      const answer = await this.http.send(method, url, { ...opts, headers });
      return { answer, sent: authorization !== undefined };
    };
    const first = await once();
    if (
      first.answer.status === 401 &&
      typeof opts.body !== 'function' &&
      this.auth.learn(first.answer.headers, first.sent)
    )
      return (await once()).answer;
    return first.answer;
  }

  /** Learns the authentication scheme before a streamed body is sent (a body cannot be sent twice). */
  private async prime(signal?: AbortSignal): Promise<void> {
    if (this.auth.ready) return;
    await this.propfind('', '0', signal);
  }

  private propfindBody(): string {
    const oc = this.ocChecksums;
    return (
      `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"${oc ? ` xmlns:oc="${OC_NS}"` : ''}><d:prop>` +
      '<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/>' +
      `${oc ? '<oc:checksums/>' : ''}</d:prop></d:propfind>`
    );
  }

  /** PROPFIND at a depth; undefined when the path does not exist. */
  private async propfind(
    rel: string,
    depth: '0' | '1',
    signal?: AbortSignal,
    collection = depth === '1',
  ): Promise<DavResource[] | undefined> {
    const url = this.url(rel, collection);
    const answer = await this.call('PROPFIND', url, {
      headers: { depth, 'content-type': 'application/xml; charset=utf-8' },
      body: this.propfindBody(),
      signal,
    });
    if (answer.status === 404) return undefined;
    if (answer.status !== 207)
      throw statusError(answer, `cannot list ${this.where(rel)}`, this.ctx(rel), {
        forbidden: { code: 'forbidden', hint: 'the account may not read this folder: check its permissions' },
      });
    try {
      return parseMultistatus(answer.body.toString('utf8'));
    } catch (err) {
      throw new FerryError(
        'retryable',
        'bad-answer',
        `${this.where(rel)}: unreadable PROPFIND answer (${(err as Error).message})`,
        {
          context: this.ctx(rel),
          cause: err,
        },
      );
    }
  }

  /** The root-relative path of an href, or undefined when it lies outside the root. */
  private relOf(href: string): string | undefined {
    let path = href;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) {
      try {
        path = new URL(href).pathname;
      } catch {
        return undefined;
      }
    }
    const segs = path.split('/').filter(Boolean).map(safeDecode);
    for (let i = 0; i < this.rootSegs.length; i++) if (segs[i] !== this.rootSegs[i]) return undefined;
    return segs.slice(this.rootSegs.length).join('/');
  }

  private entryOf(rel: string, r: DavResource): RemoteEntry {
    const e: RemoteEntry = { path: rel, size: r.size ?? 0 };
    if (r.lastModifiedMs !== undefined) e.mtimeMs = r.lastModifiedMs;
    const version = this.versionOf(r);
    if (version !== undefined) e.version = version;
    if (r.checksums.sha256) e.hashes = { sha256: r.checksums.sha256 };
    if (isTempName(rel.slice(rel.lastIndexOf('/') + 1))) e.partial = true;
    return e;
  }

  /**
   * A file's version token: its ETag; from a server that lists none (nginx's dav_ext), its size and
   * modification time — the weakest version, but one that still tells most edits apart.
   */
  private versionOf(r: Pick<DavResource, 'etag' | 'size' | 'lastModifiedMs' | 'collection'>): string | undefined {
    if (!r.collection && r.size !== undefined) this.listsEtags = r.etag !== undefined;
    if (r.etag !== undefined) return r.etag;
    return r.lastModifiedMs === undefined ? undefined : weakVersion(r.size ?? 0, r.lastModifiedMs);
  }

  private writeError(answer: HttpAnswer, what: string, rel: string): FerryError {
    if (answer.status === 405 || answer.status === 403)
      return new FerryError(
        'permanent',
        'read-only',
        `${what}: the server refuses writes at ${this.where(rel)} (HTTP ${answer.status})`,
        {
          context: this.ctx(rel),
          hint: 'the account (or the share) is read-only there: give it write permission or choose another folder',
        },
      );
    return statusError(answer, what, this.ctx(rel));
  }

  /** A 413: the server's own upload limit (nginx's client_max_body_size, Apache's LimitRequestBody…). */
  private tooLarge(answer: HttpAnswer, rel: string, size: number): FerryError {
    return new FerryError(
      'permanent',
      'too-large',
      `${rel} (${formatBytes(size)}) is larger than ${this.origin.host} accepts in one upload (HTTP 413)`,
      {
        context: this.ctx(rel),
        hint:
          "raise the server's upload limit (nginx: client_max_body_size; Apache: LimitRequestBody; " +
          'PHP front ends: upload_max_filesize and post_max_size), or keep files this large out of the rule',
        cause: statusError(answer, `PUT ${rel}`, this.ctx(rel)),
      },
    );
  }

  /**
   * Removes the temporary file of an abandoned PUT. The server may still be working on the request we
   * cut (a DELETE can overtake it and find nothing yet), so it is deleted again a little later, in the
   * background; close() waits for these. Whatever still escapes is flagged partial by the next listing.
   */
  private sweepAbandoned(url: URL): void {
    const sweep = (async () => {
      for (const delayMs of [0, 250, 1000]) {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        await this.removeQuietly(url);
      }
    })();
    this.sweeps.add(sweep);
    void sweep.finally(() => this.sweeps.delete(sweep));
  }

  private async removeQuietly(url: URL): Promise<void> {
    try {
      await this.call('DELETE', url);
    } catch {
      // best effort: the next run's listing sweeps leftovers (they are flagged partial)
    }
  }

  // ---- check -----------------------------------------------------------------------------------

  async check(signal?: AbortSignal, opts: CheckOptions = {}): Promise<void> {
    let root: DavResource[] | undefined;
    try {
      root = await this.propfind('', '0', signal, true);
    } catch (err) {
      throw this.checkError(err);
    }
    const self = root?.[0];
    if (!root)
      throw new FerryError(
        'not-found',
        'container-missing',
        `destination "${this.id}": the folder ${this.where('')} does not exist`,
        {
          context: { destination: this.id },
          hint: "create the folder on the server (or fix the destination's url/path), then sync again",
        },
      );
    if (self && !self.collection)
      throw new FerryError(
        'conflict',
        'container-missing',
        `destination "${this.id}": ${this.where('')} is a file, not a folder`,
        {
          context: { destination: this.id },
          hint: "point the destination's url/path at a folder",
        },
      );
    // A routine pass writes nothing: whether ETags survive a MOVE is learned on the first upload.
    if (opts.write === false) return;
    // A probe: written, moved (does the ETag survive a MOVE here?), looked at, removed.
    const probe = this.temp.fileName('probe-');
    const probeUrl = this.url(probe);
    const movedUrl = this.url(`${probe}-moved`);
    let put: HttpAnswer;
    try {
      put = await this.call('PUT', probeUrl, { body: Buffer.from('ferry probe\n'), signal });
    } catch (err) {
      throw this.checkError(err);
    }
    if (put.status < 200 || put.status > 299) {
      await this.removeQuietly(probeUrl);
      const said = statusError(put, '', {}).message.replace(/^: /, '');
      if (put.status === 401)
        throw new FerryError(
          'auth',
          'auth-failed',
          `destination "${this.id}": the server refused the credentials for writing (${said})`,
          {
            context: { destination: this.id },
            hint: 'check the user name and password reference',
          },
        );
      throw new FerryError(
        'permanent',
        'read-only',
        `destination "${this.id}": cannot write in ${this.where('')} — a test file was refused (${said})`,
        {
          context: { destination: this.id },
          hint:
            put.status === 507
              ? 'the destination is full: free some space or raise the quota'
              : 'the account or the share is read-only there: give it write permission, or choose another folder',
        },
      );
    }
    this.noteServer(put);
    try {
      const mv = await this.call('MOVE', probeUrl, {
        headers: { destination: movedUrl.href, overwrite: 'T' },
        signal,
      });
      if (mv.status >= 200 && mv.status <= 299) {
        const after = (await this.propfind(`${probe}-moved`, '0', signal))?.[0];
        const putEtag = etagOf(put);
        this.etagSurvivesMove = putEtag !== undefined && after?.etag === putEtag;
      } else if (mv.status === 403 || mv.status === 405 || mv.status === 409)
        throw new FerryError(
          'permanent',
          'read-only',
          `destination "${this.id}": the server refuses to rename files in ${this.where('')} (MOVE: HTTP ${mv.status})`,
          {
            context: { destination: this.id },
            hint: 'Ferry publishes each upload by renaming it into place: the account needs the right to rename files there',
          },
        );
      else throw statusError(mv, `MOVE in ${this.where('')}`, { destination: this.id });
    } catch (err) {
      await this.removeQuietly(probeUrl);
      throw err instanceof FerryError && err.code === 'read-only' ? err : this.checkError(err);
    } finally {
      await this.removeQuietly(movedUrl);
    }
  }

  private checkError(err: unknown): FerryError {
    if (!(err instanceof FerryError))
      return networkError(err as NodeJS.ErrnoException, 'PROPFIND', this.origin, { destination: this.id });
    const ctx = { destination: this.id };
    if (err.code === 'auth-failed' || err.kind === 'auth')
      return new FerryError('auth', 'auth-failed', `destination "${this.id}": ${err.message}`, {
        context: ctx,
        cause: err,
        hint:
          err.code === 'forbidden'
            ? 'the account may not read this folder: check its permissions'
            : 'check the user name and the password reference (and `auth:` if the server wants digest)',
      });
    if (err.kind === 'cancelled') return err;
    if (err.kind === 'retryable' || err.kind === 'rate-limited')
      return new FerryError('retryable', 'unreachable', `destination "${this.id}": ${err.message}`, {
        context: ctx,
        cause: err,
        hint: err.hint ?? 'check the URL and that the WebDAV server is running and reachable from this machine',
      });
    return err.withContext(ctx);
  }

  /** What a PUT's answer tells about the server: Nextcloud/ownCloud (oc:checksums) or not. */
  private noteServer(answer: HttpAnswer): void {
    if (answer.headers['oc-fileid'] !== undefined || answer.headers['oc-etag'] !== undefined) this.ocChecksums = true;
  }

  // ---- reading ---------------------------------------------------------------------------------

  async stat(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined> {
    const rel = normalizeRemotePath(path);
    if (rel === '') return undefined;
    const found = await this.propfind(rel, '0', signal, false);
    const r = found?.[0];
    if (!r || r.collection) return undefined;
    return this.entryOf(rel, r);
  }

  /**
   * Walks collections with Depth 1 PROPFINDs, a few at a time (Depth infinity is refused by some
   * servers and unbounded on big trees). Every collection seen is remembered, so uploads into it need
   * no MKCOL.
   */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry> {
    const base = normalizeRemotePath(prefix);
    const queue: string[] = [base];
    type Done = { id: number; dir: string; result?: DavResource[] | undefined; error?: unknown };
    const running = new Map<number, Promise<Done>>();
    let nextId = 0;
    try {
      while (queue.length > 0 || running.size > 0) {
        while (queue.length > 0 && running.size < LIST_CONCURRENCY) {
          const dir = queue.shift() as string;
          const id = nextId++;
          running.set(
            id,
            this.propfind(dir, '1', signal).then(
              (result) => ({ id, dir, result }),
              (error: unknown) => ({ id, dir, error }),
            ),
          );
        }
        const done = await Promise.race(running.values());
        running.delete(done.id);
        if (done.error !== undefined) throw done.error;
        if (!done.result) continue; // gone (or never there)
        this.collections.add(done.dir);
        for (const r of done.result) {
          const rel = this.relOf(r.href);
          if (rel === undefined || rel === done.dir) continue;
          if (done.dir !== '' && !rel.startsWith(`${done.dir}/`)) continue;
          if (done.dir === '' && rel === VERSIONS_DIR) continue; // Ferry's versions, never synced
          if (r.collection) {
            this.collections.add(rel);
            queue.push(rel);
          } else yield this.entryOf(rel, r);
        }
      }
    } finally {
      // An early return or an error: the requests still running settle on their own (they never reject).
      running.clear();
    }
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    const rel = normalizeRemotePath(path);
    const url = this.url(rel);
    const tmp = join(dirname(toAbsPath), this.temp.fileName());
    await mkdir(dirname(toAbsPath), { recursive: true });
    await this.prime(opts.signal);
    const headers: OutgoingHttpHeaders = {};
    const authorization = this.auth.header('GET', url.pathname);
    if (authorization) headers.authorization = authorization;
    this.requests.GET = (this.requests.GET ?? 0) + 1;
    try {
      const result = await this.http.exchange(
        'GET',
        url,
        { headers, signal: opts.signal },
        async (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
            throw statusError(
              { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) },
              `cannot download ${rel}`,
              this.ctx(rel),
            );
          }
          const hash = createHash('sha256');
          const out = createWriteStream(tmp, { flags: 'wx' });
          let size = 0;
          try {
            for await (const c of res as AsyncIterable<Buffer>) {
              hash.update(c);
              size += c.length;
              if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
              opts.onProgress?.(size);
            }
            if (!res.complete) throw Object.assign(new Error('the download was cut short'), { code: 'ECONNRESET' });
          } finally {
            await new Promise<void>((resolve, reject) =>
              out.end((err?: Error | null) => (err ? reject(err) : resolve())),
            );
          }
          const fh = await open(tmp, 'r+');
          await fh.datasync().finally(() => fh.close());
          const e: RemoteEntry = { path: rel, size, hashes: { sha256: hash.digest('hex') } };
          // The version a listing gives: a GET's ETag where PROPFIND gives the same, else size and time.
          const lastModified = Date.parse(headerText(res.headers['last-modified']));
          const version =
            this.listsEtags === false
              ? Number.isFinite(lastModified)
                ? weakVersion(size, lastModified)
                : undefined
              : etagOf({ headers: res.headers });
          if (version !== undefined) e.version = version;
          return e;
        },
      );
      await rename(tmp, toAbsPath);
      return result;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err instanceof FerryError
        ? err.withContext(this.ctx(rel))
        : networkError(err as NodeJS.ErrnoException, 'GET', url, this.ctx(rel));
    }
  }

  // ---- writing ---------------------------------------------------------------------------------

  /**
   * Makes a collection and any missing parents, top-down from the deepest one known (MKCOL each), once
   * per session: concurrent uploads into the same new folder share one request.
   */
  private async ensureCollection(rel: string): Promise<void> {
    if (this.collections.has(rel)) return;
    const parent = parentOf(rel);
    if (rel !== '' && !this.collections.has(parent)) await this.ensureCollection(parent);
    let p = this.making.get(rel);
    if (!p) {
      p = this.mkcol(rel).finally(() => this.making.delete(rel));
      this.making.set(rel, p);
    }
    await p;
  }

  private async mkcol(rel: string): Promise<void> {
    if (this.collections.has(rel)) return;
    const answer = await this.call('MKCOL', this.url(rel, true));
    // 405: it exists already (made by a concurrent upload, or by someone else).
    if ((answer.status >= 200 && answer.status <= 299) || answer.status === 405) {
      this.collections.add(rel);
      return;
    }
    if (answer.status === 409) {
      // A parent we believed in is gone: forget what we knew, the next attempt starts again.
      this.forgetCollection(parentOf(rel));
      throw new FerryError('retryable', 'parent-missing', `cannot create the folder ${rel}: its parent is missing`, {
        context: this.ctx(rel),
        hint: 'if a file has the name of one of its folders at the destination, rename one of them',
      });
    }
    throw this.writeError(answer, `cannot create the folder ${rel}`, rel);
  }

  private forgetCollection(rel: string): void {
    for (const c of [...this.collections])
      if (c !== '' && (c === rel || c.startsWith(`${rel}/`))) this.collections.delete(c);
  }

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const entry = await this.uploadOnce(path, source, opts);
    // A version of size and time (to the second) cannot tell a write of one size within the second of the
    // version it replaces from that version: another instance would take it for the file it already
    // has. Written again once the server's second has moved on (seconds apart: small files only).
    if (source.replaces != null && entry.version === source.replaces && isWeakVersion(entry.version)) {
      await sleep(1000, undefined, { signal: opts.signal }).catch(() => {
        throw cancelled(entry.path);
      });
      return this.uploadOnce(path, source, opts);
    }
    return entry;
  }

  private async uploadOnce(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const rel = normalizeRemotePath(path);
    const ctx = this.ctx(rel);
    if (rel === '') throw new FerryError('invalid-name', 'empty-path', 'an upload needs a file name', { context: ctx });
    if (opts.signal.aborted) throw cancelled(rel);
    const parent = parentOf(rel);
    const name = rel.slice(parent === '' ? 0 : parent.length + 1);
    try {
      await this.ensureCollection(parent);
      await this.prime(opts.signal);
    } catch (err) {
      throw err instanceof FerryError
        ? err.withContext(ctx)
        : networkError(err as NodeJS.ErrnoException, 'MKCOL', this.origin, ctx);
    }
    const tempRel = joinRemote(parent, tempName(this.temp, name));
    const tempUrl = this.url(tempRel);

    let put: { answer: HttpAnswer; sent: number };
    for (let attempt = 0; ; attempt++) {
      const sending = { started: false };
      try {
        put = await this.putStream(tempUrl, rel, source, opts, sending);
      } catch (err) {
        // The PUT was abandoned mid-body: the server may still be creating the temporary file.
        if (sending.started) this.sweepAbandoned(tempUrl);
        throw err instanceof FerryError
          ? err.withContext(ctx)
          : networkError(err as NodeJS.ErrnoException, 'PUT', tempUrl, ctx);
      }
      // A digest nonce went stale while the body was on its way: send it once more.
      if (put.answer.status === 401 && attempt === 0 && this.auth.learn(put.answer.headers, true)) continue;
      break;
    }
    const { answer } = put;
    if (answer.status < 200 || answer.status > 299) {
      await this.removeQuietly(tempUrl);
      if (answer.status === 409 || answer.status === 404) {
        // The folder went away behind our back: make it again on the next attempt.
        this.forgetCollection(parent);
        throw new FerryError(
          'retryable',
          'parent-missing',
          `cannot upload ${rel}: the folder ${parent || '/'} is missing on the server (HTTP ${answer.status})`,
          {
            context: ctx,
            hint: 'if a file has the name of that folder at the destination, rename one of them',
          },
        );
      }
      if (answer.status === 413) throw this.tooLarge(answer, rel, source.size);
      throw this.writeError(answer, `cannot upload ${rel}`, rel);
    }
    this.noteServer(answer);

    const finalUrl = this.url(rel);
    let mv: HttpAnswer;
    try {
      mv = await this.call('MOVE', tempUrl, {
        headers: { destination: finalUrl.href, overwrite: 'T' },
        signal: opts.signal,
      });
    } catch (err) {
      await this.removeQuietly(tempUrl);
      throw err instanceof FerryError
        ? err.withContext(ctx)
        : networkError(err as NodeJS.ErrnoException, 'MOVE', tempUrl, ctx);
    }
    if (mv.status < 200 || mv.status > 299) {
      await this.removeQuietly(tempUrl);
      throw this.writeError(mv, `cannot publish ${rel} (MOVE from its temporary name)`, rel);
    }
    return this.verifyUpload(rel, source, put.sent, answer, opts.signal);
  }

  /**
   * Streams the file as the PUT body: paced, hashed and reported chunk by chunk. The last chunk is
   * held back until the whole file has hashed to what the index says; otherwise the request is
   * abandoned (the server never sees a complete body) and `source-changed` is thrown.
   */
  private async putStream(
    url: URL,
    rel: string,
    source: UploadSource,
    opts: TransferOpts,
    sending: { started: boolean },
  ): Promise<{ answer: HttpAnswer; sent: number }> {
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      // Nextcloud/ownCloud keep this and report it back as oc:checksums.
      'oc-checksum': `SHA256:${source.hashes.sha256}`,
      // Honoured by Nextcloud/ownCloud (and newer rclone): the file keeps its modification time.
      'x-oc-mtime': String(Math.floor(source.mtimeMs / 1000)),
    };
    const authorization = this.auth.header('PUT', url.pathname);
    if (authorization) headers.authorization = authorization;
    this.requests.PUT = (this.requests.PUT ?? 0) + 1;
    if (source.size <= SMALL_FILE) {
      // Read, checked and hashed before anything is sent, then paced as it is written.
      const data = readSmall(source, this.ctx(rel));
      if (opts.signal.aborted) throw cancelled(rel);
      sending.started = true;
      const answer = await this.http.send('PUT', url, { headers, body: data, pace: opts.pace, signal: opts.signal });
      opts.onProgress?.(data.length);
      return { answer, sent: data.length };
    }
    const src = await openSource(source, this.ctx(rel));
    try {
      const body = fileBody(src, opts);
      headers['content-length'] = body.length;
      sending.started = true;
      const answer = await this.http.send('PUT', url, { headers, body: body.writer, signal: opts.signal });
      return { answer, sent: body.sent() };
    } finally {
      await src.fh.close().catch(() => undefined);
    }
  }

  private async verifyUpload(
    rel: string,
    source: UploadSource,
    sent: number,
    put: HttpAnswer,
    signal: AbortSignal,
  ): Promise<RemoteEntry> {
    const entry: RemoteEntry = { path: rel, size: sent };
    const putEtag = etagOf(put);
    const answered = parseChecksums(headerText(put.headers['oc-checksum'])).sha256;
    if (answered !== undefined) entry.hashes = { sha256: answered };
    const look = sent >= VERIFY_BY_PROPFIND_BYTES || this.etagSurvivesMove !== true;
    if (look) {
      let found: DavResource | undefined;
      try {
        found = (await this.propfind(rel, '0', signal, false))?.[0];
      } catch (err) {
        throw err instanceof FerryError ? err.withContext(this.ctx(rel)) : err;
      }
      if (!found)
        throw new FerryError(
          'retryable',
          'verify-failed',
          `${rel}: not found on the server right after it was moved into place`,
          {
            context: this.ctx(rel),
          },
        );
      if (this.etagSurvivesMove === undefined) this.etagSurvivesMove = putEtag !== undefined && found.etag === putEtag;
      if (found.size !== undefined) entry.size = found.size;
      const version = this.versionOf(found);
      if (version !== undefined) entry.version = version;
      if (found.lastModifiedMs !== undefined) entry.mtimeMs = found.lastModifiedMs;
      if (found.checksums.sha256) entry.hashes = { sha256: found.checksums.sha256 };
    } else if (putEtag !== undefined) entry.version = putEtag;
    if (entry.hashes?.sha256 !== undefined) {
      this.verified.checksum++;
      if (entry.hashes.sha256 !== source.hashes.sha256)
        throw new FerryError('retryable', 'verify-failed', `${rel}: the server's SHA-256 does not match the file's`, {
          context: this.ctx(rel),
        });
    } else if (look) this.verified.propfind++;
    else this.verified.answer++;
    return entry;
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const rel = normalizeRemotePath(path);
    if (rel === '') throw new FerryError('invalid-name', 'empty-path', 'refusing to delete the destination root');
    const answer = await this.call('DELETE', this.url(rel), { signal }).catch((err: unknown) => {
      throw err instanceof FerryError ? err.withContext(this.ctx(rel)) : err;
    });
    if ((answer.status >= 200 && answer.status <= 299) || answer.status === 404) return;
    throw this.writeError(answer, `cannot delete ${rel}`, rel);
  }

  /** MOVE or COPY of `from` onto `to` (Overwrite: T); a missing source is `not-found`. */
  private async relocate(method: 'MOVE' | 'COPY', fromRel: string, toRel: string, signal?: AbortSignal): Promise<void> {
    await this.ensureCollection(parentOf(toRel));
    const answer = await this.call(method, this.url(fromRel), {
      headers: { destination: this.url(toRel).href, overwrite: 'T' },
      signal,
    });
    if (answer.status >= 200 && answer.status <= 299) return;
    // Some servers answer 403 or 409 rather than 404 for a missing source: look.
    if (answer.status === 404 || !(await this.stat(fromRel, signal)))
      throw new FerryError(
        'not-found',
        'not-found',
        `cannot ${method === 'MOVE' ? 'move' : 'copy'} ${fromRel}: it is not on the server`,
        {
          context: this.ctx(fromRel),
        },
      );
    throw this.writeError(answer, `cannot ${method === 'MOVE' ? 'move' : 'copy'} ${fromRel} to ${toRel}`, toRel);
  }

  async move(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const fromRel = normalizeRemotePath(from);
    const toRel = normalizeRemotePath(to);
    await this.relocate('MOVE', fromRel, toRel, signal);
    return this.landed(toRel, signal);
  }

  /** Copies to a temporary name, then moves it into place: a partial copy never shows under `to`. */
  async copy(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const fromRel = normalizeRemotePath(from);
    const toRel = normalizeRemotePath(to);
    const parent = parentOf(toRel);
    const tempRel = joinRemote(parent, tempName(this.temp, toRel.slice(parent === '' ? 0 : parent.length + 1)));
    try {
      await this.relocate('COPY', fromRel, tempRel, signal);
      await this.relocate('MOVE', tempRel, toRel, signal);
    } catch (err) {
      await this.removeQuietly(this.url(tempRel));
      throw err;
    }
    return this.landed(toRel, signal);
  }

  private async landed(rel: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const e = await this.stat(rel, signal);
    if (!e)
      throw new FerryError(
        'retryable',
        'verify-failed',
        `${rel}: not found on the server right after it was put there`,
        {
          context: this.ctx(rel),
        },
      );
    return e;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sweeps]);
    this.http.close();
  }
}

function tempName(temp: TempNames, name: string): string {
  const hex = randomBytes(8).toString('hex');
  // Keep the temporary name within the 255 bytes most file systems allow.
  return Buffer.byteLength(name) > 200 ? `${temp.head}${hex}` : `${temp.head}${hex}-${name}`;
}

function encodeSegment(s: string): string {
  return encodeURIComponent(s);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function headerText(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(' ') : (v ?? '');
}

const WEAK_VERSION = 'size-mtime:';

/** Size and modification time as a version token, for servers that give no ETag. */
function weakVersion(size: number, mtimeMs: number): string {
  return `${WEAK_VERSION}${size}:${mtimeMs}`;
}

function isWeakVersion(v: string): boolean {
  return v.startsWith(WEAK_VERSION);
}

function etagOf(answer: Pick<HttpAnswer, 'headers'>): string | undefined {
  const raw = answer.headers.etag ?? answer.headers['oc-etag'];
  const v = headerText(raw);
  return v ? normalizeEtag(v) : undefined;
}

function cancelled(rel: string): FerryError {
  return new FerryError('cancelled', 'cancelled', `upload of ${rel} was cancelled`, { context: { remotePath: rel } });
}
