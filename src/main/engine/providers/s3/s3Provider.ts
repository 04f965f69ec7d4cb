import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type HeadObjectCommandOutput,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DestinationConfig } from '../../../../shared/config';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isTempName } from '../../scan/ignoreRules';
import { TempNames } from '../tempNames';
import { MultiHash } from '../../scan/multiHash';
import type { ProviderDeps } from '../types';
import { normalizeRemotePath } from '../remotePath';
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
import { hexToBase64, md5hex, pacedBody, unquote } from './s3Body';
import { readSmall, SMALL_FILE } from '../kit/fileBody';
import { classify, describe, errorInfo } from './s3Errors';
import { uploadMultipart } from './s3Multipart';
import { DirectPut, errorOf } from './s3Put';

export type S3DestinationConfig = Extract<DestinationConfig, { type: 's3' }>;

/** Knobs with sensible defaults; tests shrink them to exercise paging, parts and timeouts quickly. */
export type S3Tuning = {
  /** Files below this go in one PutObject; at or above it, multipart. */
  singleMax: number;
  partSize: number;
  /** Parts of one file in flight at once. */
  partConcurrency: number;
  /** Keys per ListObjectsV2 page (S3's maximum is 1,000). */
  pageSize: number;
  connectTimeoutMs: number;
  /** A socket with no traffic either way for this long fails (retryable) instead of hanging. */
  idleTimeoutMs: number;
  /** The same, for calls the server may think over for long (completing a multipart upload, copying). */
  slowIdleTimeoutMs: number;
};

export const DEFAULT_TUNING: S3Tuning = {
  singleMax: 16 * 1024 * 1024,
  partSize: 8 * 1024 * 1024,
  partConcurrency: 4,
  pageSize: 1000,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  slowIdleTimeoutMs: 300_000,
};

const MAX_KEY_BYTES = 1024;
/**
 * A logger that swallows the SDK's own console output. It has only `warn`: the SDK calls the others
 * as `logger?.info?.(…)`, so without them it also skips building (and redacting) a log record for
 * every request — a few percent of the CPU of a run of small files.
 */
const QUIET = { warn: () => {} } as unknown as NonNullable<S3ClientConfig['logger']>;
const MAX_COPY = 5 * 1024 ** 3;
const MAX_OBJECT = 5 * 1024 ** 4;
const META_SHA256 = 'ferry-sha256';
const META_TAGS = 'ferry-tags';

/** Everything the upload paths need from the destination, without handing them the whole class. */
export type S3Context = {
  id: string;
  bucket: string;
  client: S3Client;
  tuning: S3Tuning;
  deps: ProviderDeps;
  /** For CompleteMultipartUpload and CopyObject, which may take minutes on big objects. */
  slowClient: S3Client;
  /** Headers every new object gets: metadata, storage class. */
  objectParams: (source: UploadSource) => { Metadata: Record<string, string>; StorageClass?: StorageClass };
  ctx: (path: string) => ErrorContext;
};

/**
 * Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, Wasabi, s3rver…) through the AWS SDK v3.
 * Small files go in one PutObject with Content-MD5; large ones as a multipart upload that becomes
 * visible only when completed, resumable across restarts (s3Multipart.ts). Every upload is hashed as
 * it is read, checked against the index's SHA-256 before it can become visible, and verified after:
 * size from HeadObject, the ETag against our MD5s, and the SHA-256 we stored as metadata.
 */
export class S3Destination implements Destination, ServerSideMove, ServerSideCopy {
  readonly type = 's3';
  readonly features: ProviderFeatures = {
    hashes: ['sha256', 'md5'],
    caseInsensitive: false,
    prefixFolders: true,
    resumable: true,
    maxSingleUpload: MAX_OBJECT,
    tags: true,
    versionPerWrite: true,
  };
  readonly id: string;
  private readonly bucket: string;
  private readonly root: string;
  private readonly client: S3Client;
  private readonly slowClient: S3Client;
  private readonly tuning: S3Tuning;
  private credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Small PutObjects without the SDK, where the address and the keys are plain (see DirectPut). */
  private readonly direct: DirectPut | undefined;

