import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { pacedSlices, type Pace } from './pacedBody';
import { LOST_CODES, UNREACHABLE_CODES } from './networkErrors';
import { parseRetryAfter } from './retryAfter';

/**
 * The HTTP plumbing shared by the WebDAV and HTTP-upload destinations (and S3's direct PUTs): one keep-alive agent per
 * destination (sockets are reused across requests, so a small file costs no TCP handshake), streamed
 * request bodies with backpressure, an inactivity timeout, cancellation, and the classification of
 * network failures and status codes into FerryError kinds. No retries with backoff here: those are the
 * transfer pool's. The one exception is the standard keep-alive rule: a request with a replayable body
 * that fails on a *reused* socket before any answer (the server closed an idle connection) is sent
 * once more on a fresh one.
 */

/** Writes a request body (with backpressure) and ends the request; rejects to abandon the request. */
export type BodyWriter = (req: ClientRequest) => Promise<void>;

export type SendOptions = {
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string | BodyWriter;
  /** A Buffer body is then sent slice by slice, each once `pace` lets it go (the bandwidth cap). */
  pace?: Pace | undefined;
  signal?: AbortSignal | undefined;
  /** Largest answer body collected (beyond it the rest is dropped); default 64 MiB. */
  maxBody?: number;
};

export type HttpAnswer = { status: number; headers: IncomingHttpHeaders; body: Buffer };

const DEFAULT_TIMEOUT_MS = 60_000;
/** Status codes after which a request is worth sending again later. */
const RETRY_STATUS = new Set([408, 425, 500, 502, 503, 504]);

export class HttpTransport {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly requestFn: typeof httpRequest;
  private readonly timeoutMs: number;

