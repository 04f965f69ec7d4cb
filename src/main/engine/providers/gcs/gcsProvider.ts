import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CRC32C, Storage, type File, type FileMetadata } from '@google-cloud/storage';
import type { DestinationConfig } from '../../../../shared/config';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isTempName } from '../../scan/ignoreRules';
import { TempNames } from '../tempNames';
import { MultiHash } from '../../scan/multiHash';
import { normalizeRemotePath } from '../remotePath';
import type {
  CheckOptions,
  Destination,
  ProviderFeatures,
  RemoteEntry,
  ProviderDeps,
  ServerSideCopy,
  ServerSideMove,
  TransferOpts,
  UploadSource,
} from '../types';
import { classify, GcsHttpError, objectNameProblem } from './gcsErrors';
import { RawHttp } from './gcsHttp';

export type GcsDestinationConfig = Extract<DestinationConfig, { type: 'gcs' }>;

export type GcsDeps = Pick<ProviderDeps, 'secret' | 'resume' | 'temp'>;

/** Files up to this size go in one multipart request; larger ones through a resumable session. */
export const SIMPLE_UPLOAD_MAX = 8 * 1024 * 1024;
/** Resumable chunks: a multiple of 256 KiB, as the service requires of every chunk but the last. */
export const CHUNK = 8 * 1024 * 1024;
const QUANTUM = 256 * 1024;
const READ_PIECE = 4 * 1024 * 1024;

/** Custom metadata keys: the source's SHA-256, the rule's tags (JSON), and its mtime in seconds (gsutil's key). */
export const META_SHA256 = 'ferry-sha256';
export const META_TAGS = 'ferry-tags';
export const META_MTIME = 'goog-reserved-file-mtime';

/** A service-account key as the Cloud console hands it out (the fields the auth library reads). */
type ServiceAccount = {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
  universe_domain?: string;
};

/** What survives a crash to resume a large upload: the session URI and how far the service confirmed. */
type ResumeState = { uri: string; size: number; offset: number };

const hexFromBase64 = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
const base64FromHex = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/**
 * Google Cloud Storage, through @google-cloud/storage for the control plane (bucket and object
 * metadata, listing, delete, rewrite, session creation, downloads, signed URLs) and plain HTTP for the
 * data plane the SDK does not expose one request at a time (multipart uploads; the chunks and status
 * queries of resumable sessions), so that every chunk is paced, hashed as read, and resumable.
 *
 * An object only appears under its name when an upload completes: a multipart upload is one request,
 * and a resumable session publishes nothing until its last chunk, which is sent only after the whole
 * file hashed to what the index says; the last request carries the MD5 and CRC32C (X-Goog-Hash), so the
 * service refuses bytes that differ from the ones we hashed.
 */
export class GcsDestination implements Destination, ServerSideMove, ServerSideCopy {
  readonly type = 'gcs';
  readonly features: ProviderFeatures = {
    hashes: ['md5'],
    caseInsensitive: false,
    prefixFolders: true,
    resumable: true,
    maxSingleUpload: 5 * 1024 ** 4,
    tags: true,
    conditionalWrites: true,
    versionPerWrite: true,
  };
  readonly id: string;
  private readonly bucketName: string;
  private readonly root: string;
  private storage: Storage | undefined;
  private account: ServiceAccount | undefined;
  private readonly raw = new RawHttp();
  /** Generations seen (list, stat, upload): an overwrite is conditional on what we last saw ('0' = absent). */
  private readonly generations = new Map<string, string>();
  /** Object-name prefixes listed completely by this instance: a name under one and not seen is absent. */
  private readonly listed = new Set<string>();

  /** This instance's temporary names (ProviderDeps.temp). */
  private readonly temp: TempNames;

  constructor(
    private readonly cfg: GcsDestinationConfig,
    private readonly deps: GcsDeps,
  ) {
    this.id = cfg.id;
    this.temp = deps.temp ?? new TempNames();
    this.bucketName = cfg.bucket;
    this.root = cfg.prefix ? normalizeRemotePath(cfg.prefix) : '';
  }

  // ---- client and names -----------------------------------------------------------------------------

