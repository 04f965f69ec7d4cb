import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import type { TransferOpts, UploadSource } from '../types';
import { hexToBase64, md5hex, multipartEtag, pacedBody, unquote } from './s3Body';
import { classify, errorInfo } from './s3Errors';
import type { S3Context } from './s3Provider';

const MAX_PARTS = 10_000;
const MiB = 1024 * 1024;

/** What is remembered (in the resume store) about an unfinished multipart upload, after each acknowledged part. */
export type MultipartState = {
  v: 1;
  uploadId: string;
  key: string;
  size: number;
  partSize: number;
  parts: { n: number; etag: string; md5: string }[];
};

function isState(x: unknown, key: string, size: number): x is MultipartState {
  const s = x as Partial<MultipartState> | undefined;
  return (
    s?.v === 1 &&
    typeof s.uploadId === 'string' &&
    s.key === key &&
    s.size === size &&
    typeof s.partSize === 'number' &&
    Array.isArray(s.parts)
  );
}

/** 8 MiB parts by default, larger (whole MiB) when the file would need more than S3's 10,000 parts. */
export function partSizeFor(size: number, preferred: number): number {
  const min = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(preferred, min);
}

/** An object encrypted with KMS or a customer key has an ETag that is no MD5. */
function opaque(r: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): boolean {
  return (r.ServerSideEncryption ?? '').startsWith('aws:kms') || r.SSECustomerAlgorithm !== undefined;
}

/** Whether an answer means "the server does not do that" rather than "that failed". */
function unsupported(err: unknown): boolean {
  const { status, code } = errorInfo(err);
  return status === 405 || status === 501 || code === 'NotImplemented' || code === 'MethodNotAllowed';
}

/**
 * A multipart upload: parts read in order (hashing the whole file and each part as they are read),
 * sent `partConcurrency` at a time, each with its Content-MD5 and its ETag checked against that MD5.
 * After each acknowledged part the state goes to the resume store, so a restart continues the same
 * upload: the parts the server still holds are read and hashed again locally but not sent again.
 * The object becomes visible only at CompleteMultipartUpload, which happens only when the SHA-256 of
 * every byte is the index's; otherwise the upload is aborted and `source-changed` thrown.
 */
