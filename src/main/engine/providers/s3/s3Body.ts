import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PacedBody, type Pace } from '../kit/pacedBody';

/**
 * A request body over bytes already read and hashed, paced slice by slice (see PacedBody): if `pace`
 * throws, `fail` is told so that the request can be torn down.
 */
export function pacedBody(
  buf: Buffer,
  pace: Pace | undefined,
  onBytes: (n: number) => void,
  fail: (err: unknown) => void,
): Readable {
  return new PacedBody(buf, pace, onBytes, fail);
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