  private client(): Storage {
    if (this.storage) return this.storage;
    const key = this.cfg.key_file ? this.serviceAccount(this.cfg.key_file) : undefined;
    this.account = key;
    const storage = new Storage({
      ...(this.cfg.project_id || key?.project_id ? { projectId: this.cfg.project_id ?? key?.project_id } : {}),
      ...(this.cfg.endpoint ? { apiEndpoint: this.cfg.endpoint.replace(/\/+$/, '') } : {}),
      // With an endpoint (an emulator, a private endpoint), authenticate only when a key is given.
      // The whole key, not just email and private key: google-auth-library (JWT.fromJSON) takes the key's
      // `private_key_id` as the `kid` of every self-signed JWT, which AIP-4111 requires.
      ...(key ? { credentials: key } : {}),
      useAuthWithCustomEndpoint: key !== undefined,
      // Retries and backoff are the transfer pool's: the SDK must answer the first failure.
      retryOptions: { autoRetry: false, maxRetries: 0, retryableErrorFn: () => false },
      timeout: 60_000,
    });
    // Self-signed JWTs with the storage scope (what Google's Go client does for Cloud Storage): the key
    // signs each bearer token itself, no token exchange with an OAuth endpoint is needed.
    if (key) storage.authClient.useJWTAccessWithScope = true;
    this.storage = storage;
    return storage;
  }