  /** This instance's temporary names (ProviderDeps.temp). */
  private readonly temp: TempNames;

  constructor(
    private readonly cfg: S3DestinationConfig,
    private readonly deps: ProviderDeps,
    tuning: Partial<S3Tuning> = {},
  ) {
    this.id = cfg.id;
    this.temp = deps.temp ?? new TempNames();
    this.bucket = cfg.bucket;
    this.root = cfg.prefix ? normalizeRemotePath(cfg.prefix) : '';
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
    // The SDK warns on every start that its 2027 releases will want Node 22: we pin a version that
    // runs on Node 20 (see package.json), so the notice would only confuse people reading Ferry's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = this.makeClient(this.tuning.idleTimeoutMs);
    this.slowClient = this.makeClient(this.tuning.slowIdleTimeoutMs);
    const pathStyle = cfg.force_path_style ?? cfg.endpoint !== undefined;
    this.direct =
      cfg.endpoint !== undefined && pathStyle && cfg.access_key_id !== undefined && cfg.secret_access_key !== undefined
        ? new DirectPut(
            cfg.endpoint,
            cfg.bucket,
            cfg.region ?? 'us-east-1',
            () => this.resolveCredentials(),
            this.tuning.idleTimeoutMs,
          )
        : undefined;
  }

  private makeClient(idleTimeoutMs: number): S3Client {
    const cfg = this.cfg;
    const agentOpts = { keepAlive: true, maxSockets: 64 };
    return new S3Client({
      ...(cfg.region !== undefined
        ? { region: cfg.region }
        : cfg.endpoint !== undefined
          ? { region: 'us-east-1' }
          : {}),
      ...(cfg.endpoint !== undefined ? { endpoint: cfg.endpoint } : { followRegionRedirects: true }),
      forcePathStyle: cfg.force_path_style ?? cfg.endpoint !== undefined,
      // Keys given: resolved from their secret references when first needed. None: the SDK's chain.
      ...(cfg.access_key_id !== undefined || cfg.secret_access_key !== undefined
        ? { credentials: async () => this.resolveCredentials() }
        : {}),
      // With the SDK's defaults a streamed PutObject goes out aws-chunked with a trailing CRC, which
      // S3-compatible stores may keep *inside* the object. We send Content-MD5 ourselves instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Retries and backoff belong to Ferry's transfer pool, which knows about the whole queue.
      maxAttempts: 1,
      // The SDK would print to the console on its own (e.g. "an error was encountered in a
      // non-retryable streaming request"): every error reaches Ferry's log classified instead.
      logger: QUIET,
      requestHandler: {
        connectionTimeout: this.tuning.connectTimeoutMs,
        socketTimeout: idleTimeoutMs,
        httpAgent: new HttpAgent(agentOpts),
        httpsAgent: new HttpsAgent(agentOpts),
      },
    });
  }

  private resolveCredentials(): { accessKeyId: string; secretAccessKey: string } {
    if (this.credentials) return this.credentials;
    const { access_key_id: keyRef, secret_access_key: secretRef } = this.cfg;
    if (keyRef === undefined || secretRef === undefined)
      throw new FerryError(
        'auth',
        'auth-failed',
        `destination "${this.id}": give both access_key_id and secret_access_key, or neither (to use the AWS credential chain)`,
        { context: { destination: this.id } },
      );
    this.credentials = {
      accessKeyId: this.deps.secret(keyRef, `destination "${this.id}": access_key_id`),
      secretAccessKey: this.deps.secret(secretRef, `destination "${this.id}": secret_access_key`),
    };
    return this.credentials;
  }

  private ctx(path: string): ErrorContext {
    return { destination: this.id, remotePath: path };
  }