export async function uploadMultipart(
  s3: S3Context,
  path: string,
  key: string,
  source: UploadSource,
  opts: TransferOpts,
): Promise<{ etag: string | undefined; single: false }> {
  const ctx: ErrorContext = s3.ctx(path);
  const { client, bucket, deps } = s3;
  const sha256 = source.hashes.sha256;
  const fail = (err: unknown, what: string) => classify(err, `${what} ${path}`, ctx, opts.signal);

  let fh: FileHandle;
  try {
    fh = await open(source.absPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FerryError('source-changed', 'source-gone', `${source.absPath} is gone`, { context: ctx, cause: err });
    throw new FerryError('permanent', 'read-failed', `cannot read ${source.absPath}: ${(err as Error).message}`, {
      context: ctx,
      cause: err,
    });
  }
  try {
    const st = await fh.stat();
    if (st.size !== source.size)
      throw new FerryError('source-changed', 'source-changed', `${source.absPath} changed since it was scanned`, {
        context: { ...ctx, path: source.absPath },
      });

    // ---- an upload to continue, or a new one ----
    let state = await resumable(s3, path, key, source, opts);
    if (!state) {
      await abortStale(s3, path, key, sha256, opts.signal);
      let uploadId: string | undefined;
      try {
        const res = await client.send(
          new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...s3.objectParams(source) }),
          { abortSignal: opts.signal },
        );
        uploadId = res.UploadId;
      } catch (err) {
        throw fail(err, 'cannot start the upload of');
      }
      if (!uploadId) throw new FerryError('retryable', 'no-upload-id', `the server gave no upload id for ${path}`);
      state = {
        v: 1,
        uploadId,
        key,
        size: source.size,
        partSize: partSizeFor(source.size, s3.tuning.partSize),
        parts: [],
      };
      deps.resume.save(s3.id, path, sha256, state);
    }
    const st8 = state;
    const partCount = Math.max(1, Math.ceil(source.size / st8.partSize));
    const done = new Map(st8.parts.map((p) => [p.n, p]));

    // ---- read, hash, send ----
    const whole = createHash('sha256');
    // The whole file's MD5 (some stores' multipart ETag): the index's once the SHA-256 proves the
    // bytes are the indexed ones, else computed here.
    const wholeMd5Hash = source.hashes.md5 === undefined ? createHash('md5') : undefined;
    const partMd5s: string[] = [];
    let progress = 0;
    const report = (n: number) => {
      progress += n;
      opts.onProgress?.(progress);
    };
    const inFlight = new Set<Promise<void>>();
    let firstError: unknown;
    const local = new AbortController();
    const signal = AbortSignal.any([opts.signal, local.signal]);

    for (let n = 1; n <= partCount && firstError === undefined && !signal.aborted; n++) {
      const offset = (n - 1) * st8.partSize;
      const len = Math.min(st8.partSize, source.size - offset);
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got !== len) {
        firstError = new FerryError('source-changed', 'source-changed', `${source.absPath} shrank while it was read`, {
          context: { ...ctx, path: source.absPath },
        });
        break;
      }
      whole.update(buf);
      wholeMd5Hash?.update(buf);
      const md5 = md5hex(buf);
      partMd5s.push(md5);
      const have = done.get(n);
      if (have) {
        if (have.md5 !== md5) {
          firstError = new FerryError(
            'source-changed',
            'source-changed',
            `${source.absPath} differs from the part already uploaded`,
            { context: { ...ctx, path: source.absPath } },
          );
          break;
        }
        report(len); // already on the server: hashed again here, not sent again
        continue;
      }
      while (inFlight.size >= s3.tuning.partConcurrency) await Promise.race(inFlight);
      if (firstError !== undefined || signal.aborted) break;
      const p = sendPart(s3, st8, n, buf, md5, opts, signal, report, (err) => local.abort(err))
        .then((part) => {
          done.set(n, part);
          st8.parts = [...done.values()].sort((a, b) => a.n - b.n);
          deps.resume.save(s3.id, path, sha256, st8);
        })
        .catch((err: unknown) => {
          firstError ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    if (firstError === undefined && signal.aborted) firstError = signal.reason ?? new Error('aborted');
    if (firstError !== undefined) {
      const fe = classify(firstError, `cannot upload ${path}`, ctx, signal);
      if (fe.kind === 'source-changed') await forget(s3, path, st8, opts.signal);
      // Otherwise the acknowledged parts stay on the server and in the resume store: the retry continues.
      throw fe;
    }
    const stEnd = await fh.stat();
    if (whole.digest('hex') !== sha256 || stEnd.size !== source.size) {
      await forget(s3, path, st8, opts.signal);
      throw new FerryError(
        'source-changed',
        'source-changed',
        `${source.absPath} changed while it was being uploaded`,
        {
          context: { ...ctx, path: source.absPath },
        },
      );
    }

    // ---- complete: only now does the object appear ----
    let etag: string | undefined;
    let completed: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string } = {};
    try {
      const res = await s3.slowClient.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: st8.uploadId,
          MultipartUpload: {
            Parts: Array.from({ length: partCount }, (_, i) => ({
              PartNumber: i + 1,
              ETag: `"${(done.get(i + 1) as { etag: string }).etag}"`,
            })),
          },
        }),
        { abortSignal: opts.signal },
      );
      etag = unquote(res.ETag);
      completed = res;
    } catch (err) {
      const { code } = errorInfo(err);
      // The server lost the upload or some part of it: start afresh on the retry.
      if (code === 'NoSuchUpload' || code === 'InvalidPart' || code === 'InvalidPartOrder')
        deps.resume.clear(s3.id, path);
      throw fail(err, 'cannot complete the upload of');
    }
    deps.resume.clear(s3.id, path);
    // Real S3 answers md5-of-part-md5s "-N", some stores (s3rver) the MD5 of the whole: either proves
    // that the parts we hashed are what was assembled. Never assume one form; anything else (a KMS
    // object's opaque ETag) proves nothing, and the size and SHA-256 checks after this still apply.
    const wholeMd5 = wholeMd5Hash?.digest('hex') ?? (source.hashes.md5 as string);
    if (etag !== undefined && !opaque(completed)) {
      const multi = /^[0-9a-f]{32}-\d+$/.test(etag);
      const plain = /^[0-9a-f]{32}$/.test(etag);
      if ((multi && etag !== multipartEtag(partMd5s)) || (plain && etag !== wholeMd5)) {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
        throw new FerryError(
          'retryable',
          'verify-failed',
          `${path}: the server assembled other bytes than were sent (ETag ${etag})`,
          { context: ctx },
        );
      }
    }
    return { etag, single: false };
  } finally {
    await fh.close();
  }
}

