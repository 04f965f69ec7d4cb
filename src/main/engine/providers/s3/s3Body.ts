import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** How much is handed to the socket between two calls of `pace` (the bandwidth cap's grain). */
export const SEND_CHUNK = 16 * 1024;

/**
 * A request body over bytes already read and hashed: what goes on the wire is exactly what was
 * hashed. `pace` is awaited before each chunk (the bandwidth cap, the pause); if it throws, `fail`
 * is told so that the request can be torn down (a body stream's error does not end the request).
 */
export function pacedBody(
  buf: Buffer,
  pace: ((bytes: number) => Promise<void>) | undefined,
  onBytes: (n: number) => void,
  fail: (err: unknown) => void,
): Readable {
  let off = 0;
  return new Readable({
    highWaterMark: SEND_CHUNK,
    read() {
      if (off >= buf.length) {
        this.push(null);
        return;
      }
      const n = Math.min(SEND_CHUNK, buf.length - off);
      const chunk = buf.subarray(off, off + n);
      off += n;
      const go = () => {
        onBytes(n);
        this.push(chunk);
      };
      if (!pace) go();
      else
        pace(n).then(go, (err: unknown) => {
          fail(err);
          this.destroy(err instanceof Error ? err : new Error(String(err)));
        });
    },
  });
}

export const md5hex = (b: Buffer): string => createHash('md5').update(b).digest('hex');
export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** An ETag without its quotes (S3 sends `"…"`; lists and heads agree once unquoted). */
export function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, '').replace(/"/g, '');
}

/** The multipart ETag real S3 computes: MD5 over the parts' binary MD5s, then "-" and the part count. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const h = createHash('md5');
  for (const m of partMd5s) h.update(Buffer.from(m, 'hex'));
  return `${h.digest('hex')}-${partMd5s.length}`;
}