  /** The object key for a destination-relative path; S3 keys are at most 1,024 bytes of UTF-8. */
  key(path: string): string {
    const rel = normalizeRemotePath(path);
    const key = this.root === '' ? rel : rel === '' ? this.root : `${this.root}/${rel}`;
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
      throw new FerryError(
        'invalid-name',
        'key-too-long',
        `${path}: the S3 key would be ${Buffer.byteLength(key, 'utf8')} bytes (UTF-8); S3 allows at most ${MAX_KEY_BYTES}`,
        { context: this.ctx(path), hint: 'shorten the path (or the destination prefix, or the rule path template)' },
      );
    return key;
  }

  private relOf(key: string): string | undefined {
    if (this.root === '') return key;
    return key.startsWith(`${this.root}/`) ? key.slice(this.root.length + 1) : undefined;
  }

  private objectParams(source: UploadSource): { Metadata: Record<string, string>; StorageClass?: StorageClass } {
    const Metadata: Record<string, string> = { [META_SHA256]: source.hashes.sha256 };
    const tags = source.tags ?? [];
    if (tags.length > 0) {
      // Header values must be ASCII: each tag percent-encoded, joined by commas (which encoding escapes).
      const value = tags.map((t) => encodeURIComponent(t)).join(',');
      if (value.length > 1800)
        throw new FerryError('permanent', 'tags-too-long', `the rule's tags take ${value.length} bytes as metadata`, {
          hint: 'S3 keeps at most 2 KB of metadata per object: use fewer or shorter tags',
        });
      Metadata[META_TAGS] = value;
    }
    return {
      Metadata,
      ...(this.cfg.storage_class !== undefined ? { StorageClass: this.cfg.storage_class as StorageClass } : {}),
    };
  }

  private context(): S3Context {
    return {
      id: this.id,
      bucket: this.bucket,
      client: this.client,
      slowClient: this.slowClient,
      tuning: this.tuning,
      deps: this.deps,
      objectParams: (s) => this.objectParams(s),
      ctx: (p) => this.ctx(p),
    };
  }

  // ---- check ----------------------------------------------------------------------------------

