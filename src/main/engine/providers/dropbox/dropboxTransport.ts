import { PacedBody } from '../kit/pacedBody';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import nodeFetch, { Response, type RequestInit } from 'node-fetch';
import { FerryError } from '../../../../shared/errors';

/**
 * How the Dropbox SDK reaches Dropbox. The SDK always builds https://api.dropboxapi.com/… and
 * https://content.dropboxapi.com/… URLs (its `domain` option cannot say http or a port), so a gateway
 * or an emulator is reached by rewriting those origins to `endpoint`, keeping the path. The SDK 10.34
 * reads downloads with `res.buffer()`, which only node-fetch's responses have: requests go through
 * node-fetch. Each request carries the operation's AbortSignal and a timeout (a stalled answer must
 * not hold a transfer slot forever), over keep-alive connections.
 *
 * Answers are read here, from the connection, whole: node-fetch 2's own body stream is not used,
 * because (a) it notices a connection that closes in the middle of an answer only for chunked answers
 * (with a Content-Length it waits for its timeout), and (b) on a reused keep-alive connection its
 * check for a bad chunked ending can fire on a complete answer and destroy the body before anyone
 * read it, which left the request waiting forever. A connection that ends before its answer does fails
 * the request at once ("Premature close"); the pool retries it.
 */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** Node's Agent#addRequest (public behaviour, absent from @types/node): how a request gets its socket. */
type AddRequest = (req: ClientRequest, opts: unknown) => void;

export const DROPBOX_ORIGINS = [
  'https://api.dropboxapi.com',
  'https://content.dropboxapi.com',
  'https://notify.dropboxapi.com',
] as const;

/** Dropbox's origin replaced by `endpoint` (which may carry a path of its own); other URLs unchanged. */
export function rewriteUrl(url: string, endpoint: string | undefined): string {
  if (!endpoint) return url;
  const base = endpoint.replace(/\/+$/, '');
  for (const origin of DROPBOX_ORIGINS)
    if (url === origin || url.startsWith(`${origin}/`)) return base + url.slice(origin.length);
  return url;
}

export class Transport {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });

  constructor(
    private readonly endpoint: string | undefined,
    /** Without a byte of answer for this long, a request is given up (and retried by the pool). */
    private readonly timeoutMs = 120_000,
  ) {}

  /**
   * A fetch for one operation: Dropbox's URLs rewritten, `signal` applied to every request, and a
   * timeout (`timeoutMs`, the transport's unless given: a longpoll waits longer) that restarts with every piece of the answer that arrives (node-fetch's own `timeout` is not
   * used: when an answer's body fails, node-fetch 2.7 leaves that timer running, which keeps a finished
   * process alive until it fires).
   */
  fetch(signal?: AbortSignal, timeoutMs = this.timeoutMs): FetchLike {
    return async (url, init = {}) => {
      const target = rewriteUrl(url, this.endpoint);
      const shared = target.startsWith('https:') ? this.httpsAgent : this.httpAgent;
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs);
      };
      let answered!: (body: Buffer) => void;
      let cut!: (err: Error) => void;
      const answer = new Promise<Buffer>((resolve, reject) => {
        answered = resolve;
        cut = reject;
      });
      answer.catch(() => undefined);
      // The shared keep-alive agent, seen through an object that reads this one request's answer.
      const agent = Object.create(shared) as HttpAgent & { addRequest: AddRequest };
      agent.addRequest = (req: ClientRequest, opts: unknown) => {
        req.once('response', (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            arm();
          });
          res.once('end', () => answered(Buffer.concat(chunks)));
          res.once('close', () => {
            if (!res.complete)
              cut(
                Object.assign(new Error('Premature close: the connection ended before the answer did'), {
                  code: 'ERR_STREAM_PREMATURE_CLOSE',
                }),
              );
          });
        });
        (shared as unknown as { addRequest: AddRequest }).addRequest(req, opts);
      };
      arm();
      try {
        const res = await nodeFetch(target, {
          ...init,
          // node-fetch cannot tell a stream's length: without it the body would go chunked.
          ...(init.body instanceof PacedBody
            ? { headers: { ...(init.headers as Record<string, string>), 'Content-Length': String(init.body.size) } }
            : {}),
          agent,
          // Dropbox's API does not redirect: an answer is the answer of this request.
          redirect: 'manual',
          // node-fetch 2 types its own AbortSignal; Node's is the same contract.
          signal: controller.signal as NonNullable<RequestInit['signal']>,
        });
        // node-fetch's copy of the body is not read (see above): let it flow away.
        res.body.on('error', () => undefined);
        res.body.resume();
        const body = await answer;
        return new Response(body, {
          status: res.status,
          statusText: res.statusText,
          headers: res.headers,
          url: res.url,
        });
      } catch (err) {
        if (timedOut)
          throw Object.assign(new Error(`no answer from ${new URL(target).host} for ${timeoutMs / 1000} s`), {
            code: 'ETIMEDOUT',
          });
        throw err;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    };
  }

  /**
   * One POST whose answer is handed over as a stream (files/download: the body may be many GB and is
   * written to disk as it comes). The answer's pieces must keep coming: `timeoutMs` without a byte ends
   * the request (ETIMEDOUT), as `fetch` does.
   */
  request(
    url: string,
    init: { headers: Record<string, string>; signal?: AbortSignal | undefined; timeoutMs?: number },
  ): Promise<IncomingMessage> {
    const target = new URL(rewriteUrl(url, this.endpoint));
    const https = target.protocol === 'https:';
    const timeoutMs = init.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(target, {
        method: 'POST',
        agent: https ? this.httpsAgent : this.httpAgent,
        headers: init.headers,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          Object.assign(new Error(`no answer from ${target.host} for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }),
        ),
      );
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A request that got no answer: refused, reset, timed out. Retrying may help; `check` calls it unreachable. */
export function networkError(err: unknown, what: string): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as Error & { code?: string; type?: string };
  if (e.name === 'AbortError') return new FerryError('cancelled', 'cancelled', `${what}: cancelled`, { cause: err });
  const detail = e.code ?? e.type ?? e.message ?? String(err);
  return new FerryError('retryable', 'unreachable', `${what}: ${e.message ?? detail}`, {
    cause: err,
    hint: "check the network connection (and the destination's endpoint, if it sets one)",
  });
}