  private serviceAccount(ref: string): ServiceAccount {
    let text: string;
    try {
      text = this.deps.secret(ref, `destination "${this.id}": key_file`);
    } catch (err) {
      const fe = err as FerryError;
      throw new FerryError('auth', 'auth-failed', fe.message, {
        context: { destination: this.id },
        hint: fe.hint,
        cause: err,
      });
    }
    let parsed: Partial<ServiceAccount> & { type?: string };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new FerryError('auth', 'auth-failed', `destination "${this.id}": key_file is not JSON`, {
        context: { destination: this.id },
        hint: 'key_file must point at a service-account key (the JSON file the Cloud console downloads)',
      });
    }
    if (parsed.type !== 'service_account' || !parsed.client_email || !parsed.private_key)
      throw new FerryError('auth', 'auth-failed', `destination "${this.id}": key_file is not a service-account key`, {
        context: { destination: this.id },
        hint: 'create a key for a service account (IAM → Service accounts → Keys → JSON) and point key_file at it',
      });
    return parsed as ServiceAccount;
  }

  private bucket() {
    return this.client().bucket(this.bucketName);
  }

  /** The object name for a destination-relative path; refuses names Cloud Storage cannot hold. */
  private objectName(path: string): string {
    const rel = normalizeRemotePath(path);
    const name = this.root ? (rel ? `${this.root}/${rel}` : this.root) : rel;
    const problem = objectNameProblem(name);
    if (problem)
      throw new FerryError(
        'invalid-name',
        'invalid-name',
        `destination "${this.id}": cannot store "${path}": ${problem}`,
        {
          context: { destination: this.id, remotePath: path },
          hint: 'Cloud Storage cannot hold this name: rename the file or map it with a path template',
        },
      );
    return name;
  }

  private relative(name: string): string {
    return this.root ? name.slice(this.root.length + 1) : name;
  }

  private fail(err: unknown, what: string, context: ErrorContext = {}): FerryError {
    return classify(err, `destination "${this.id}": ${what}`, { destination: this.id, ...context }, this.bucketName);
  }

  private entry(meta: FileMetadata): RemoteEntry {
    const name = meta.name as string;
    const rel = this.relative(name);
    const e: RemoteEntry = { path: rel, size: Number(meta.size ?? 0) };
    if (meta.generation !== undefined) {
      e.version = String(meta.generation);
      this.generations.set(name, String(meta.generation));
    }
    if (typeof meta.md5Hash === 'string') e.hashes = { md5: hexFromBase64(meta.md5Hash) };
    const custom = (meta.metadata ?? {}) as Record<string, unknown>;
    const mtime = Number(custom[META_MTIME]);
    if (Number.isFinite(mtime) && custom[META_MTIME] !== undefined) e.mtimeMs = mtime * 1000;
    else if (typeof meta.updated === 'string') e.mtimeMs = Date.parse(meta.updated);
    if (typeof custom[META_TAGS] === 'string')
      try {
        const tags = JSON.parse(custom[META_TAGS]) as unknown;
        if (Array.isArray(tags)) e.tags = tags.map(String);
      } catch {
        // not ours: ignore
      }
    if (isTempName(rel.split('/').pop() ?? '')) e.partial = true;
    return e;
  }

  // ---- check ------------------------------------------------------------------------------------------

  async check(signal?: AbortSignal, opts: CheckOptions = {}): Promise<void> {
    const ctx = { destination: this.id };
    signal?.throwIfAborted();
    let bucket;
    try {
      bucket = this.bucket();
      await bucket.getMetadata();
    } catch (err) {
      const fe = this.fail(err, `bucket "${this.bucketName}"`);
      if (fe.code === 'network')
        throw new FerryError(
          'retryable',
          'unreachable',
          `destination "${this.id}": cannot reach Cloud Storage: ${(err as Error).message}`,
          {
            context: ctx,
            hint: this.cfg.endpoint
              ? `check that ${this.cfg.endpoint} is up and reachable from this machine`
              : 'check the network connection (and any proxy) to storage.googleapis.com',
            cause: err,
          },
        );
      if (fe.code === 'auth-failed' || (fe.kind === 'auth' && fe.code !== 'forbidden'))
        throw new FerryError('auth', 'auth-failed', fe.message, { context: ctx, hint: fe.hint, cause: err });
      if (fe.code === 'container-missing' || fe.kind === 'not-found')
        throw new FerryError(
          'not-found',
          'container-missing',
          `destination "${this.id}": bucket "${this.bucketName}" does not exist`,
          {
            context: ctx,
            hint: `create the bucket "${this.bucketName}" in the Cloud console (or fix the bucket name)`,
            cause: err,
          },
        );
      // 403 on the bucket itself: an account with object roles only may still list and write objects.
      if (fe.code !== 'forbidden') throw fe;
      try {
        await this.bucket().getFiles({ maxResults: 1, autoPaginate: false });
      } catch (err2) {
        const fe2 = this.fail(err2, `bucket "${this.bucketName}"`);
        throw new FerryError('auth', 'auth-failed', fe2.message, {
          context: ctx,
          hint: `the service account may not read bucket "${this.bucketName}": grant it Storage Object Admin there`,
          cause: err2,
        });
      }
    }
    if (opts.write === false) return;
    const probe = this.objectName(this.temp.fileName('probe-'));
    try {
      signal?.throwIfAborted();
      await this.multipart(probe, Buffer.alloc(0), { metadata: {} }, '0', {
        signal: signal ?? new AbortController().signal,
      });
      await this.bucket().file(probe).delete({ ignoreNotFound: true });
    } catch (err) {
      const fe = this.fail(err, `cannot write in bucket "${this.bucketName}"`);
      if (fe.kind === 'auth' || fe.code === 'http-403')
        throw new FerryError(
          'auth',
          'read-only',
          `destination "${this.id}": the bucket "${this.bucketName}" cannot be written with these credentials (${fe.message})`,
          {
            context: ctx,
            hint: `grant the service account Storage Object Admin (or Object Creator and Object Viewer) on "${this.bucketName}"`,
            cause: err,
          },
        );
      throw fe;
    }
  }

  // ---- read side --------------------------------------------------------------------------------------

  async stat(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined> {
    const name = this.objectName(path);
    signal?.throwIfAborted();
    try {
      const [meta] = await this.bucket().file(name).getMetadata();
      return this.entry(meta);
    } catch (err) {
      const fe = this.fail(err, `cannot stat ${path}`, { remotePath: path });
      if (fe.kind === 'not-found' && fe.code !== 'container-missing') {
        this.generations.set(name, '0');
        return undefined;
      }
      throw fe;
    }
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry> {
    const rel = normalizeRemotePath(prefix);
    const base = [this.root, rel].filter((p) => p !== '').join('/');
    const query = base === '' ? '' : `${base}/`;
    let pageToken: string | undefined;
    const seen = new Set<string>();
    do {
      signal?.throwIfAborted();
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = (await this.bucket().getFiles({
          prefix: query,
          autoPaginate: false,
          maxResults: 1000,
          ...(pageToken ? { pageToken } : {}),
        })) as unknown as [File[], { pageToken?: string } | null];
      } catch (err) {
        throw this.fail(err, `cannot list ${rel || '/'}`, { remotePath: rel });
      }
      for (const f of files) {
        seen.add(f.name);
        yield this.entry(f.metadata);
      }
      pageToken = next?.pageToken;
    } while (pageToken);
    // Everything below this prefix is known now: a name not seen is absent (used for preconditions).
    for (const name of [...this.generations.keys()])
      if (name.startsWith(query) && !seen.has(name)) this.generations.delete(name);
    this.listed.add(query);
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    const name = this.objectName(path);
    const tmp = join(dirname(toAbsPath), this.temp.fileName());
    const ctx = { remotePath: path };
    let meta: FileMetadata;
    try {
      opts.signal.throwIfAborted();
      [meta] = await this.bucket().file(name).getMetadata();
    } catch (err) {
      throw this.fail(err, `cannot download ${path}`, ctx);
    }
    const expected = this.entry(meta);
    const hash = new MultiHash(['md5']);
    // Composite objects have no MD5 (only a CRC32C): those are checked by CRC32C instead.
    const crc = expected.hashes?.md5 === undefined && typeof meta.crc32c === 'string' ? new CRC32C() : undefined;
    let bytes = 0;
    try {
      await mkdir(dirname(toAbsPath), { recursive: true });
      const file = this.bucket().file(name, { generation: Number(meta.generation) });
      const stream = file.createReadStream({ validation: false, decompress: false });
      const onAbort = () =>
        stream.destroy(new FerryError('cancelled', 'cancelled', `download of ${path} was cancelled`));
      opts.signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (c: Buffer) => {
        hash.update(c);
        crc?.update(c);
        bytes += c.length;
        opts.onProgress?.(bytes);
      });
      try {
        await pipeline(stream, createWriteStream(tmp, { flags: 'wx' }));
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
      }
      const got = hash.digest();
      if (
        bytes !== expected.size ||
        (expected.hashes?.md5 !== undefined && got.md5 !== expected.hashes.md5) ||
        (crc !== undefined && crc.toString() !== meta.crc32c)
      )
        throw new FerryError(
          'retryable',
          'verify-failed',
          `${path}: the bytes received do not match the object's size and ${crc ? 'CRC32C' : 'MD5'}`,
          {
            context: { destination: this.id, ...ctx },
          },
        );
      const fh = await open(tmp, 'r+');
      await fh.datasync().finally(() => fh.close());
      await rename(tmp, toAbsPath);
      return { ...expected, hashes: { ...expected.hashes, sha256: got.sha256 } };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (opts.signal.aborted)
        throw new FerryError('cancelled', 'cancelled', `download of ${path} was cancelled`, { context: ctx });
      throw this.fail(err, `cannot download ${path}`, ctx);
    }
  }

  // ---- write side -------------------------------------------------------------------------------------

  /** The generation an overwrite must find ('0': none), from what this instance saw, else asked. */
  private async expectedGeneration(name: string, path: string, signal: AbortSignal): Promise<string> {
    const known = this.generations.get(name);
    if (known !== undefined) return known;
    for (const p of this.listed) if (name.startsWith(p)) return '0';
    await this.stat(path, signal);
    return this.generations.get(name) ?? '0';
  }

  private objectMetadata(source: UploadSource): Record<string, unknown> {
    const metadata: Record<string, string> = {
      [META_SHA256]: source.hashes.sha256,
      [META_MTIME]: String(Math.floor(source.mtimeMs / 1000)),
    };
    if (source.tags && source.tags.length > 0) metadata[META_TAGS] = JSON.stringify(source.tags);
    return { contentType: 'application/octet-stream', metadata };
  }

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const name = this.objectName(path);
    const ctx = { remotePath: path, path: source.absPath };
    if (opts.signal.aborted) throw cancelled(path);
    try {
      // Two-way: exactly the generation the plan saw ('0': create only); otherwise what this instance saw.
      const generation =
        source.replaces !== undefined
          ? (source.replaces ?? '0')
          : await this.expectedGeneration(name, path, opts.signal);
      const meta =
        source.size <= SIMPLE_UPLOAD_MAX
          ? await this.simpleUpload(name, path, source, generation, opts)
          : await this.resumableUpload(name, path, source, generation, opts).catch((err: unknown) => {
              // The session died under us (410 Gone, or 404): the service keeps nothing of it, so a new
              // session from the first byte, once, within this upload.
              if (!(err instanceof FerryError && err.code === 'session-expired')) throw err;
              return this.resumableUpload(name, path, source, generation, opts);
            });
      return this.entry(meta);
    } catch (err) {
      if (opts.signal.aborted) throw cancelled(path);
      const fe = this.fail(err, `cannot upload ${path}`, ctx);
      if (fe.code === 'remote-changed') {
        this.generations.delete(name);
        // An earlier attempt whose answer was lost may have published this very content: then it is done.
        const there = await this.alreadyThere(name, source).catch(() => undefined);
        if (there) return there;
        // Two-way: the plan's premise is gone, and retrying the same precondition cannot restore it.
        if (source.replaces !== undefined)
          throw new FerryError('conflict', 'remote-changed', fe.message, {
            context: fe.context,
            cause: fe,
            hint: 'another writer changed it; the next pass compares both sides again and keeps both versions if they differ',
          });
      }
      throw fe;
    }
  }

  /** The object at `name` when it holds exactly this content (size, MD5, and the SHA-256 we stored with it). */
  private async alreadyThere(name: string, source: UploadSource): Promise<RemoteEntry | undefined> {
    const [meta] = await this.bucket().file(name).getMetadata();
    const e = this.entry(meta);
    const custom = (meta.metadata ?? {}) as Record<string, unknown>;
    const md5 = source.hashes.md5;
    if (
      e.size === source.size &&
      custom[META_SHA256] === source.hashes.sha256 &&
      (md5 === undefined || e.hashes?.md5 === md5)
    )
      return e;
    return undefined;
  }

  /** Reads the whole (small) file, checks it is the indexed content, and sends it in one request. */
  private async simpleUpload(
    name: string,
    path: string,
    source: UploadSource,
    generation: string,
    opts: TransferOpts,
  ): Promise<FileMetadata> {
    const fh = await open(source.absPath, 'r');
    let data: Buffer;
    try {
      data = Buffer.alloc(source.size);
      let off = 0;
      while (off < source.size) {
        const { bytesRead } = await fh.read(data, off, source.size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      const extra = await fh.read(Buffer.alloc(1), 0, 1, off);
      if (off !== source.size || extra.bytesRead !== 0) throw changed(path, source);
    } finally {
      await fh.close();
    }
    const hashes = new MultiHash(['md5']).update(data).digest();
    if (!sameContent(hashes, source)) throw changed(path, source);
    const meta = { ...this.objectMetadata(source), md5Hash: base64FromHex(hashes.md5 as string), crc32c: crc32c(data) };
    const result = await this.multipart(name, data, meta, generation, opts);
    opts.onProgress?.(data.length);
    this.verifyResult(path, result, data.length, hashes.md5 as string, meta.crc32c);
    return result;
  }

  private async multipart(
    name: string,
    data: Buffer,
    meta: Record<string, unknown>,
    generation: string,
    opts: Pick<TransferOpts, 'signal' | 'pace'>,
  ): Promise<FileMetadata> {
    const boundary = `ferry-${randomBytes(12).toString('hex')}`;
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify({ ...meta, name })}\r\n` +
          `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const url = `${this.uploadBase()}?uploadType=multipart&ifGenerationMatch=${generation}`;
    const res = await this.raw.expect(
      {
        method: 'POST',
        url,
        headers: { ...(await this.authHeaders(url)), 'content-type': `multipart/related; boundary=${boundary}` },
        body,
        ...(opts.pace ? { pace: opts.pace } : {}),
        signal: opts.signal,
      },
      [200],
    );
    return JSON.parse(res.body) as FileMetadata;
  }

  private uploadBase(): string {
    return `${this.client().apiEndpoint}/upload/storage/v1/b/${encodeURIComponent(this.bucketName)}/o`;
  }

  private async authHeaders(url: string): Promise<Record<string, string>> {
    const storage = this.client();
    if (storage.customEndpoint && !storage.useAuthWithCustomEndpoint) return {};
    const h = (await storage.authClient.getRequestHeaders(url)) as unknown as Record<string, string> | Headers;
    if (typeof (h as Headers).forEach === 'function' && !(h as Record<string, string>).Authorization) {
      const out: Record<string, string> = {};
      (h as Headers).forEach((v, k) => (out[k] = v));
      return out;
    }
    return h as Record<string, string>;
  }

  /** The service's word on what it stored must be what we sent (by CRC32C when it reports no MD5). */
  private verifyResult(path: string, meta: FileMetadata, size: number, md5Hex: string, crc32c?: string): void {
    const md5 = typeof meta.md5Hash === 'string' ? hexFromBase64(meta.md5Hash) : undefined;
    const crcDiffers = md5 === undefined && crc32c !== undefined && meta.crc32c !== crc32c;
    if (Number(meta.size) !== size || (md5 !== undefined && md5 !== md5Hex) || crcDiffers)
      throw new FerryError(
        'retryable',
        'verify-failed',
        `${path}: Cloud Storage stored ${String(meta.size)} bytes with MD5 ${md5 ?? '?'}, we sent ${size} bytes with MD5 ${md5Hex}`,
        { context: { destination: this.id, remotePath: path } },
      );
  }

  /**
   * A resumable session: started (or found again in the resume store and asked how far it got), then
   * fed in CHUNK-sized requests, each paced and hashed as it is read. The last chunk goes only once the
   * whole file hashed to the indexed SHA-256, and carries our MD5 and CRC32C for the service to check.
   */
  private async resumableUpload(
    name: string,
    path: string,
    source: UploadSource,
    generation: string,
    opts: TransferOpts,
  ): Promise<FileMetadata> {
    const sha = source.hashes.sha256;
    let state = this.loadResume(path, source);
    let offset = 0;
    if (state) {
      const status = await this.sessionStatus(state, opts.signal);
      if (status.kind === 'gone') state = undefined;
      else if (status.kind === 'done') {
        // The last chunk arrived before the crash: check the object is this content, then it is done.
        const hashes = await hashFile(source.absPath, source.size, opts.signal);
        this.deps.resume.clear(this.id, path);
        if (!sameContent(hashes, source)) throw changed(path, source);
        this.verifyResult(path, status.meta, source.size, hashes.md5 as string);
        opts.onProgress?.(source.size);
        return status.meta;
      } else offset = status.persisted;
    }
    if (!state) {
      const uri = await this.startSession(name, source, generation);
      state = { uri, size: source.size, offset: 0 };
      this.deps.resume.save(this.id, path, sha, state);
    }
    const session = state;
    const fh = await open(source.absPath, 'r');
    try {
      const hash = new MultiHash(['md5']);
      const crc = new CRC32C();
      // Bytes the service already holds are hashed again from the file, not sent again.
      await readInto(fh, 0, offset, opts.signal, (b) => {
        hash.update(b);
        crc.update(b);
      });
      let reported = 0;
      const progress = (n: number) => {
        if (n > reported) {
          reported = n;
          opts.onProgress?.(n);
        }
      };
      progress(offset);
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        if (opts.signal.aborted) throw cancelled(path);
        const chunkStart = offset;
        const n = await readFull(fh, buf, chunkStart, Math.min(CHUNK, source.size - chunkStart));
        const chunk = buf.subarray(0, n);
        if (n === 0 || chunkStart + n > source.size) throw changed(path, source);
        hash.update(chunk);
        crc.update(chunk);
        const last = chunkStart + n === source.size;
        const headers: Record<string, string> = {};
        let md5Hex = '';
        if (last) {
          const probe = await fh.read(Buffer.alloc(1), 0, 1, source.size);
          const hashes = hash.digest();
          md5Hex = hashes.md5 as string;
          if (probe.bytesRead !== 0 || !sameContent(hashes, source)) {
            this.deps.resume.clear(this.id, path);
            await this.raw.send({ method: 'DELETE', url: session.uri }).catch(() => undefined);
            throw changed(path, source);
          }
          headers['x-goog-hash'] = `crc32c=${crc.toString()},md5=${base64FromHex(md5Hex)}`;
        }
        // Send until the service holds this whole chunk (it may keep less than it was sent).
        let sent = 0;
        for (;;) {
          const from = chunkStart + sent;
          const res = await this.raw.send({
            method: 'PUT',
            url: session.uri,
            headers: {
              ...headers,
              'content-range': `bytes ${from}-${chunkStart + n - 1}/${last ? source.size : '*'}`,
            },
            body: chunk.subarray(sent),
            piece: QUANTUM * 4,
            ...(opts.pace ? { pace: opts.pace } : {}),
            onWritten: (w) => progress(Math.min(from + w, source.size - 1)),
            signal: opts.signal,
          });
          if (res.status === 200 || res.status === 201) {
            this.deps.resume.clear(this.id, path);
            const meta = JSON.parse(res.body) as FileMetadata;
            progress(source.size);
            this.verifyResult(path, meta, source.size, md5Hex, crc.toString());
            return meta;
          }
          if (res.status === 404 || res.status === 410) {
            this.deps.resume.clear(this.id, path);
            throw new FerryError(
              'retryable',
              'session-expired',
              `${path}: the upload session expired; it starts over`,
              {
                context: { destination: this.id, remotePath: path },
              },
            );
          }
          if (res.status !== 308) {
            if (res.status === 412 || res.status === 400) this.deps.resume.clear(this.id, path);
            throw new GcsHttpError(res.status, res.headers, res.body);
          }
          const persisted = rangeEnd(res.headers.range);
          if (persisted < chunkStart) {
            // The service lost bytes we no longer hold in memory: start over on the next attempt.
            this.deps.resume.clear(this.id, path);
            throw new FerryError(
              'retryable',
              'session-lost-bytes',
              `${path}: the upload session lost data; it starts over`,
              {
                context: { destination: this.id, remotePath: path },
              },
            );
          }
          this.deps.resume.save(this.id, path, sha, { ...session, offset: persisted });
          sent = persisted - chunkStart;
          if (sent >= n) break;
          if (opts.signal.aborted) throw cancelled(path);
        }
        offset = chunkStart + n;
        progress(offset);
      }
    } finally {
      await fh.close();
    }
  }

  private loadResume(path: string, source: UploadSource): ResumeState | undefined {
    const s = this.deps.resume.load(this.id, path, source.hashes.sha256) as Partial<ResumeState> | undefined;
    if (!s || typeof s.uri !== 'string' || s.size !== source.size || typeof s.offset !== 'number') return undefined;
    return s as ResumeState;
  }

  private async startSession(name: string, source: UploadSource, generation: string): Promise<string> {
    const [uri] = await this.bucket()
      .file(name)
      .createResumableUpload({
        metadata: { ...this.objectMetadata(source), contentLength: source.size },
        preconditionOpts: { ifGenerationMatch: Number(generation) },
      });
    return uri;
  }

  /** Asks a session how far it got (`Content-Range: bytes *\/SIZE` → 308 with `Range`, or the object). */
  private async sessionStatus(
    state: ResumeState,
    signal: AbortSignal,
  ): Promise<{ kind: 'gone' } | { kind: 'done'; meta: FileMetadata } | { kind: 'incomplete'; persisted: number }> {
    const res = await this.raw.send({
      method: 'PUT',
      url: state.uri,
      headers: { 'content-range': `bytes */${state.size}` },
      signal,
    });
    if (res.status === 308) return { kind: 'incomplete', persisted: rangeEnd(res.headers.range) };
    if (res.status === 200 || res.status === 201) return { kind: 'done', meta: JSON.parse(res.body) as FileMetadata };
    if (res.status === 404 || res.status === 410 || res.status === 499) return { kind: 'gone' };
    throw new GcsHttpError(res.status, res.headers, res.body);
  }

  /**
   * Deletes the generation this instance last saw (listing, stat, upload; asked first when it saw none):
   * `ifGenerationMatch`, so another writer's newer object is a conflict, not a silent loss. An object
   * already gone is not an error.
   */
  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const name = this.objectName(path);
    const sig = signal ?? new AbortController().signal;
    sig.throwIfAborted();
    let generation: string;
    try {
      generation = await this.expectedGeneration(name, path, sig);
    } catch (err) {
      throw this.fail(err, `cannot delete ${path}`, { remotePath: path });
    }
    if (generation === '0') return;
    await this.deleteGeneration(name, path, generation, `cannot delete ${path}`);
  }

  /** Deletes `name` if it is still `generation`; a newer one is a conflict (kept), a missing one is fine. */
  private async deleteGeneration(name: string, path: string, generation: string, what: string): Promise<void> {
    try {
      await this.bucket()
        .file(name)
        .delete({ ifGenerationMatch: Number(generation) });
    } catch (err) {
      const fe = this.fail(err, what, { remotePath: path });
      if (fe.code === 'not-found') {
        this.generations.set(name, '0');
        return;
      }
      if (fe.code !== 'remote-changed') throw fe;
      this.generations.delete(name);
      throw new FerryError(
        'conflict',
        'remote-changed',
        `destination "${this.id}": ${what}: another writer replaced it since Ferry saw it; that version is kept`,
        {
          context: fe.context,
          cause: fe,
          hint: 'the next pass compares both sides again before deciding what to remove',
        },
      );
    }
    this.generations.set(name, '0');
  }

  /**
   * objects.rewrite, called again with the `rewriteToken` it answers until it says `done`: an object that
   * is large, or changes location or storage class, takes several calls. Each call repeats the
   * preconditions (the service allows leaving them out, not changing them).
   */
  private async rewrite(
    src: string,
    dst: string,
    preconditions: Record<string, string>,
    signal: AbortSignal,
  ): Promise<FileMetadata> {
    const b = encodeURIComponent(this.bucketName);
    const base = `${this.client().apiEndpoint}/storage/v1/b/${b}/o/${encodeURIComponent(src)}/rewriteTo/b/${b}/o/${encodeURIComponent(dst)}`;
    let token: string | undefined;
    for (;;) {
      signal.throwIfAborted();
      const url = `${base}?${new URLSearchParams({ ...preconditions, ...(token ? { rewriteToken: token } : {}) })}`;
      const res = await this.raw.expect(
        {
          method: 'POST',
          url,
          headers: { ...(await this.authHeaders(url)), 'content-type': 'application/json' },
          body: Buffer.from('{}'),
          signal,
        },
        [200],
      );
      const r = JSON.parse(res.body) as { done?: boolean; rewriteToken?: string; resource?: FileMetadata };
      if (r.done && r.resource) return r.resource;
      if (!r.rewriteToken)
        throw new FerryError('retryable', 'gcs-error', `rewrite of ${src} answered neither done nor a rewriteToken`);
      token = r.rewriteToken;
    }
  }

  /** A server-side rewrite: no bytes travel through us, and the object keeps its metadata. */
  async copy(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const src = this.objectName(from);
    const dst = this.objectName(to);
    const sig = signal ?? new AbortController().signal;
    sig.throwIfAborted();
    try {
      const generation = await this.expectedGeneration(dst, to, sig);
      return this.entry(await this.rewrite(src, dst, { ifGenerationMatch: generation }, sig));
    } catch (err) {
      const fe = this.fail(err, `cannot copy ${from} to ${to}`, { remotePath: to });
      if (fe.code === 'remote-changed') this.generations.delete(dst);
      throw fe;
    }
  }

  /**
   * Cloud Storage has no rename: a rewrite of exactly the source generation Ferry saw
   * (`ifSourceGenerationMatch`) over what it saw at the target (`ifGenerationMatch`), then a delete of
   * that same source generation. A source another writer replaced meanwhile is a conflict and stays.
   */
  async move(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const src = this.objectName(from);
    const dst = this.objectName(to);
    const sig = signal ?? new AbortController().signal;
    sig.throwIfAborted();
    const what = `cannot move ${from} to ${to}`;
    let source = '';
    let meta: FileMetadata;
    try {
      source = await this.expectedGeneration(src, from, sig);
      if (source === '0')
        throw new FerryError('not-found', 'not-found', `destination "${this.id}": ${what}: ${from} is not there`, {
          context: { destination: this.id, remotePath: from },
        });
      const generation = await this.expectedGeneration(dst, to, sig);
      meta = await this.rewrite(src, dst, { ifSourceGenerationMatch: source, ifGenerationMatch: generation }, sig);
    } catch (err) {
      const fe = this.fail(err, what, { remotePath: to });
      if (fe.code !== 'remote-changed') throw fe;
      this.generations.delete(src);
      this.generations.delete(dst);
      // Which precondition failed: a changed source must not move; a changed target is retried like an upload.
      const now = await this.stat(from, sig).catch(() => undefined);
      if (now?.version !== source)
        throw new FerryError(
          'conflict',
          'remote-changed',
          `destination "${this.id}": ${what}: another writer replaced ${from} since Ferry saw it; it stays where it is`,
          {
            context: fe.context,
            cause: fe,
            hint: 'the next pass compares both sides again before moving anything',
          },
        );
      throw fe;
    }
    const entry = this.entry(meta);
    await this.deleteGeneration(src, from, source, `moved ${from} to ${to}, but cannot delete ${from}`);
    return entry;
  }

  /** A V4 signed URL that lets anyone holding it read the object for `expiresSec` seconds (≤ 7 days). */
  async shareLink(path: string, expiresSec: number): Promise<string> {
    const name = this.objectName(path);
    this.client();
    if (!this.account)
      throw new FerryError(
        'permanent',
        'share-needs-key',
        `destination "${this.id}": share links need a service-account key`,
        {
          context: { destination: this.id, remotePath: path },
          hint: "set key_file on this destination: signing a link needs the service account's private key",
        },
      );
    const seconds = Math.min(Math.max(1, Math.floor(expiresSec)), 7 * 24 * 3600);
    try {
      const [url] = await this.bucket()
        .file(name)
        .getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + seconds * 1000 });
      return url;
    } catch (err) {
      throw this.fail(err, `cannot sign a link to ${path}`, { remotePath: path });
    }
  }

  async close(): Promise<void> {
    this.raw.close();
  }
}