  async check(signal?: AbortSignal, opts: CheckOptions = {}): Promise<void> {
    const dctx = { destination: this.id };
    const where = `destination "${this.id}" (bucket ${this.bucket}${this.cfg.endpoint ? ` at ${this.cfg.endpoint}` : ''})`;
    try {
      if (this.cfg.access_key_id !== undefined || this.cfg.secret_access_key !== undefined) this.resolveCredentials();
    } catch (err) {
      const fe = err as FerryError;
      throw new FerryError('auth', 'auth-failed', fe.message, { context: dctx, hint: fe.hint, cause: err });
    }
    // A one-key listing under the prefix rather than HeadBucket: both need s3:ListBucket (and Ferry
    // lists before every run), but only a GET brings the error code (InvalidAccessKeyId, NoSuchBucket…).
    try {
      await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root === '' ? '' : `${this.root}/`, MaxKeys: 1 }),
        { abortSignal: signal },
      );
    } catch (err) {
      const { status, code } = errorInfo(err);
      const fe = classify(err, where, dctx, signal);
      if (fe.kind === 'cancelled') throw fe;
      if (fe.code === 'network')
        throw new FerryError('retryable', 'unreachable', `${where}: cannot reach the server: ${describe(err)}`, {
          context: dctx,
          hint: 'check the endpoint (scheme, host, port) and that the server is running and reachable',
          cause: err,
        });
      if (code === 'NoSuchBucket' || (status === 404 && code === undefined))
        throw new FerryError(
          'not-found',
          'container-missing',
          `${where}: the bucket does not exist (${describe(err)})`,
          {
            context: dctx,
            hint: `create the bucket "${this.bucket}", or fix the bucket name (and endpoint/region) in the configuration`,
            cause: err,
          },
        );
      if (fe.kind === 'auth')
        throw new FerryError('auth', 'auth-failed', `${where}: the server refused the credentials: ${describe(err)}`, {
          context: dctx,
          hint: 'check the access key id and secret, and that this key may list and write the bucket',
          cause: err,
        });
      throw fe;
    }
    // A routine pass writes nothing (on a versioned bucket a probe leaves versions and delete markers).
    if (opts.write === false) return;
    // Writable: a probe object under the prefix, written and removed. Its name is a temporary's, so a
    // probe left behind by a crash is listed as `partial` and removed by the next run.
    const probe = this.key(this.temp.fileName('probe-'));
    for (const [step, run] of [
      [
        'write',
        () =>
          this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: Buffer.alloc(0) }), {
            abortSignal: signal,
          }),
      ],
      [
        'delete',
        () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe }), { abortSignal: signal }),
      ],
    ] as const) {
      try {
        await run();
      } catch (err) {
        const fe = classify(err, where, dctx, signal);
        if (fe.kind === 'auth')
          throw new FerryError(
            'auth',
            'read-only',
            `${where}: the credentials may not ${step} objects${this.root ? ` under ${this.root}/` : ''}: ${describe(err)}`,
            {
              context: dctx,
              hint: `grant s3:PutObject and s3:DeleteObject on arn:aws:s3:::${this.bucket}/${this.root ? `${this.root}/` : ''}* (or the store's equivalent)`,
              cause: err,
            },
          );
        throw fe;
      }
    }
  }

  // ---- read side --------------------------------------------------------------------------------

  private entryFromHead(path: string, h: HeadObjectCommandOutput): RemoteEntry {
    const e: RemoteEntry = { path, size: h.ContentLength ?? 0 };
    if (h.LastModified) e.mtimeMs = h.LastModified.getTime();
    const etag = unquote(h.ETag);
    if (etag) e.version = etag;
    const sha = h.Metadata?.[META_SHA256];
    if (sha && /^[0-9a-f]{64}$/.test(sha)) e.hashes = { sha256: sha };
    const tags = h.Metadata?.[META_TAGS];
    if (tags) e.tags = tags.split(',').map((t) => decodeURIComponent(t));
    return e;
  }

  async head(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined> {
    const key = this.key(path);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: signal,
      });
      return this.entryFromHead(normalizeRemotePath(path), h);
    } catch (err) {
      const { status, code } = errorInfo(err);
      if (status === 404 && code !== 'NoSuchBucket') return undefined;
      throw classify(err, `cannot stat ${path}`, this.ctx(path), signal);
    }
  }

  stat(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined> {
    return this.head(path, signal);
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry> {
    const rel = normalizeRemotePath(prefix);
    const keyPrefix = rel === '' ? (this.root === '' ? '' : `${this.root}/`) : `${this.key(rel)}/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: keyPrefix,
            MaxKeys: this.tuning.pageSize,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw classify(err, `cannot list ${prefix || '/'}`, this.ctx(prefix), signal);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || o.Key.endsWith('/')) continue; // folder markers made by consoles
        const path = this.relOf(o.Key);
        if (path === undefined || path === '') continue;
        const e: RemoteEntry = { path, size: o.Size ?? 0 };
        if (o.LastModified) e.mtimeMs = o.LastModified.getTime();
        const etag = unquote(o.ETag);
        if (etag) e.version = etag;
        if (isTempName(path.slice(path.lastIndexOf('/') + 1))) e.partial = true;
        yield e;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    const key = this.key(path);
    const tmp = join(dirname(toAbsPath), this.temp.fileName());
    try {
      opts.signal.throwIfAborted();
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: opts.signal,
      });
      await mkdir(dirname(toAbsPath), { recursive: true });
      const hash = new MultiHash(['md5']);
      let received = 0;
      const body = res.Body as Readable;
      const pace = opts.pace;
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            if (pace) await pace(chunk.length);
            hash.update(chunk);
            received += chunk.length;
            opts.onProgress?.(received);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
        { signal: opts.signal },
      );
      const got = hash.digest();
      const ctx = this.ctx(path);
      const fail = (why: string) =>
        new FerryError('retryable', 'verify-failed', `download of ${path}: ${why}`, { context: ctx });
      if (res.ContentLength !== undefined && received !== res.ContentLength)
        throw fail(`received ${received} bytes, the server announced ${res.ContentLength}`);
      const sha = res.Metadata?.[META_SHA256];
      if (sha && sha !== got.sha256) throw fail('its SHA-256 differs from the one stored with it');
      const etag = unquote(res.ETag);
      if (etag && plainMd5Etag(etag, res.ServerSideEncryption, res.SSECustomerAlgorithm) && etag !== got.md5)
        throw fail('its MD5 differs from the ETag');
      const fh = await open(tmp, 'r+');
      await fh.datasync().finally(() => fh.close());
      await rename(tmp, toAbsPath);
      const e: RemoteEntry = { path: normalizeRemotePath(path), size: received, hashes: { sha256: got.sha256 } };
      if (res.LastModified) e.mtimeMs = res.LastModified.getTime();
      if (etag) e.version = etag;
      return e;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (err instanceof FerryError) throw err;
      const { code } = errorInfo(err);
      if (code === 'NoSuchKey')
        throw new FerryError('not-found', 'not-found', `${path} does not exist at destination "${this.id}"`, {
          context: this.ctx(path),
          cause: err,
        });
      throw classify(err, `cannot download ${path}`, this.ctx(path), opts.signal);
    }
  }

  // ---- write side -------------------------------------------------------------------------------

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const key = this.key(path);
    const ctx = this.ctx(path);
    if (opts.signal.aborted)
      throw new FerryError('cancelled', 'cancelled', `upload of ${path} was cancelled`, { context: ctx });
    if (source.size > MAX_OBJECT)
      throw new FerryError(
        'permanent',
        'too-large',
        `${path}: ${source.size} bytes is more than S3 holds in one object (5 TiB)`,
        {
          context: ctx,
        },
      );
    const result =
      source.size < this.tuning.singleMax
        ? await this.putSingle(path, key, source, opts)
        : await uploadMultipart(this.context(), path, key, source, opts);
    await this.applyTagging(path, key, source, opts.signal);
    if (result.single && result.verifiedMd5 !== undefined) {
      // The server answered with the MD5 of the very bytes it stored, and they are ours (checked in
      // putSingle): a HeadObject would tell nothing more, and costs a round trip per small file.
      opts.onProgress?.(source.size);
      return {
        path,
        size: source.size,
        mtimeMs: Date.now(),
        version: result.verifiedMd5,
        hashes: { md5: result.verifiedMd5 },
        ...(source.tags && source.tags.length > 0 ? { tags: [...source.tags] } : {}),
      };
    }
    const entry = await this.head(path, opts.signal);
    if (!entry)
      throw new FerryError('retryable', 'verify-failed', `${path}: the object is not there after its upload`, {
        context: ctx,
      });
    if (entry.size !== source.size) {
      await this.delete(path).catch(() => undefined);
      throw new FerryError(
        'retryable',
        'verify-failed',
        `${path}: the server holds ${entry.size} bytes after the upload, the file has ${source.size}`,
        { context: ctx },
      );
    }
    if (result.etag !== undefined && entry.version !== undefined && entry.version !== result.etag && result.single)
      throw new FerryError('retryable', 'verify-failed', `${path}: changed on the server while it was being uploaded`, {
        context: ctx,
      });
    opts.onProgress?.(source.size);
    return entry;
  }

  /**
   * One PutObject: the whole file is read and hashed first (it is small), refused if its SHA-256 is not
   * the index's, then sent from that buffer with its Content-MD5, so the server rejects damaged bytes.
   */
  private async putSingle(
    path: string,
    key: string,
    source: UploadSource,
    opts: TransferOpts,
  ): Promise<{ etag: string | undefined; single: true; verifiedMd5?: string }> {
    const ctx = this.ctx(path);
    // Small files: read with synchronous calls and checked against the index's SHA-256 there (readSmall);
    // larger ones through the thread pool, hashed here.
    const small = source.size <= SMALL_FILE;
    const buf = small ? readSmall(source, ctx) : await readWhole(source, ctx);
    // The SHA-256 of the very bytes we send proves they are the indexed content: then the index's MD5
    // (when the scan made one) is theirs too.
    const kinds: ('md5' | 'sha256')[] = source.hashes.md5 === undefined ? ['md5'] : [];
    const hashes = small
      ? { sha256: source.hashes.sha256, md5: kinds.length > 0 ? md5hex(buf) : undefined }
      : new MultiHash(kinds).update(buf).digest();
    if (hashes.sha256 !== source.hashes.sha256)
      throw new FerryError('source-changed', 'source-changed', `${source.absPath} changed since it was scanned`, {
        context: { ...ctx, path: source.absPath },
      });
    const md5 = hashes.md5 ?? (source.hashes.md5 as string);
    const startedAt = Date.now();
    let res: { ETag?: string; ServerSideEncryption?: string; SSECustomerAlgorithm?: string };
    if (small && this.direct) {
      if (opts.signal.aborted)
        throw new FerryError('cancelled', 'cancelled', `upload of ${path} was cancelled`, { context: ctx });
      res = await this.putDirect(this.direct, path, key, buf, md5, source, opts, startedAt);
    } else res = await this.putSdk(path, key, buf, md5, source, opts, startedAt);
    const etag = unquote(res.ETag);
    if (etag !== undefined && plainMd5Etag(etag, res.ServerSideEncryption, res.SSECustomerAlgorithm) && etag !== md5) {
      // The server kept other bytes than we sent (a store that ignores Content-MD5): take them away.
      await this.delete(path).catch(() => undefined);
      throw new FerryError(
        'retryable',
        'verify-failed',
        `${path}: the server's ETag ${etag} is not the MD5 of what was sent`,
        {
          context: ctx,
        },
      );
    }
    const plain = etag !== undefined && plainMd5Etag(etag, res.ServerSideEncryption, res.SSECustomerAlgorithm);
    return plain ? { etag, single: true, verifiedMd5: etag } : { etag, single: true };
  }

  private async putSdk(
    path: string,
    key: string,
    buf: Buffer,
    md5: string,
    source: UploadSource,
    opts: TransferOpts,
    startedAt: number,
  ): Promise<{ ETag?: string; ServerSideEncryption?: string; SSECustomerAlgorithm?: string }> {
    const ctx = this.ctx(path);
    const local = new AbortController();
    const signal = AbortSignal.any([opts.signal, local.signal]);
    let sent = 0;
    const body =
      buf.length === 0
        ? buf
        : pacedBody(
            buf,
            opts.pace,
            (n) => {
              sent += n;
              opts.onProgress?.(sent);
            },
            (err) => local.abort(err),
          );
    try {
      return await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: buf.length,
          ContentMD5: hexToBase64(md5),
          ...this.objectParams(source),
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      const fe = classify(err, `cannot upload ${path}`, ctx, signal);
      if (fe.kind === 'cancelled' || fe.code === 'network') await this.dropTruncated(path, key, source, startedAt);
      throw fe;
    }
  }

  /**
   * The same PutObject without the SDK (see DirectPut): Content-MD5 and the SHA-256 as the signed
   * payload hash, both of the bytes just checked against the index, so a server that verifies either
   * stores nothing else; the ETag is checked by the caller for those that verify neither (s3rver).
   */
  private async putDirect(
    direct: DirectPut,
    path: string,
    key: string,
    buf: Buffer,
    md5: string,
    source: UploadSource,
    opts: TransferOpts,
    startedAt: number,
  ): Promise<{ ETag?: string; ServerSideEncryption?: string; SSECustomerAlgorithm?: string }> {
    const ctx = this.ctx(path);
    const signal = opts.signal;
    const { Metadata, StorageClass } = this.objectParams(source);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-md5': hexToBase64(md5),
    };
    for (const [k, v] of Object.entries(Metadata)) headers[`x-amz-meta-${k}`] = v;
    if (StorageClass !== undefined) headers['x-amz-storage-class'] = StorageClass;
    let answer;
    try {
      answer = await direct.put(key, buf, source.hashes.sha256, headers, signal, opts.pace);
    } catch (err) {
      const fe = classify(err, `cannot upload ${path}`, ctx, signal);
      if (fe.kind === 'cancelled' || fe.kind === 'retryable') await this.dropTruncated(path, key, source, startedAt);
      throw fe;
    }
    const header = (name: string) => {
      const v = answer.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (answer.status < 200 || answer.status > 299) {
      // Shaped like the SDK's errors, so that one classification serves both paths.
      const { code, message } = errorOf(answer.body);
      const err = Object.assign(new Error(message ?? `HTTP ${answer.status}`), {
        name: code ?? 'Unknown',
        ...(code !== undefined ? { Code: code } : {}),
        $metadata: { httpStatusCode: answer.status },
        $response: { statusCode: answer.status, headers: answer.headers },
      });
      throw classify(err, `cannot upload ${path}`, ctx, signal);
    }
    const sse = header('x-amz-server-side-encryption');
    const sseCustomer = header('x-amz-server-side-encryption-customer-algorithm');
    return {
      ...(header('etag') !== undefined ? { ETag: header('etag') } : {}),
      ...(sse !== undefined ? { ServerSideEncryption: sse } : {}),
      ...(sseCustomer !== undefined ? { SSECustomerAlgorithm: sseCustomer } : {}),
    };
  }

  /**
   * After a PUT that broke off mid-body. S3 publishes nothing then (the old object, if any, stays),
   * but stores that write in place (s3rver) leave the bytes received so far under the final name:
   * an object written since this PUT began that is not our content is such a remnant, and goes.
   */
  private async dropTruncated(path: string, key: string, source: UploadSource, startedAt: number): Promise<void> {
    try {
      const signal = AbortSignal.timeout(5000);
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: signal,
      });
      const fresh = (h.LastModified?.getTime() ?? 0) >= Math.floor(startedAt / 1000) * 1000 - 1000;
      const ours = h.ContentLength === source.size && h.Metadata?.[META_SHA256] === source.hashes.sha256;
      if (fresh && !ours)
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    } catch {
      // Nothing there, or the server is gone: the next run's listing shows a size that differs, and re-sends.
    }
  }

  /**
   * Object tags too, where S3's rules for them allow (at most 10, letters, digits, spaces and
   * `+ - = . _ : / @`): the metadata always carries every tag; tagging makes them usable in policies.
   */
  private async applyTagging(path: string, key: string, source: UploadSource, signal: AbortSignal): Promise<void> {
    const tags = source.tags ?? [];
    if (
      tags.length === 0 ||
      tags.length > 10 ||
      !tags.every((t) => t.length <= 128 && /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u.test(t))
    )
      return;
    try {
      await this.client.send(
        new PutObjectTaggingCommand({
          Bucket: this.bucket,
          Key: key,
          Tagging: { TagSet: tags.map((t) => ({ Key: t, Value: '' })) },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      const { code, status } = errorInfo(err);
      if (code === 'NotImplemented' || status === 501) return; // the store has no object tagging
      throw classify(err, `cannot tag ${path}`, this.ctx(path), signal);
    }
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const key = this.key(path);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      const { status, code } = errorInfo(err);
      if (status === 404 && code !== 'NoSuchBucket') return;
      throw classify(err, `cannot delete ${path}`, this.ctx(path), signal);
    }
  }

  /** CopyObject keeps the metadata (our SHA-256, the tags); objects over 5 GiB are refused (see below). */
  async copy(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const src = await this.head(from, signal);
    if (!src)
      throw new FerryError('not-found', 'not-found', `${from} does not exist at destination "${this.id}"`, {
        context: this.ctx(from),
      });
    if (src.size > MAX_COPY)
      // UploadPartCopy would do it, but no server here can test it (s3rver lacks it): refuse plainly.
      throw new FerryError(
        'permanent',
        'copy-too-large',
        `${from}: server-side copy of objects over 5 GiB is not supported by Ferry's S3 destination yet`,
        { context: this.ctx(to), hint: 'the file is uploaded again instead once its old copy is removed' },
      );
    const toKey = this.key(to);
    try {
      await this.slowClient.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: toKey,
          CopySource: `${this.bucket}/${encodeKey(this.key(from))}`,
          MetadataDirective: 'COPY',
          ...(this.cfg.storage_class !== undefined ? { StorageClass: this.cfg.storage_class as StorageClass } : {}),
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      const { code } = errorInfo(err);
      if (code === 'NoSuchKey')
        throw new FerryError('not-found', 'not-found', `${from} does not exist at destination "${this.id}"`, {
          context: this.ctx(from),
          cause: err,
        });
      throw classify(err, `cannot copy ${from} to ${to}`, this.ctx(to), signal);
    }
    const entry = await this.head(to, signal);
    if (!entry || entry.size !== src.size || entry.hashes?.sha256 !== src.hashes?.sha256)
      throw new FerryError('retryable', 'verify-failed', `${to}: the copy of ${from} does not match it`, {
        context: this.ctx(to),
      });
    return entry;
  }

  /** S3 has no rename: a copy (metadata kept), then the old key is removed. */
  async move(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const entry = await this.copy(from, to, signal);
    await this.delete(from, signal);
    return entry;
  }

  /** A presigned GET URL ("copy share link"), valid for `expiresSec` (S3 allows up to 7 days). */
  async shareLink(path: string, expiresSec: number): Promise<string> {
    if (this.cfg.access_key_id !== undefined || this.cfg.secret_access_key !== undefined) this.resolveCredentials();
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), {
      expiresIn: Math.max(1, Math.min(Math.floor(expiresSec), 7 * 24 * 3600)),
    });
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.slowClient.destroy();
    this.direct?.close();
  }
}