  constructor(
    readonly origin: URL,
    opts: { timeoutMs?: number | undefined; maxSockets?: number } = {},
  ) {
    const https = origin.protocol === 'https:';
    if (!https && origin.protocol !== 'http:')
      throw new FerryError('permanent', 'bad-url', `${origin.href}: only http:// and https:// URLs are supported`);
    // Sockets stay open between requests; the pool's concurrency (at most 64 transfers) decides how
    // many are in use at once, and every idle one is kept for the next request.
    const agentOpts = {
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxSockets: opts.maxSockets ?? 64,
      maxFreeSockets: opts.maxSockets ?? 64,
      scheduling: 'lifo' as const,
    };
    this.agent = https ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    this.requestFn = https ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Sends a request and collects the whole answer. */
  async send(method: string, url: URL, opts: SendOptions = {}): Promise<HttpAnswer> {
    return this.exchange(method, url, opts, (res) => collect(res, opts.maxBody ?? 64 * 1024 * 1024));
  }

  /**
   * Sends a request and hands the answer's stream to `handle` (downloads). The inactivity timeout and
   * the signal keep applying while `handle` reads.
   */
  async exchange<T>(
    method: string,
    url: URL,
    opts: SendOptions,
    handle: (res: IncomingMessage) => Promise<T>,
  ): Promise<T> {
    const replayable = typeof opts.body !== 'function';
    try {
      return await this.once(method, url, opts, handle);
    } catch (err) {
      if (replayable && err instanceof StaleSocket) return this.once(method, url, opts, handle);
      if (err instanceof StaleSocket) throw err.original;
      throw err;
    }
  }

  private once<T>(
    method: string,
    url: URL,
    opts: SendOptions,
    handle: (res: IncomingMessage) => Promise<T>,
  ): Promise<T> {
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(cancelledError(url, method));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const headers: OutgoingHttpHeaders = { ...opts.headers };
      const body = opts.body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) headers['content-length'] = Buffer.byteLength(body);
      else if (body === undefined && methodMayHaveBody(method)) headers['content-length'] = 0;
      const req = this.requestFn(url, { method, headers, agent: this.agent });
      const onAbort = () => {
        req.destroy();
        finish(() => reject(cancelledError(url, method)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no progress for ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (signal?.aborted) return finish(() => reject(cancelledError(url, method)));
        const stale =
          !answered &&
          req.reusedSocket &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'ECONNABORTED');
        finish(() => reject(stale ? new StaleSocket(networkError(err, method, url)) : networkError(err, method, url)));
      });
      // A safety net: a request that closes without an answer or an error still settles.
      req.on('close', () => {
        if (!answered)
          finish(() =>
            reject(
              signal?.aborted
                ? cancelledError(url, method)
                : networkError(
                    Object.assign(new Error('the connection closed before an answer'), { code: 'ECONNRESET' }),
                    method,
                    url,
                  ),
            ),
          );
      });
      req.on('response', (res) => {
        answered = true;
        res.on('error', () => undefined);
        handle(res).then(
          (v) => {
            // An answer before the whole body was sent (an early refusal): the socket cannot be reused.
            if (!req.writableEnded) req.destroy();
            finish(() => resolve(v));
          },
          (err: unknown) => {
            req.destroy();
            finish(() =>
              reject(
                signal?.aborted
                  ? cancelledError(url, method)
                  : err instanceof FerryError
                    ? err
                    : networkError(err as NodeJS.ErrnoException, method, url),
              ),
            );
          },
        );
      });
      const pace = opts.pace;
      const write: BodyWriter | undefined =
        typeof body === 'function'
          ? body
          : Buffer.isBuffer(body) && pace
            ? async (r) => {
                for await (const slice of pacedSlices(body, pace)) await writeChunk(r, slice);
                await endRequest(r);
              }
            : undefined;
      if (write)
        write(req).then(
          () => undefined,
          (err: unknown) => {
            req.destroy();
            finish(() =>
              reject(
                signal?.aborted && !(err instanceof FerryError && err.kind === 'source-changed')
                  ? cancelledError(url, method)
                  : err,
              ),
            );
          },
        );
      else req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

class StaleSocket extends Error {
  constructor(readonly original: FerryError) {
    super(original.message);
  }
}

function methodMayHaveBody(method: string): boolean {
  return method === 'PUT' || method === 'POST' || method === 'PROPFIND' || method === 'PATCH';
}

async function collect(res: IncomingMessage, max: number): Promise<HttpAnswer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < max) chunks.push(chunk);
    size += chunk.length;
  }
  if (!res.complete)
    throw Object.assign(new Error('the connection closed before the whole answer arrived'), { code: 'ECONNRESET' });
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
}

/** Writes one chunk, waiting for the socket to drain when its buffer is full. */
export function writeChunk(req: ClientRequest, chunk: Buffer): Promise<void> {
  const closed = () => Object.assign(new Error('the connection closed'), { code: 'ECONNRESET' });
  if (req.destroyed) return Promise.reject(closed());
  if (req.write(chunk)) return Promise.resolve();
  if (req.destroyed) return Promise.reject(closed());
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      req.off('drain', onDrain);
      req.off('close', onClose);
      req.off('error', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(closed());
    req.on('drain', onDrain);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}

/** Ends the request body and waits until it has been handed to the socket (or the request died). */
export function endRequest(req: ClientRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    if (req.destroyed) return reject(Object.assign(new Error('the connection closed'), { code: 'ECONNRESET' }));
    const onClose = () => {
      req.off('finish', onFinish);
      reject(Object.assign(new Error('the connection closed'), { code: 'ECONNRESET' }));
    };
    const onFinish = () => {
      req.off('close', onClose);
      resolve();
    };
    req.once('finish', onFinish);
    req.once('close', onClose);
    req.end();
  });
}

export function cancelledError(url: URL, method: string): FerryError {
  return new FerryError('cancelled', 'cancelled', `${method} ${decodeURI(url.pathname)} was cancelled`);
}