// ---- helpers ------------------------------------------------------------------------------------------

function cancelled(path: string): FerryError {
  return new FerryError('cancelled', 'cancelled', `upload of ${path} was cancelled`, { context: { remotePath: path } });
}

function changed(path: string, source: UploadSource): FerryError {
  return new FerryError(
    'source-changed',
    'source-changed',
    `${source.absPath} changed since it was scanned; ${path} was not published`,
    {
      context: { remotePath: path, path: source.absPath },
    },
  );
}

function sameContent(hashes: { sha256: string; md5?: string }, source: UploadSource): boolean {
  return (
    hashes.sha256 === source.hashes.sha256 && (source.hashes.md5 === undefined || source.hashes.md5 === hashes.md5)
  );
}

function crc32c(data: Buffer): string {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
}

/** The last byte a 308 says the service holds, plus one (`Range: bytes=0-N`); 0 when it holds none. */
function rangeEnd(range: string | undefined): number {
  const m = /bytes=0-(\d+)/.exec(range ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

async function readFull(fh: FileHandle, buf: Buffer, position: number, length: number): Promise<number> {
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

async function readInto(
  fh: FileHandle,
  start: number,
  end: number,
  signal: AbortSignal,
  sink: (b: Buffer) => void,
): Promise<void> {
  const buf = Buffer.allocUnsafe(READ_PIECE);
  for (let pos = start; pos < end;) {
    if (signal.aborted) throw new FerryError('cancelled', 'cancelled', 'cancelled');
    const n = await readFull(fh, buf, pos, Math.min(READ_PIECE, end - pos));
    if (n === 0)
      throw new FerryError('source-changed', 'source-changed', 'the file is shorter than when it was scanned');
    sink(buf.subarray(0, n));
    pos += n;
  }
}

async function hashFile(absPath: string, size: number, signal: AbortSignal) {
  const fh = await open(absPath, 'r');
  try {
    const h = new MultiHash(['md5']);
    await readInto(fh, 0, size, signal, (b) => h.update(b));
    return h.digest();
  } finally {
    await fh.close();
  }
}
