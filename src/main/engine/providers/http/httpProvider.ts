import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { isCredentialHeader, type DestinationConfig } from '../../../../shared/config';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { normalizeRemotePath } from '../remotePath';
import type { ProviderDeps } from '../types';
import type { Destination, ProviderFeatures, RemoteEntry, TransferOpts, UploadSource } from '../types';
import { fileBody, openSource, readSmall, SMALL_FILE } from '../kit/fileBody';
import { bodySnippet, type HttpAnswer, HttpTransport, networkError, statusError } from '../kit/httpTransport';

export type HttpDestinationConfig = Extract<DestinationConfig, { type: 'http' }>;

/** The form field that carries the remote path when neither `path_field` nor `path_header` is set. */
export const DEFAULT_PATH_FIELD = 'path';

/**
 * An endpoint that only accepts uploads (a dispatch service, an ingestion API, a form handler).
 *
 * - `method: POST` (the default): one multipart/form-data request per file: first a text field with the
 *   remote path (`path_field`, default "path"), then the file in `field` (default "file", with its
 *   name as filename), streamed from disk with an exact Content-Length (never held in memory).
 * - `method: PUT`: the raw bytes are PUT to `url` + "/" + the remote path (percent-encoded).
 * - `path_header`: the remote path also goes in this header (percent-encoded UTF-8).
 * - Every request carries `headers`, `Authorization: Bearer <token>` when `token` is set, and
 *   `X-Ferry-Sha256` / `X-Ferry-Size` with what the file must hash to, so a receiver can check.
 *
 * Success is a 2xx answer and, with `success_field`, that field of the JSON answer being true or "ok".
 * Verification uses the answer: a JSON `{"sha256": "<hex>", "size": <bytes>}` is compared with the file
 * (by the transfer executor, as for every destination); without it, the size sent is all there is.
 * The last chunk of the body is held back until the whole file hashed to the expected SHA-256, so a
 * file that changed while being sent is never delivered whole.
 *
 * It implements the upload-only core and nothing else (types.ts): not Readable (no listing, stat or
 * download: the records of what was shipped are trusted, and a `move` rule never deletes a source on
 * the strength of this destination alone), not Removable (a mirror's deletions fail with a clear
 * message), no server-side move or copy (a rename is an upload under the new name), no resume.
 */
export class HttpUploadDestination implements Destination {
  readonly type = 'http';
  readonly features: ProviderFeatures = {
    hashes: ['sha256'],
    caseInsensitive: false,
    resumable: false,
    maxSingleUpload: Infinity,
    tags: false,
  };
  readonly id: string;
  private readonly http: HttpTransport;
  private readonly url: URL;
  private readonly method: 'POST' | 'PUT';
  private readonly field: string;
  private readonly pathField: string | undefined;
  private readonly pathHeader: string | undefined;
  private readonly successField: string | undefined;
  private readonly headers: Record<string, string>;
  private resolvedHeaders: Record<string, string> | undefined;
  private readonly tokenRef: string | undefined;
  private readonly secret: ProviderDeps['secret'];
  private token: string | undefined;
  /** Prepended to every remote path (the destination's `prefix`). */
  private readonly prefix: string;

  constructor(cfg: HttpDestinationConfig, deps: Pick<ProviderDeps, 'secret'>) {
    this.id = cfg.id;
    this.url = new URL(cfg.url);
    this.method = cfg.method ?? 'POST';
    this.field = cfg.field ?? 'file';
    this.pathHeader = cfg.path_header;
    this.pathField = cfg.path_field ?? (cfg.path_header === undefined ? DEFAULT_PATH_FIELD : undefined);
    this.successField = cfg.success_field;
    this.headers = { ...(cfg.headers ?? {}) };
    this.tokenRef = cfg.token;
    this.secret = deps.secret;
    this.prefix = cfg.prefix === undefined ? '' : normalizeRemotePath(cfg.prefix);
    this.http = new HttpTransport(this.url, { timeoutMs: cfg.timeout === undefined ? undefined : cfg.timeout * 1000 });
  }