/** Whether an ETag can be compared with the content's MD5: not multipart, not encrypted with KMS or a customer key. */
export function plainMd5Etag(etag: string, sse?: string, sseCustomer?: string): boolean {
  return /^[0-9a-f]{32}$/.test(etag) && !(sse ?? '').startsWith('aws:kms') && sseCustomer === undefined;
}

/** A key for the x-amz-copy-source header: URL-encoded, slashes kept. */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

/** Reads a small source whole; a size other than the index's means the file changed. */
async function readWhole(source: UploadSource, ctx: ErrorContext): Promise<Buffer> {
  let fh;
  try {
    fh = await open(source.absPath, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new FerryError('source-changed', 'source-gone', `${source.absPath} is gone`, { context: ctx, cause: err });
    throw new FerryError('permanent', code ?? 'EIO', `cannot read ${source.absPath}: ${(err as Error).message}`, {
      context: ctx,
      cause: err,
    });
  }
  try {
    const buf = Buffer.allocUnsafe(source.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0 || got + bytesRead >= buf.length) {
        got += bytesRead;
        break;
      }
      got += bytesRead;
    }
    if (got !== source.size)
      throw new FerryError('source-changed', 'source-changed', `${source.absPath} changed since it was scanned`, {
        context: { ...ctx, path: source.absPath },
      });
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
