import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import type { IncomingHttpHeaders } from 'node:http';
import type { Pace } from '../kit/pacedBody';
import { HttpTransport } from '../kit/httpTransport';

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
  private readonly signer: SignatureV4;

  constructor(
    endpoint: string,
    private readonly bucket: string,
    region: string,
    keys: () => PutKeys,
    idleTimeoutMs: number,
  ) {
    const url = new URL(endpoint);
    this.http = new HttpTransport(new URL(url.origin), { timeoutMs: idleTimeoutMs });
    this.basePath = url.pathname.replace(/\/+$/, '');
    // The SDK's own signer, without the SDK's request pipeline around it. S3 paths are signed as sent
    // (encoded once, here); the payload hash is the header we set, so the signer never hashes the body.
    this.signer = new SignatureV4({
      service: 's3',
      region,
      credentials: async () => keys(),
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
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
    pace?: Pace,
  ): Promise<PutAnswer> {
    const path = `${this.basePath}/${encodeSegment(this.bucket)}/${key.split('/').map(encodeSegment).join('/')}`;
    const url = new URL(path, this.http.origin);
    const signed = await this.signer.sign({
      method: 'PUT',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== '' ? { port: Number(url.port) } : {}),
      path,
      query: {},
      headers: {
        ...headers,
        host: url.host,
        'content-length': String(body.length),
        'x-amz-content-sha256': sha256,
      },
    });
    return this.http.send('PUT', url, { headers: signed.headers, body, pace, signal, maxBody: 64 * 1024 });
  }

  close(): void {
    this.http.close();
  }
}

/** SHA-256 (and HMAC-SHA-256 when given a secret) from node:crypto, in the shape the signer asks for. */
export class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.make();
  }

  private make(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.make();
  }
}

function bytes(data: SourceData): Uint8Array | string {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
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
