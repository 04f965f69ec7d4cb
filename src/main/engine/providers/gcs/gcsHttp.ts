import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { FerryError } from '../../../../shared/errors';
import { PACE_SLICE } from '../kit/pacedBody';
import { GcsHttpError } from './gcsErrors';

export type RawResponse = { status: number; headers: IncomingHttpHeaders; body: string };

export type RawRequest = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string | number>;
  /** Sent in pieces of at most `piece` bytes (PACE_SLICE with `pace`), each after `pace(bytes)` resolves. */
  body?: Buffer;
  piece?: number;
  pace?: (bytes: number) => Promise<void>;
  /** Bytes of the body handed to the socket so far. */
  onWritten?: (bytes: number) => void;
  signal?: AbortSignal;
  /** A connection silent for this long is given up (default 60 s). */
  idleTimeoutMs?: number;
};

/**
 * The data plane the SDK does not expose one request at a time: multipart uploads and the chunks and
 * status queries of a resumable session. Keep-alive agents are reused; `close()` drops them.
 */
export class RawHttp {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 16 });

  send(r: RawRequest): Promise<RawResponse> {
    const u = new URL(r.url);
    const tls = u.protocol === 'https:';
    // Under a cap, slices small enough that one booking never bursts past a 3 s window's share.
    const piece = r.pace ? Math.min(r.piece ?? PACE_SLICE, PACE_SLICE) : (r.piece ?? 1024 * 1024);
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, res?: RawResponse) => {
        if (settled) return;
        settled = true;
        r.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res as RawResponse);
      };
      const onAbort = () => {
        req.destroy();
        finish(new FerryError('cancelled', 'cancelled', 'cancelled'));
      };
      const req = (tls ? httpsRequest : httpRequest)(
        u,
        {
          method: r.method,
          agent: tls ? this.https : this.http,
          headers: { ...r.headers, 'content-length': r.body?.length ?? 0 },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            finish(undefined, {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(parts).toString('utf8'),
            }),
          );
          res.on('error', (e) => finish(e));
          res.on('aborted', () => finish(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
        },
      );
      req.setTimeout(r.idleTimeoutMs ?? 60_000, () =>
        req.destroy(
          Object.assign(new Error(`no answer for ${(r.idleTimeoutMs ?? 60_000) / 1000} s`), { code: 'ETIMEDOUT' }),
        ),
      );
      req.on('error', (e) => finish(e));
      if (r.signal?.aborted) return onAbort();
      r.signal?.addEventListener('abort', onAbort, { once: true });
      const body = r.body;
      if (!body || body.length === 0) {
        req.end();
        return;
      }
      void (async () => {
        let off = 0;
        while (off < body.length && !settled) {
          const n = Math.min(piece, body.length - off);
          if (r.pace) await r.pace(n);
          if (settled) return;
          const ok = req.write(body.subarray(off, off + n));
          off += n;
          r.onWritten?.(off);
          if (!ok && off < body.length)
            await new Promise<void>((res) => {
              const go = () => {
                req.off('drain', go);
                req.off('close', go);
                res();
              };
              req.on('drain', go);
              req.on('close', go);
            });
        }
        if (!settled) req.end();
      })().catch((e: unknown) => {
        req.destroy();
        finish(e as Error);
      });
    });
  }

  /** Like send, but any answer other than `ok` statuses becomes a GcsHttpError. */
  async expect(r: RawRequest, ok: readonly number[]): Promise<RawResponse> {
    const res = await this.send(r);
    if (!ok.includes(res.status)) throw new GcsHttpError(res.status, res.headers, res.body);
    return res;
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