  private ctx(rel: string): ErrorContext {
    return { destination: this.id, remotePath: rel };
  }

  /** The configured headers plus the bearer token (resolved when first needed, never logged). */
  private baseHeaders(): OutgoingHttpHeaders {
    // Credential headers hold references (the config schema refuses them in clear): resolved once.
    this.resolvedHeaders ??= Object.fromEntries(
      Object.entries(this.headers).map(([name, value]) => [
        name,
        isCredentialHeader(name) ? this.secret(value, `destination ${this.id}: header ${name}`) : value,
      ]),
    );
    const h: OutgoingHttpHeaders = { ...this.resolvedHeaders };
    if (this.tokenRef !== undefined) {
      this.token ??= this.secret(this.tokenRef, `destination ${this.id}: token`);
      h.authorization = `Bearer ${this.token}`;
    }
    return h;
  }

  private remoteOf(path: string): string {
    const rel = normalizeRemotePath(path);
    if (rel === '') throw new FerryError('invalid-name', 'empty-path', 'an upload needs a file name');
    return this.prefix === '' ? rel : `${this.prefix}/${rel}`;
  }

  /**
   * Reachable and the credentials accepted, as far as an upload-only endpoint can tell without
   * uploading: an OPTIONS request with the configured headers and token. 401/403 → auth, 404 →
   * no endpoint there; anything else answers. Writing is not probed (nothing could remove the probe).
   */
  /** OPTIONS only: it writes nothing either way. */
  async check(signal?: AbortSignal): Promise<void> {
    let answer: HttpAnswer;
    try {
      answer = await this.http.send('OPTIONS', this.url, { headers: this.baseHeaders(), signal });
    } catch (err) {
      if (err instanceof FerryError && (err.kind === 'cancelled' || err.kind === 'auth')) throw err;
      const fe = err instanceof FerryError ? err : networkError(err as NodeJS.ErrnoException, 'OPTIONS', this.url);
      throw new FerryError('retryable', 'unreachable', `destination "${this.id}": ${fe.message}`, {
        context: { destination: this.id },
        cause: err,
        hint: 'check the URL and that the upload endpoint is running and reachable from this machine',
      });
    }
    const said = bodySnippet(answer.body);
    const where = `${this.url.origin}${this.url.pathname}`;
    if (answer.status === 401 || answer.status === 403)
      throw new FerryError(
        'auth',
        'auth-failed',
        `destination "${this.id}": ${where} refused the credentials (HTTP ${answer.status}${said ? ` — ${said}` : ''})`,
        {
          context: { destination: this.id },
          hint:
            this.tokenRef === undefined
              ? 'the endpoint wants credentials: set `token` (sent as a bearer token) or an Authorization header'
              : 'check the token reference (and that the token is still valid)',
        },
      );
    if (answer.status === 404 || answer.status === 410)
      throw new FerryError(
        'not-found',
        'container-missing',
        `destination "${this.id}": there is no upload endpoint at ${where} (HTTP ${answer.status})`,
        { context: { destination: this.id }, hint: "check the destination's url" },
      );
    if (answer.status === 502 || answer.status === 503 || answer.status === 504)
      throw new FerryError(
        'retryable',
        'unreachable',
        `destination "${this.id}": ${where} is not available (HTTP ${answer.status}${said ? ` — ${said}` : ''})`,
        { context: { destination: this.id }, hint: 'the server behind the endpoint is down: try again later' },
      );
  }

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const remote = this.remoteOf(path);
    const rel = normalizeRemotePath(path);
    const ctx = this.ctx(rel);
    if (opts.signal.aborted)
      throw new FerryError('cancelled', 'cancelled', `upload of ${rel} was cancelled`, { context: ctx });
    const headers = this.baseHeaders();
    headers['x-ferry-sha256'] = source.hashes.sha256;
    headers['x-ferry-size'] = String(source.size);
    if (this.pathHeader) headers[this.pathHeader.toLowerCase()] = encodeURIComponent(remote).replace(/%2F/g, '/');
    let target = this.url;
    let frame: { head?: Buffer; tail?: Buffer } = {};
    if (this.method === 'PUT') {
      const base = this.url.pathname.endsWith('/') ? this.url.pathname : `${this.url.pathname}/`;
      target = new URL(`${base}${remote.split('/').map(encodeURIComponent).join('/')}${this.url.search}`, this.url);
      headers['content-type'] = 'application/octet-stream';
    } else {
      const boundary = `----ferry${randomBytes(12).toString('hex')}`;
      const name = remote.slice(remote.lastIndexOf('/') + 1);
      const parts: string[] = [];
      if (this.pathField !== undefined)
        parts.push(
          `--${boundary}\r\nContent-Disposition: form-data; name="${formName(this.pathField)}"\r\n\r\n${remote}\r\n`,
        );
      parts.push(
        `--${boundary}\r\nContent-Disposition: form-data; name="${formName(this.field)}"; filename="${formName(name)}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
      frame = { head: Buffer.from(parts.join(''), 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
    }
    let answer: HttpAnswer;
    let sent: number;
    if (source.size <= SMALL_FILE) {
      // Read, checked and hashed before anything is sent: a replayable body, paced as it is written.
      const data = readSmall(source, ctx);
      const body = frame.head ? Buffer.concat([frame.head, data, frame.tail ?? Buffer.alloc(0)]) : data;
      try {
        answer = await this.http.send(this.method, target, { headers, body, pace: opts.pace, signal: opts.signal });
      } catch (err) {
        throw err instanceof FerryError
          ? err.withContext(ctx)
          : networkError(err as NodeJS.ErrnoException, this.method, target, ctx);
      }
      sent = data.length;
      opts.onProgress?.(sent);
    } else {
      const src = await openSource(source, ctx);
      try {
        const body = fileBody(src, opts, frame);
        headers['content-length'] = body.length;
        answer = await this.http.send(this.method, target, { headers, body: body.writer, signal: opts.signal });
        sent = body.sent();
      } catch (err) {
        throw err instanceof FerryError
          ? err.withContext(ctx)
          : networkError(err as NodeJS.ErrnoException, this.method, target, ctx);
      } finally {
        await src.fh.close().catch(() => undefined);
      }
    }
    if (answer.status < 200 || answer.status > 299) throw statusError(answer, `cannot upload ${rel}`, ctx);
    return this.accepted(rel, sent, answer);
  }

  /** What a 2xx answer says: success_field, and the sha256/size it reports for verification. */
  private accepted(rel: string, sent: number, answer: HttpAnswer): RemoteEntry {
    const ctx = this.ctx(rel);
    let json: Record<string, unknown> | undefined;
    const text = answer.body.toString('utf8').trim();
    if (text.startsWith('{')) {
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    }
    if (this.successField !== undefined) {
      const v = json?.[this.successField];
      const ok = v === true || (typeof v === 'string' && v.toLowerCase() === 'ok');
      if (!ok)
        throw new FerryError(
          'permanent',
          'upload-refused',
          `cannot upload ${rel}: the endpoint answered HTTP ${answer.status} without "${this.successField}": true` +
            `${text ? ` — ${bodySnippet(answer.body)}` : ''}`,
          { context: ctx, hint: 'the receiver did not accept the file: see its message, or its logs' },
        );
    }
    const entry: RemoteEntry = { path: rel, size: sent };
    if (typeof json?.size === 'number') entry.size = json.size;
    if (typeof json?.sha256 === 'string' && /^[0-9a-fA-F]{64}$/.test(json.sha256))
      entry.hashes = { sha256: json.sha256.toLowerCase() };
    const etag = answer.headers.etag;
    if (typeof etag === 'string') entry.version = etag;
    return entry;
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

/** A value for a quoted Content-Disposition parameter, as browsers send it (RFC 7578 §4.2). */
function formName(s: string): string {
  return s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