export function networkError(
  err: NodeJS.ErrnoException,
  method: string,
  url: URL,
  context: ErrorContext = {},
): FerryError {
  if (err instanceof FerryError) return err;
  const code = err.code ?? 'ENETWORK';
  const where = `${url.protocol}//${url.host}`;
  if (UNREACHABLE_CODES.has(code))
    return new FerryError('retryable', 'unreachable', `cannot reach ${where} (${code})`, {
      context,
      cause: err,
      hint: 'check the URL and that the server is running and reachable from this machine',
    });
  // A broken connection, a timeout or a garbled answer: the next attempt may well go through.
  return new FerryError(
    'retryable',
    LOST_CODES.has(code) ? code : `network-${code}`,
    `${method} ${decodeURI(url.pathname)} on ${where}: ${err.message}`,
    { context, cause: err },
  );
}

/** A short, printable excerpt of an answer body (the server's own words), or ''. */
export function bodySnippet(body: Buffer, max = 300): string {
  if (body.length === 0) return '';
  let text = body.subarray(0, max * 4).toString('utf8');
  // Prefer a JSON message field when there is one.
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    for (const k of ['message', 'error', 'detail', 'reason'])
      if (typeof j[k] === 'string') return (j[k] as string).slice(0, max);
    const e = j.error as Record<string, unknown> | undefined;
    if (e && typeof e.message === 'string') return e.message.slice(0, max);
  } catch {
    // not JSON
  }
  // An XML or HTML error page: its text only.
  const m = /<(?:[a-z]+:)?message>([^<]*)</i.exec(text);
  if (m?.[1]) text = m[1];
  else if (/^\s*</.test(text)) text = text.replace(/<[^>]*>/g, ' ');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Classifies an HTTP status the generic way: 429 → rate-limited, 5xx → retryable (both with the
 * server's Retry-After), 401 → auth, 403 → auth (or what `forbidden` says), 404 → not-found,
 * 409/412 → conflict, 413 → permanent (too large), 507 → quota, other 4xx → permanent.
 */
export function statusError(
  answer: Pick<HttpAnswer, 'status' | 'headers' | 'body'>,
  what: string,
  context: ErrorContext,
  opts: { forbidden?: { code: string; hint: string } } = {},
): FerryError {
  const { status, headers } = answer;
  const said = bodySnippet(answer.body);
  const message = `${what}: HTTP ${status}${said ? ` — ${said}` : ''}`;
  const after = parseRetryAfter(headers['retry-after']);
  const retry = after === undefined ? {} : { retryAfterMs: after };
  if (status === 429)
    return new FerryError('rate-limited', 'rate-limited', message, {
      context,
      ...retry,
      hint: 'the server asked Ferry to slow down: it will try again later (fewer transfers may help)',
    });
  if (status === 503 && after !== undefined)
    return new FerryError('rate-limited', 'unavailable', message, { context, ...retry });
  if (RETRY_STATUS.has(status) || (status >= 500 && status !== 501 && status !== 505 && status !== 507))
    return new FerryError('retryable', `http-${status}`, message, { context, ...retry });
  switch (status) {
    case 401:
      return new FerryError('auth', 'auth-failed', message, {
        context,
        hint: 'the server refused the credentials: check the user name and the password (or token) reference',
      });
    case 403:
      return new FerryError('auth', opts.forbidden?.code ?? 'forbidden', message, {
        context,
        hint: opts.forbidden?.hint ?? 'the account may not do this here: check its permissions on the server',
      });
    case 404:
    case 410:
      return new FerryError('not-found', 'not-found', message, { context });
    case 409:
    case 412:
    case 423:
      return new FerryError('conflict', status === 423 ? 'locked' : 'conflict', message, { context });
    case 413:
      return new FerryError('permanent', 'too-large', message, {
        context,
        hint: 'the server refuses files this large: raise its upload limit, or exclude such files from the rule',
      });
    case 414:
      return new FerryError('invalid-name', 'name-too-long', message, {
        context,
        hint: 'the path is too long for this server: shorten it with a path template',
      });
    case 507:
      return new FerryError('quota', 'quota', message, {
        context,
        hint: 'the destination is full: free some space or raise the quota, then sync again',
      });
    default:
      return new FerryError('permanent', `http-${status}`, message, { context });
  }
}