async function sendPart(
  s3: S3Context,
  st: MultipartState,
  n: number,
  buf: Buffer,
  md5: string,
  opts: TransferOpts,
  signal: AbortSignal,
  report: (n: number) => void,
  onPaceError: (err: unknown) => void,
): Promise<{ n: number; etag: string; md5: string }> {
  const res = await s3.client.send(
    new UploadPartCommand({
      Bucket: s3.bucket,
      Key: st.key,
      UploadId: st.uploadId,
      PartNumber: n,
      Body: pacedBody(buf, opts.pace, report, onPaceError),
      ContentLength: buf.length,
      ContentMD5: hexToBase64(md5),
    }),
    { abortSignal: signal },
  );
  const etag = unquote(res.ETag);
  if (!etag) throw new FerryError('retryable', 'no-etag', `the server gave no ETag for part ${n} of ${st.key}`);
  // A part's ETag is its MD5 on S3 and on the compatible stores, unless it is encrypted with KMS or
  // a customer key (then it is opaque, and the Content-MD5 we sent is the server's check).
  if (!opaque(res) && etag !== md5)
    throw new FerryError('retryable', 'verify-failed', `part ${n} of ${st.key}: the server's ETag is not the MD5 sent`);
  return { n, etag, md5 };
}

/**
 * The remembered upload for this content at this path, with the parts the server still has. A server
 * without ListParts (s3rver) is trusted with what we remember; CompleteMultipartUpload will say if not.
 */
async function resumable(
  s3: S3Context,
  path: string,
  key: string,
  source: UploadSource,
  opts: TransferOpts,
): Promise<MultipartState | undefined> {
  const saved = s3.deps.resume.load(s3.id, path, source.hashes.sha256);
  if (!isState(saved, key, source.size)) return undefined;
  const onServer = new Map<number, string>();
  let marker: string | undefined;
  try {
    for (;;) {
      const res = await s3.client.send(
        new ListPartsCommand({
          Bucket: s3.bucket,
          Key: key,
          UploadId: saved.uploadId,
          ...(marker ? { PartNumberMarker: marker } : {}),
        }),
        { abortSignal: opts.signal },
      );
      for (const p of res.Parts ?? [])
        if (p.PartNumber !== undefined && p.ETag) onServer.set(p.PartNumber, unquote(p.ETag) as string);
      if (!res.IsTruncated || !res.NextPartNumberMarker) break;
      marker = res.NextPartNumberMarker;
    }
  } catch (err) {
    if (unsupported(err)) return saved;
    const { code, status } = errorInfo(err);
    if (code === 'NoSuchUpload' || status === 404) {
      s3.deps.resume.clear(s3.id, path);
      return undefined;
    }
    throw classify(err, `cannot resume the upload of ${path}`, s3.ctx(path), opts.signal);
  }
  return { ...saved, parts: saved.parts.filter((p) => onServer.get(p.n) === p.etag) };
}

/**
 * Before a new upload to `key`: aborts the unfinished ones of other content there — the one the
 * resume store remembers for this path, and any the server lists (left by a lost state) — so that
 * they stop taking space. Best effort: a store without these calls (s3rver) keeps them, and a
 * lifecycle rule ("abort incomplete multipart uploads after N days") is the backstop.
 */
async function abortStale(
  s3: S3Context,
  path: string,
  key: string,
  sha256: string,
  signal: AbortSignal,
): Promise<void> {
  const ids = new Set<string>();
  for (const saved of s3.deps.resume.all(s3.id))
    if (saved.remotePath === path && saved.sha256 !== sha256) {
      const st = saved.state as Partial<MultipartState> | undefined;
      if (typeof st?.uploadId === 'string' && st.key === key) ids.add(st.uploadId);
    }
  try {
    const res = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: key }), {
      abortSignal: signal,
    });
    for (const u of res.Uploads ?? []) if (u.Key === key && u.UploadId) ids.add(u.UploadId);
  } catch {
    // Not supported here (s3rver), or not allowed: only the remembered one is aborted.
  }
  for (const uploadId of ids)
    await s3.client
      .send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId }), {
        abortSignal: signal,
      })
      .catch(() => undefined);
}

/** Gives up an upload for good (its content changed): aborted on the server, forgotten here. */
async function forget(s3: S3Context, path: string, st: MultipartState, signal: AbortSignal): Promise<void> {
  s3.deps.resume.clear(s3.id, path);
  await s3.client
    .send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: st.key, UploadId: st.uploadId }), {
      abortSignal: signal.aborted ? undefined : signal,
    })
    .catch(() => undefined);
}
