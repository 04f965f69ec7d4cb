import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpTransport } from '../http/httpTransport';

/**
 * A PutObject of a small body, signed here (AWS Signature V4) and sent on a keep-alive agent, without
 * the SDK: its middleware stack costs about a millisecond of CPU per request, more than the rest of a
 * 64 KiB upload together. Used only where the address is plain (an endpoint with path-style buckets)
 * and the keys are given; everything else, and every other call, goes through the SDK.
 */
export type PutKeys = { accessKeyId: string; secretAccessKey: string };

export type PutAnswer = { status: number; headers: IncomingHttpHeaders; body: Buffer };

export class DirectPut {
  private readonly http: HttpTransport;
  private readonly basePath: string;
  private signingKey: { scope: string; key: Buffer } | undefined;

  constructor(
    endpoint: string,
    private readonly bucket: string,
    private readonly region: string,
    private readonly keys: () => PutKeys,
    idleTimeoutMs: number,
  ) {
    const url = new URL(endpoint);
    this.http = new HttpTransport(new URL(url.origin), { timeoutMs: idleTimeoutMs });
    this.basePath = url.pathname.replace(/\/+$/, '');
  }

  /**
   * Sends `body` to `key`. `sha256` (hex) is the body's, already checked against it: it is signed as
   * x-amz-content-sha256, so the server refuses other bytes (as Content-MD5 makes it do too).
   * Network failures reject (FerryError from the transport); any answer resolves, for the caller to judge.
   */
  async put(
    key: string,
    body: Buffer,
    sha256: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<PutAnswer> {
    const path = `${this.basePath}/${encodeSegment(this.bucket)}/${key.split('/').map(encodeSegment).join('/')}`;
    const url = new URL(path, this.http.origin);
    const all: Record<string, string> = {
      ...headers,
      host: url.host,
      'content-length': String(body.length),
      'x-amz-content-sha256': sha256,
    };
    all.authorization = this.sign('PUT', path, all, new Date());
    return this.http.send('PUT', url, { headers: all, body, signal, maxBody: 64 * 1024 });
  }

  /** Adds x-amz-date and returns the Authorization header for these (lower-case) headers. */
  private sign(method: string, path: string, headers: Record<string, string>, now: Date): string {
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    headers['x-amz-date'] = amzDate;
    const names = Object.keys(headers)
      .map((n) => n.toLowerCase())
      .sort();
    const canonicalHeaders = names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
    const signed = names.join(';');
    const canonical = [method, path, '', canonicalHeaders, signed, headers['x-amz-content-sha256']].join('\n');
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join(
      '\n',
    );
    const { accessKeyId, secretAccessKey } = this.keys();
    // The signing key depends only on the day, region and secret: derived once a day, not per request.
    if (this.signingKey?.scope !== `${scope}:${secretAccessKey}`) {
      const hmac = (k: string | Buffer, v: string) => createHmac('sha256', k).update(v).digest();
      const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), this.region), 's3'), 'aws4_request');
      this.signingKey = { scope: `${scope}:${secretAccessKey}`, key };
    }
    const signature = createHmac('sha256', this.signingKey.key).update(toSign).digest('hex');
    return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
  }

  close(): void {
    this.http.close();
  }
}

/** RFC 3986 encoding of one path segment, as SigV4 wants it (S3 keys are not encoded twice). */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The S3 error code and message of an error answer's XML body, when it has them. */
export function errorOf(body: Buffer): { code?: string; message?: string } {
  const text = body.subarray(0, 4096).toString('utf8');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
}
