import { sendPaced } from '../kit/pacedBody';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Dropbox, type DropboxResponse, type files } from 'dropbox';
import type { DestinationConfig } from '../../../../shared/config';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import type { Hashes } from '../../../../shared/hashes';
import { isTempName } from '../../scan/ignoreRules';
import { TempNames } from '../tempNames';
import { dropboxContentHash, MultiHash } from '../../scan/multiHash';
import type { ProviderDeps } from '../types';
import { normalizeRemotePath } from '../remotePath';
import type {
  BatchUpload,
  ChangeFeed,
  CheckOptions,
  Destination,
  ProviderFeatures,
  RemoteEntry,
  RemoteTrash,
  ServerSideCopy,
  ServerSideMove,
  TransferOpts,
  UploadSource,
} from '../types';
import { classify, errorBody, errorTags, isDropboxHttpError } from './dropboxErrors';
import { checkDropboxName } from './names';
import { AccessTokens } from './oauth';
import { Transport } from './dropboxTransport';

export type DropboxDestinationConfig = Extract<DestinationConfig, { type: 'dropbox' }>;

const MiB = 1024 * 1024;
/** Dropbox refuses a single request body above 150 MB (files/upload, and each session append). */
export const DROPBOX_MAX_REQUEST = 150 * MiB;

/** Seconds a longpoll waits for a change (30–480), and the jitter Dropbox may add to it (up to 90 s). */
const LONGPOLL_TIMEOUT_S = 30;
const LONGPOLL_JITTER_S = 90;

export type DropboxTuning = {
  /** Files up to this size go in one files/upload; larger ones through an upload session. */
  singleUploadBytes?: number;
  /** Bytes per session append: a multiple of 4 MiB, as Dropbox asks. */
  chunkBytes?: number;
  /** Per-request timeout (a stalled answer fails the request; the pool retries it). */
  timeoutMs?: number;
};

/** What Dropbox says of a file (FileMetadata), as far as Ferry reads it. */
type FileMeta = {
  '.tag'?: string;
  name: string;
  path_lower?: string;
  path_display?: string;
  rev: string;
  size: number;
  content_hash?: string;
  client_modified: string;
};

/** An interrupted upload session, kept in deps.resume after every acknowledged append. */
type SessionState = { v: 1; sessionId: string; offset: number };

type Prepared = { index: number; rel: string; path: string; buf: Buffer; hashes: Hashes; source: UploadSource };

/**
 * Dropbox (API v2, through the official SDK). Files are committed atomically by Dropbox — a file
 * appears under its name only when its upload (or its session) is committed — so nothing partial is
 * ever visible and no temporary names are needed. Every upload hashes exactly the bytes it sends
 * (SHA-256 against the index, Dropbox's content_hash against what Dropbox reports), passes the
 * content_hash for Dropbox to check too, and never overwrites a file Ferry did not ship there.
 *
 * Tags: Dropbox keeps no free metadata on files (file properties need a template created by a team
 * admin), so `features.tags` is false and tags stay in Ferry's history only.
 */
export class DropboxDestination
  implements Destination, ServerSideMove, ServerSideCopy, BatchUpload, ChangeFeed, RemoteTrash
{
  readonly type = 'dropbox';
  readonly features: ProviderFeatures = {
    hashes: ['dropbox'],
    caseInsensitive: true,
    emptyFoldersStay: true,
    resumable: true,
    maxSingleUpload: DROPBOX_MAX_REQUEST,
    tags: false,
    conditionalWrites: true,
    versionPerWrite: true,
  };
  /** Small files go as one batch (start_batch, appends, one finish_batch_v2): one write-lock round for many files. */
  readonly batchLimits = { files: 200, bytes: 32 * MiB, fileSize: 4 * MiB };
  readonly id: string;
  /** The folder in the account that stands for the destination's root: '' (the account's root) or '/A/b'. */
  private readonly base: string;
  private readonly transport: Transport;
  private readonly tokens: AccessTokens;
  private readonly single: number;
  private readonly chunk: number;
  /** Batch commits for one account run one after another. */
  private commits: Promise<unknown> = Promise.resolve();

  /** This instance's temporary names (ProviderDeps.temp). */
  private readonly temp: TempNames;

  constructor(
    cfg: DropboxDestinationConfig,
    private readonly deps: Pick<ProviderDeps, 'secret' | 'resume' | 'temp'>,
    tuning: DropboxTuning = {},
  ) {
    this.id = cfg.id;
    this.temp = deps.temp ?? new TempNames();
    const parts = [...segments(cfg.root ?? '/'), ...segments(normalizeRemotePath(cfg.prefix ?? ''))];
    this.base = parts.length === 0 ? '' : `/${parts.join('/')}`;
    this.transport = new Transport(cfg.endpoint, tuning.timeoutMs);
    this.tokens = new AccessTokens(
      cfg.app_key,
      () => deps.secret(cfg.refresh_token, `destination "${cfg.id}": refresh_token`),
      this.transport.fetch(),
    );
    this.single = tuning.singleUploadBytes ?? 8 * MiB;
    this.chunk = tuning.chunkBytes ?? 8 * MiB;
    if (this.chunk % (4 * MiB) !== 0 || this.chunk > DROPBOX_MAX_REQUEST)
      throw new Error('Dropbox session chunks are a multiple of 4 MiB, at most 148 MiB');
  }

  // ---- paths -----------------------------------------------------------------------------------

  private dbxPath(rel: string): string {
    return rel === '' ? this.base : `${this.base}/${rel}`;
  }

  /** A destination path, normalized and checked against Dropbox's name rules. */
  private target(path: string): string {
    // A backslash is a character of the name here, not a separator: Dropbox cannot hold it.
    if (path.includes('\\')) checkDropboxName(path, this.id);
    const rel = normalizeRemotePath(path);
    checkDropboxName(rel, this.id);
    return rel;
  }

  /** The destination-relative path of what Dropbox lists, in the case it displays. */
  private relOf(meta: { path_display?: string; path_lower?: string }): string | undefined {
    const display = meta.path_display ?? meta.path_lower;
    if (!display) return undefined;
    if (this.base === '') return display.slice(1);
    if (!display.toLowerCase().startsWith(`${this.base.toLowerCase()}/`)) return undefined;
    return display.slice(this.base.length + 1);
  }

  private entry(rel: string, meta: FileMeta): RemoteEntry {
    const mtime = Date.parse(meta.client_modified);
    return {
      path: rel,
      size: meta.size,
      ...(Number.isFinite(mtime) ? { mtimeMs: mtime } : {}),
      ...(meta.content_hash ? { hashes: { dropbox: meta.content_hash } } : {}),
      version: meta.rev,
    };
  }

  // ---- what Ferry shipped ------------------------------------------------------------------------
  // Ferry overwrites only files it put there itself: the revision it wrote at each path is kept beside
  // the resumable sessions (deps.resume, under a key no remote path can take). Anything else at the
  // path is someone else's file, and an upload there is a conflict (mode add, autorename off).

  private shippedKey(rel: string): string {
    return `/shipped/${rel}`;
  }

  private shippedRev(rel: string): string | undefined {
    const s = this.deps.resume.load(this.id, this.shippedKey(rel), 'rev') as { rev?: unknown } | undefined;
    return typeof s?.rev === 'string' ? s.rev : undefined;
  }

  private rememberShipped(rel: string, rev: string): void {
    this.deps.resume.save(this.id, this.shippedKey(rel), 'rev', { rev });
  }

  private forgetShipped(rel: string): void {
    this.deps.resume.clear(this.id, this.shippedKey(rel));
  }

  /**
   * How an upload may write: over exactly the revision a two-way plan saw (`update`: Dropbox refuses if
   * it changed since), only where nothing is (`add`), or over what Ferry itself put there.
   */
  private writeMode(rel: string, replaces?: string | null): { '.tag': 'add' } | { '.tag': 'update'; update: string } {
    if (typeof replaces === 'string') return { '.tag': 'update', update: replaces };
    if (replaces === null) return { '.tag': 'add' };
    // Over what Ferry shipped only while it is still that revision: another writer's change since is a
    // conflict, never overwritten (WriteMode.update: "Overwrite if the given "rev" matches the existing
    // file's "rev"", files.stone).
    const shipped = this.shippedRev(rel);
    return shipped === undefined ? { '.tag': 'add' } : { '.tag': 'update', update: shipped };
  }

  // ---- calls -------------------------------------------------------------------------------------

  /**
   * One Dropbox call with a fresh (or cached) access token. An answer of 401 expired_access_token
   * (or invalid_access_token) gets one token refresh and one more try of the same request; every other
   * failure is classified (see errors.ts), the original error kept as the FerryError's cause.
   */
  private async call<T>(
    what: string,
    ctx: ErrorContext,
    signal: AbortSignal | undefined,
    fn: (dbx: Dropbox, token: string) => Promise<DropboxResponse<T>>,
  ): Promise<T> {
    let refreshed = false;
    for (;;) {
      if (signal?.aborted) throw cancelled(what, ctx);
      const token = await this.tokens.get(signal).catch((err: unknown) => {
        throw signal?.aborted ? cancelled(what, ctx) : classify(err, what, ctx);
      });
      const dbx = new Dropbox({ accessToken: token, fetch: this.transport.fetch(signal) });
      try {
        return (await fn(dbx, token)).result;
      } catch (err) {
        if (signal?.aborted) throw cancelled(what, ctx);
        const first = errorTags(err)[0];
        if (
          !refreshed &&
          isDropboxHttpError(err) &&
          err.status === 401 &&
          (first === 'expired_access_token' || first === 'invalid_access_token')
        ) {
          this.tokens.invalidate(token);
          refreshed = true;
          continue;
        }
        throw classify(err, what, ctx);
      }
    }
  }

  private ctx(rel: string): ErrorContext {
    return { destination: this.id, remotePath: rel };
  }

  // ---- check -------------------------------------------------------------------------------------

  async check(signal?: AbortSignal, opts: CheckOptions = {}): Promise<void> {
    const where = this.base || '/';
    const as = (code: string, err: FerryError, message: string, hint?: string) =>
      new FerryError(err.kind === 'auth' || code === 'auth-failed' ? 'auth' : 'permanent', code, message, {
        context: { destination: this.id },
        cause: err,
        ...((hint ?? err.hint) ? { hint: hint ?? err.hint } : {}),
      });
    const named = (message: string) =>
      message.startsWith(`destination "${this.id}"`) ? message : `destination "${this.id}": ${message}`;
    /** Failures any step can meet: no answer at all, or credentials refused. */
    const common = (err: FerryError): FerryError | undefined => {
      if (err.code === 'unreachable' || err.code === 'server-error')
        return as('unreachable', err, `destination "${this.id}": cannot reach Dropbox (${err.message})`);
      if (err.kind === 'auth' && err.code !== 'missing-scope') return as('auth-failed', err, named(err.message));
      return undefined;
    };
    const ctx = { destination: this.id };
    // 1 + 2: reachable, and the refresh token still buys an access token.
    try {
      await this.tokens.get(signal);
    } catch (raw) {
      const err = classify(raw, 'sign in to Dropbox', ctx);
      throw common(err) ?? as('auth-failed', err, named(err.message));
    }
    // 3: the root folder exists, or can be made.
    if (this.base !== '') {
      let meta: { '.tag'?: string } | undefined;
      try {
        meta = await this.call('look up the root folder', ctx, signal, (d) => d.filesGetMetadata({ path: this.base }));
      } catch (raw) {
        const err = raw as FerryError;
        if (err.kind !== 'not-found') throw common(err) ?? as('container-missing', err, err.message);
      }
      if (meta && meta['.tag'] !== 'folder')
        throw new FerryError(
          'conflict',
          'container-missing',
          `destination "${this.id}": ${where} in Dropbox is a file, not a folder`,
          {
            context: ctx,
            hint: 'point root (or prefix) at a folder, or rename that file in Dropbox',
          },
        );
      // A routine pass creates nothing: the first upload makes the folder (Dropbox makes parents).
      if (!meta && opts.write !== false)
        try {
          await this.call('create the root folder', ctx, signal, (d) =>
            d.filesCreateFolderV2({ path: this.base, autorename: false }),
          );
        } catch (raw) {
          const err = raw as FerryError;
          if (err.kind !== 'conflict') {
            const c = common(err);
            if (c) throw c;
            throw as(
              'container-missing',
              err,
              `destination "${this.id}": the folder ${where} does not exist in Dropbox and Ferry may not create it (${err.message})`,
              'create the folder in Dropbox (or fix root and prefix), or give the app write access there',
            );
          }
        }
    }
    if (opts.write === false) return;
    // 4: writable: a probe file is written and removed.
    const probe = `${this.base}/${this.temp.fileName('probe-')}`;
    try {
      await this.call('write a probe file', ctx, signal, (d) =>
        d.filesUpload({
          path: probe,
          mode: { '.tag': 'add' },
          autorename: false,
          mute: true,
          contents: Buffer.from('ferry probe\n'),
        }),
      );
      await this.call('remove the probe file', ctx, signal, (d) => d.filesDeleteV2({ path: probe }));
    } catch (raw) {
      const err = raw as FerryError;
      const c = common(err);
      if (c) throw c;
      throw as(
        'read-only',
        err,
        `destination "${this.id}": Ferry cannot write in ${where} in Dropbox (${err.message})`,
        err.code === 'missing-scope'
          ? 'the Dropbox app was not granted files.content.write: reconnect Dropbox with an app that may write files'
          : err.code === 'quota'
            ? err.hint
            : 'give the app write access to that folder in Dropbox, or choose another root',
      );
    }
  }

  // ---- read --------------------------------------------------------------------------------------

  async stat(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined> {
    const rel = normalizeRemotePath(path);
    try {
      const meta = await this.call('look up', this.ctx(rel), signal, (d) =>
        d.filesGetMetadata({ path: this.dbxPath(rel) }),
      );
      return meta['.tag'] === 'file' ? this.entry(rel, meta as FileMeta) : undefined;
    } catch (err) {
      if (err instanceof FerryError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  /**
   * Every file below `prefix`, recursively. Paths are built from `path_lower`: path_display guarantees
   * only the last component's case ("at least the last path component will have the correct casing",
   * files.stone Metadata.path_display), so each parent takes the case of its own folder entry (`name`,
   * met before its children) and the listed folder the case the caller gave. A cursor Dropbox resets
   * (ListFolderContinueError.reset: "Call list_folder to obtain a new cursor") starts the listing over;
   * files already yielded are not yielded twice.
   */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry> {
    const rel = normalizeRemotePath(prefix);
    const ctx = this.ctx(rel);
    const yielded = new Set<string>();
    for (let restarts = 0; ; restarts++) {
      let page: files.ListFolderResult;
      try {
        page = await this.call('list', ctx, signal, (d) =>
          d.filesListFolder({ path: this.dbxPath(rel), recursive: true, limit: 2000, include_deleted: false }),
        );
      } catch (err) {
        // Nothing there yet (or a file where the prefix would be a folder): nothing below it.
        if (err instanceof FerryError && (err.kind === 'not-found' || errorTags(err.cause).includes('not_folder')))
          return;
        throw err;
      }
      /** Folders met so far, path_lower → destination-relative path in the folder's own case. */
      const folders = new Map<string, string>([[this.dbxPath(rel).toLowerCase(), rel]]);
      try {
        for (;;) {
          for (const e of page.entries) {
            if (e['.tag'] !== 'file' && e['.tag'] !== 'folder') continue;
            const path = this.casedRel(e, folders);
            if (path === undefined || path === '') continue;
            if (e['.tag'] === 'folder') {
              const key = (e.path_lower ?? '').toLowerCase();
              // The listed folder itself keeps the caller's case.
              if (!folders.has(key)) folders.set(key, path);
              continue;
            }
            const lower = (e.path_lower ?? path).toLowerCase();
            if (yielded.has(lower)) continue;
            yielded.add(lower);
            const entry = this.entry(path, e as unknown as FileMeta);
            // A probe file left by a check that was interrupted: removed by the next run's listing.
            if (isTempName(e.name)) entry.partial = true;
            yield entry;
          }
          if (!page.has_more) return;
          const cursor = page.cursor;
          page = await this.call('list', ctx, signal, (d) => d.filesListFolderContinue({ cursor }));
        }
      } catch (err) {
        if (restarts < 3 && err instanceof FerryError && errorTags(err.cause)[0] === 'reset') continue;
        throw err;
      }
    }
  }

  /**
   * The destination-relative path of a listed entry: its parents in the case of their own folder entries
   * (known below the listed folder), its name as Dropbox gives it; path_display's parents only for a
   * parent not seen.
   */
  private casedRel(
    meta: { name: string; path_lower?: string; path_display?: string },
    folders: ReadonlyMap<string, string>,
  ): string | undefined {
    const lower = meta.path_lower?.toLowerCase();
    if (!lower) return this.relOf(meta);
    const cut = lower.lastIndexOf('/');
    const parent = folders.get(lower.slice(0, cut));
    if (parent !== undefined) return parent === '' ? meta.name : `${parent}/${meta.name}`;
    const display = this.relOf(meta);
    if (display === undefined) return undefined;
    const slash = display.lastIndexOf('/');
    return slash < 0 ? meta.name : `${display.slice(0, slash)}/${meta.name}`;
  }

  /**
   * A download streamed into a temporary file beside the target, hashed as it is written, checked
   * against the size and content_hash Dropbox reports, then renamed into place: memory holds a few
   * pieces of the answer at a time, never the file (the SDK's filesDownload reads the whole answer).
   */
  /** A revision Dropbox keeps (files/download takes `rev:<rev>` as its path: files.stone, DownloadArg.path). */
  downloadVersion(version: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    if (!/^[0-9a-f]{9,}$/.test(version))
      throw new FerryError('permanent', 'invalid-revision', `"${version}" is not a Dropbox revision`);
    return this.download('', toAbsPath, opts, `rev:${version}`);
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts, apiPath?: string): Promise<RemoteEntry> {
    const rel = normalizeRemotePath(path);
    const ctx = this.ctx(rel);
    const writeFailed = (err: unknown) =>
      new FerryError(
        'permanent',
        (err as NodeJS.ErrnoException).code ?? 'EIO',
        `cannot write ${toAbsPath}: ${(err as Error).message}`,
        {
          context: ctx,
          cause: err,
        },
      );
    await mkdir(dirname(toAbsPath), { recursive: true }).catch((err: unknown) => {
      throw writeFailed(err);
    });
    const tmp = join(dirname(toAbsPath), this.temp.fileName());
    try {
      const got = await this.call('download', ctx, opts.signal, async (_d, token) => ({
        status: 200,
        headers: {},
        result: await this.downloadInto(apiPath ?? this.dbxPath(rel), token, tmp, opts, writeFailed),
      }));
      const { meta, hashes, size } = got;
      if (size !== meta.size || (meta.content_hash !== undefined && meta.content_hash !== hashes.dropbox))
        throw new FerryError(
          'retryable',
          'verify-failed',
          `${rel}: the bytes downloaded do not match what Dropbox reports`,
          {
            context: ctx,
          },
        );
      await rename(tmp, toAbsPath).catch((err: unknown) => {
        throw writeFailed(err);
      });
      return { ...this.entry(rel, meta), hashes: { sha256: hashes.sha256, dropbox: hashes.dropbox as string } };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** files/download's answer piped into `tmp` (made anew on each try), hashed on the way. */
  private async downloadInto(
    dbxPath: string,
    token: string,
    tmp: string,
    opts: TransferOpts,
    writeFailed: (err: unknown) => FerryError,
  ): Promise<{ meta: FileMeta; hashes: Hashes; size: number }> {
    const res = await this.transport.request('https://content.dropboxapi.com/2/files/download', {
      headers: { authorization: `Bearer ${token}`, 'dropbox-api-arg': headerArg({ path: dbxPath }) },
      signal: opts.signal,
    });
    if (res.statusCode !== 200) {
      // The SDK's DropboxResponseError, as classify() reads it: the status, headers and parsed body.
      const text = (await readSmall(res)).toString('utf8');
      let error: unknown = text;
      try {
        error = JSON.parse(text);
      } catch {
        // plain text (a 400): kept as is
      }
      throw {
        name: 'DropboxResponseError',
        status: res.statusCode ?? 0,
        headers: { get: (n: string) => headerValue(res.headers[n.toLowerCase()]) },
        error,
      };
    }
    const meta = JSON.parse(headerValue(res.headers['dropbox-api-result']) ?? '{}') as FileMeta;
    const hasher = new MultiHash(['dropbox']);
    let size = 0;
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, 'w');
    } catch (err) {
      res.destroy();
      throw writeFailed(err);
    }
    try {
      // One piece of the answer at a time: read, hashed, written, then the next.
      for await (const chunk of res as AsyncIterable<Buffer>) {
        hasher.update(chunk);
        await fh.write(chunk).catch((err: unknown) => {
          res.destroy();
          throw writeFailed(err);
        });
        size += chunk.length;
        opts.onProgress?.(size);
      }
      await fh.datasync().catch((err: unknown) => {
        throw writeFailed(err);
      });
    } finally {
      await fh.close().catch(() => undefined);
    }
    return { meta, hashes: hasher.digest(), size };
  }

  // ---- write -------------------------------------------------------------------------------------

  /**
   * Waits on list_folder/longpoll (Dropbox's change notification: one open request, no polling) and
   * calls `onChange` each time something changed below the root; a fresh cursor is taken before each
   * call, so a change made while the caller relists is reported by the next wait. A longpoll blocks
   * "for at most this length of time, plus up to 90 seconds of random jitter" (files.stone,
   * ListFolderLongpollArg.timeout): its request waits that long before it counts as stalled. An answer's
   * `backoff` is waited out before the next longpoll; a `reset` cursor may have hidden changes, so it is
   * reported as a change (the caller relists) and a new cursor taken.
   */
  async watchChanges(onChange: () => void, signal: AbortSignal): Promise<void> {
    const ctx = this.ctx('');
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const t = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    const latest = async () =>
      (
        await this.call('watch for changes', ctx, signal, (d) =>
          d.filesListFolderGetLatestCursor({ path: this.dbxPath(''), recursive: true }),
        )
      ).cursor;
    while (!signal.aborted) {
      try {
        let cursor = await latest();
        while (!signal.aborted) {
          const res = await this.longpoll(cursor, signal);
          if (res.changes) {
            cursor = await latest();
            onChange();
          }
          if (res.backoff) await sleep(res.backoff * 1000);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof FerryError && errorTags(err.cause)[0] === 'reset') {
          onChange();
          continue;
        }
        // A lost connection: start over with a fresh cursor, a little later.
        const wait = err instanceof FerryError && err.retryAfterMs ? err.retryAfterMs : 5000;
        await sleep(wait);
      }
    }
  }

  /** One list_folder/longpoll (no token: the notify host takes none), with a timeout beyond its jitter. */
  private async longpoll(cursor: string, signal: AbortSignal): Promise<files.ListFolderLongpollResult> {
    const dbx = new Dropbox({
      fetch: this.transport.fetch(signal, (LONGPOLL_TIMEOUT_S + LONGPOLL_JITTER_S + 30) * 1000),
    });
    try {
      return (await dbx.filesListFolderLongpoll({ cursor, timeout: LONGPOLL_TIMEOUT_S })).result;
    } catch (err) {
      if (signal.aborted) throw cancelled('watch for changes', this.ctx(''));
      throw classify(err, 'watch for changes', this.ctx(''));
    }
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const rel = normalizeRemotePath(path);
    try {
      await this.call('delete', this.ctx(rel), signal, (d) => d.filesDeleteV2({ path: this.dbxPath(rel) }));
    } catch (err) {
      if (!(err instanceof FerryError && err.kind === 'not-found')) throw err;
    }
    this.forgetShipped(rel);
  }

  /** Dropbox keeps what is deleted (30 days or more, by plan) and can restore it: a delete is a trash. */
  async trash(path: string, signal?: AbortSignal): Promise<string> {
    await this.delete(path, signal);
    return "Dropbox's deleted files";
  }

  async move(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const src = normalizeRemotePath(from);
    const dst = this.target(to);
    const res = await this.call('move', this.ctx(dst), signal, (d) =>
      d.filesMoveV2({ from_path: this.dbxPath(src), to_path: this.dbxPath(dst), autorename: false }),
    ).catch((err: FerryError) => this.explainConflict(dst, err, signal));
    const meta = res.metadata as unknown as FileMeta;
    this.forgetShipped(src);
    this.rememberShipped(dst, meta.rev);
    return this.entry(dst, meta);
  }

  async copy(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const src = normalizeRemotePath(from);
    const dst = this.target(to);
    const res = await this.call('copy', this.ctx(dst), signal, (d) =>
      d.filesCopyV2({ from_path: this.dbxPath(src), to_path: this.dbxPath(dst), autorename: false }),
    ).catch((err: FerryError) => this.explainConflict(dst, err, signal));
    const meta = res.metadata as unknown as FileMeta;
    this.rememberShipped(dst, meta.rev);
    return this.entry(dst, meta);
  }

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const rel = this.target(path);
    if (source.size > this.single) return this.uploadSession(rel, source, opts);
    const ctx = this.ctx(rel);
    const { buf, hashes } = await readWhole(source, ctx);
    if (opts.signal.aborted) throw cancelled('upload', ctx);
    const meta = (await sendPaced(buf, opts.pace, opts.signal, (body, signal) =>
      this.call('upload', ctx, signal, (d) =>
        d.filesUpload({
          path: this.dbxPath(rel),
          mode: this.writeMode(rel, source.replaces),
          autorename: false,
          mute: true,
          client_modified: clientModified(source.mtimeMs),
          content_hash: hashes.dropbox,
          contents: body(),
        }),
      ),
    ).catch((err: FerryError) => this.explainConflict(rel, err, opts.signal, source.replaces))) as unknown as FileMeta;
    opts.onProgress?.(buf.length);
    return this.committed(rel, meta, hashes, source);
  }

  /**
   * What Dropbox committed must be what we hashed; a name that came back in another case means the
   * file landed on an existing file whose name differs only by case (identical content is no conflict
   * for Dropbox): that is the other file's place, not this one's.
   */
  private committed(rel: string, meta: FileMeta, hashes: Hashes, source: UploadSource): RemoteEntry {
    const ctx = this.ctx(rel);
    if (meta.content_hash !== hashes.dropbox || meta.size !== source.size)
      throw new FerryError('retryable', 'verify-failed', `${rel}: Dropbox holds other bytes than the ones sent`, {
        context: ctx,
      });
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (meta.name !== name) throw caseConflict(this.relOf(meta) ?? meta.name, ctx);
    this.rememberShipped(rel, meta.rev);
    return this.entry(rel, meta);
  }

  /**
   * A conflict explained: a name that differs only by case, a file changed since a two-way plan saw
   * it (`replaces` given), or a file Ferry did not put there.
   */
  private async explainConflict(
    rel: string,
    err: FerryError,
    signal?: AbortSignal,
    replaces?: string | null,
  ): Promise<never> {
    if (err.kind !== 'conflict') throw err;
    const there = await this.call('look up', this.ctx(rel), signal, (d) =>
      d.filesGetMetadata({ path: this.dbxPath(rel) }),
    ).catch(() => undefined);
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (there && there.name !== name) throw caseConflict(this.relOf(there) ?? there.name, this.ctx(rel));
    if (there?.['.tag'] === 'file' && replaces !== undefined)
      throw new FerryError('conflict', 'remote-changed', `${rel}: the copy in Dropbox changed since it was compared`, {
        context: this.ctx(rel),
        cause: err,
        hint: 'another writer changed it; the next pass compares both sides again and keeps both versions if they differ',
      });
    if (there?.['.tag'] === 'file' && this.shippedRev(rel) !== undefined)
      throw new FerryError('conflict', 'remote-changed', `${rel}: the copy in Dropbox changed since Ferry shipped it`, {
        context: this.ctx(rel),
        cause: err,
        hint: 'another writer changed it in Dropbox; Ferry keeps that version: compare the two and keep the one you want, then sync again',
      });
    if (there?.['.tag'] === 'file')
      throw new FerryError(
        'conflict',
        'conflict',
        'Dropbox already holds a file at this path that Ferry did not put there',
        {
          context: this.ctx(rel),
          cause: err,
          hint: "Ferry does not overwrite files it did not ship: move or remove that file in Dropbox (or change the rule's path), then sync again",
        },
      );
    throw err;
  }

  /**
   * A large file through an upload session: start, append_v2 in chunks (each acknowledged offset
   * saved in deps.resume), finish with the content_hash. After a restart the acknowledged prefix is
   * hashed again locally and the upload goes on from there; `incorrect_offset` says where Dropbox
   * really is (a lost answer), and a session Dropbox no longer knows (expired after 7 days) starts over.
   */
  private async uploadSession(rel: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const ctx = this.ctx(rel);
    const sha = source.hashes.sha256;
    const fh = await openSource(source, ctx);
    try {
      let hasher = new MultiHash(['dropbox']);
      let hashed = 0;
      const buf = Buffer.allocUnsafe(this.chunk);
      const readAt = async (pos: number, n: number): Promise<Buffer> => {
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead !== n) throw sourceChanged(source, ctx);
        return buf.subarray(0, n);
      };
      /** Brings the running hashes to `target` bytes (again from the start if Dropbox went back). */
      const hashTo = async (target: number) => {
        if (target < hashed) {
          hasher = new MultiHash(['dropbox']);
          hashed = 0;
        }
        while (hashed < target) {
          const n = Math.min(this.chunk, target - hashed);
          hasher.update(await readAt(hashed, n));
          hashed += n;
        }
      };
      const saved = this.deps.resume.load(this.id, rel, sha) as SessionState | undefined;
      let sessionId: string | undefined;
      let offset = 0;
      if (saved?.v === 1 && typeof saved.sessionId === 'string' && saved.offset > 0 && saved.offset <= source.size) {
        await hashTo(saved.offset);
        sessionId = saved.sessionId;
        offset = saved.offset;
        opts.onProgress?.(offset);
      }
      let restarts = 0;
      const startOver = () => {
        if (++restarts > 2)
          throw new FerryError('retryable', 'session-lost', `${rel}: Dropbox lost the upload session again`, {
            context: ctx,
          });
        this.deps.resume.clear(this.id, rel);
        sessionId = undefined;
        offset = 0;
        hasher = new MultiHash(['dropbox']);
        hashed = 0;
      };
      const moveTo = async (correct: number) => {
        await hashTo(correct);
        offset = correct;
        this.deps.resume.save(this.id, rel, sha, { v: 1, sessionId, offset } satisfies Partial<SessionState>);
      };
      for (;;) {
        while (offset < source.size) {
          if (opts.signal.aborted) throw cancelled('upload', ctx);
          const n = Math.min(this.chunk, source.size - offset);
          const piece = await readAt(offset, n);
          try {
            if (sessionId === undefined) {
              const r = await sendPaced(piece, opts.pace, opts.signal, (body, signal) =>
                this.call('start an upload session', ctx, signal, (d) =>
                  d.filesUploadSessionStart({ close: false, content_hash: callHash(piece), contents: body() }),
                ),
              );
              sessionId = r.session_id;
            } else {
              const cursor = { session_id: sessionId, offset };
              await sendPaced(piece, opts.pace, opts.signal, (body, signal) =>
                this.call('append to the upload session', ctx, signal, (d) =>
                  d.filesUploadSessionAppendV2({
                    cursor,
                    close: false,
                    content_hash: callHash(piece),
                    contents: body(),
                  }),
                ),
              );
            }
          } catch (err) {
            const fe = err as FerryError;
            const tags = errorTags(fe.cause);
            const correct = (errorBody(fe.cause) as { correct_offset?: unknown } | undefined)?.correct_offset;
            if (
              tags[0] === 'incorrect_offset' &&
              typeof correct === 'number' &&
              correct >= 0 &&
              correct <= source.size
            ) {
              await moveTo(correct);
              continue;
            }
            if (tags[0] === 'not_found' || tags[0] === 'closed') {
              startOver();
              continue;
            }
            throw fe; // the saved state stays: the pool's next try resumes from the last acknowledged offset
          }
          hasher.update(piece);
          hashed += n;
          offset += n;
          this.deps.resume.save(this.id, rel, sha, { v: 1, sessionId, offset } satisfies SessionState);
          opts.onProgress?.(offset);
        }
        const hashes = hasher.digest();
        if (!sameContent(hashes, source)) {
          this.deps.resume.clear(this.id, rel);
          throw sourceChanged(source, ctx);
        }
        if (sessionId === undefined) {
          const r = await this.call('start an upload session', ctx, opts.signal, (d) =>
            d.filesUploadSessionStart({ close: false, contents: Buffer.alloc(0) }),
          );
          sessionId = r.session_id;
        }
        const cursor = { session_id: sessionId, offset: source.size };
        let meta: FileMeta;
        try {
          meta = (await this.call('commit the upload session', ctx, opts.signal, (d) =>
            d.filesUploadSessionFinish({
              cursor,
              commit: {
                path: this.dbxPath(rel),
                mode: this.writeMode(rel, source.replaces),
                autorename: false,
                mute: true,
                client_modified: clientModified(source.mtimeMs),
              },
              // content_hash is "a hash of the file content uploaded in this call" (files.stone,
              // UploadSessionFinishArg): this call carries none, so none is given; the whole file is checked
              // against the content_hash of the metadata Dropbox answers (committed()).
              contents: Buffer.alloc(0),
            }),
          )) as unknown as FileMeta;
        } catch (err) {
          const fe = err as FerryError;
          const tags = errorTags(fe.cause);
          if (tags[0] === 'lookup_failed') {
            const body = errorBody(fe.cause) as { lookup_failed?: { correct_offset?: unknown } } | undefined;
            const correct = body?.lookup_failed?.correct_offset;
            if (
              tags[1] === 'incorrect_offset' &&
              typeof correct === 'number' &&
              correct >= 0 &&
              correct < source.size
            ) {
              await moveTo(correct);
              continue;
            }
            if (tags[1] === 'not_found') {
              // The commit may have happened with its answer lost: the file is there with our content.
              const there = (await this.call('look up', ctx, opts.signal, (d) =>
                d.filesGetMetadata({ path: this.dbxPath(rel) }),
              ).catch(() => undefined)) as unknown as FileMeta | undefined;
              if (there && there.content_hash === hashes.dropbox && there.size === source.size) {
                this.deps.resume.clear(this.id, rel);
                opts.onProgress?.(source.size);
                return this.committed(rel, there, hashes, source);
              }
            }
            startOver();
            continue;
          }
          if (fe.code === 'verify-failed') this.deps.resume.clear(this.id, rel); // Dropbox holds other bytes: start over
          if (fe.kind === 'conflict') this.deps.resume.clear(this.id, rel);
          return this.explainConflict(rel, fe, opts.signal, source.replaces);
        }
        this.deps.resume.clear(this.id, rel);
        opts.onProgress?.(source.size);
        return this.committed(rel, meta, hashes, source);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Many small files at once: one start_batch for their sessions, one append_v2 per file (its whole
   * content, closing the session), one finish_batch_v2 to commit them all. Each file succeeds or fails
   * alone: an entry refused with too_many_write_operations is rate-limited, one with internal_error is
   * looked up (it may have been committed) and otherwise retryable; a failure of the batch calls fails
   * the files it concerned.
   */
  async uploadBatch(
    items: readonly { path: string; source: UploadSource }[],
    opts: TransferOpts,
  ): Promise<(RemoteEntry | FerryError)[]> {
    const results: (RemoteEntry | FerryError | undefined)[] = items.map(() => undefined);
    const prepared: Prepared[] = [];
    for (const [index, { path, source }] of items.entries()) {
      try {
        const rel = this.target(path);
        if (source.size > this.batchLimits.fileSize) {
          results[index] = await this.upload(rel, source, opts);
          continue;
        }
        const { buf, hashes } = await readWhole(source, this.ctx(rel));
        prepared.push({ index, rel, path: this.dbxPath(rel), buf, hashes, source });
      } catch (err) {
        results[index] = classify(err, 'upload', { destination: this.id, remotePath: path });
      }
    }
    const fail = (list: readonly Prepared[], err: unknown) => {
      for (const p of list) results[p.index] = classify(err, 'upload', this.ctx(p.rel));
    };
    if (prepared.length > 0 && opts.signal.aborted) fail(prepared, cancelled('upload', { destination: this.id }));
    else if (prepared.length > 0) {
      const ctx = { destination: this.id };
      let ids: string[] | undefined;
      try {
        ids = (
          await this.call('start upload sessions', ctx, opts.signal, (d) =>
            d.filesUploadSessionStartBatch({ num_sessions: prepared.length }),
          )
        ).session_ids;
      } catch (err) {
        fail(prepared, err);
      }
      if (ids) {
        const sessions = ids;
        const sent: { p: Prepared; sessionId: string }[] = [];
        await eachLimit(prepared, 4, async (p, k) => {
          const sessionId = sessions[k] as string;
          try {
            if (opts.signal.aborted) throw cancelled('upload', this.ctx(p.rel));
            await sendPaced(p.buf, opts.pace, opts.signal, (body, signal) =>
              this.call('upload', this.ctx(p.rel), signal, (d) =>
                d.filesUploadSessionAppendV2({
                  cursor: { session_id: sessionId, offset: 0 },
                  close: true,
                  content_hash: p.hashes.dropbox,
                  contents: body(),
                }),
              ),
            );
            sent.push({ p, sessionId });
          } catch (err) {
            fail([p], err);
          }
        });
        if (sent.length > 0) {
          try {
            const entries = await this.finishBatch(
              sent.map(({ p, sessionId }) => ({
                cursor: { session_id: sessionId, offset: p.buf.length },
                commit: {
                  path: p.path,
                  mode: this.writeMode(p.rel, p.source.replaces),
                  autorename: false,
                  mute: true,
                  client_modified: clientModified(p.source.mtimeMs),
                },
                // No content_hash: an entry uploads no bytes in this call (UploadSessionFinishArg); the
                // append checked the bytes, committed() checks the file Dropbox made of them.
              })),
              opts.signal,
            );
            await Promise.all(
              sent.map(async ({ p }, k) => {
                const e = entries[k] as { '.tag': string; failure?: unknown } | undefined;
                try {
                  const failed = (e?.failure as { '.tag'?: unknown } | undefined)?.['.tag'];
                  if (e?.['.tag'] !== 'success' && failed === 'too_many_write_operations')
                    throw new FerryError(
                      'rate-limited',
                      'rate-limited',
                      `${p.rel}: Dropbox was too busy to commit it`,
                      {
                        context: this.ctx(p.rel),
                        retryAfterMs: 1000,
                        hint: 'Dropbox limits writes to one account at a time: Ferry waits and tries again',
                      },
                    );
                  if (e?.['.tag'] !== 'success' && (failed === 'internal_error' || failed === undefined)) {
                    // "You'll need to verify that the action you were taking succeeded, and if not, try again"
                    // (files.stone, internal_error of Dropbox's batch entries).
                    const there = (await this.call('look up', this.ctx(p.rel), opts.signal, (d) =>
                      d.filesGetMetadata({ path: p.path }),
                    ).catch(() => undefined)) as unknown as FileMeta | undefined;
                    if (there?.['.tag'] === 'file' && there.content_hash === p.hashes.dropbox) {
                      results[p.index] = this.committed(p.rel, there, p.hashes, p.source);
                      return;
                    }
                    throw new FerryError(
                      'retryable',
                      'batch-entry-failed',
                      `${p.rel}: Dropbox could not commit it (${String(failed ?? 'no answer')})`,
                      {
                        context: this.ctx(p.rel),
                      },
                    );
                  }
                  if (e?.['.tag'] !== 'success') {
                    const failure = e?.failure ?? { '.tag': 'other' };
                    const asHttp = {
                      name: 'DropboxResponseError',
                      status: 409,
                      headers: undefined,
                      error: { error: failure },
                    };
                    await this.explainConflict(
                      p.rel,
                      classify(asHttp, 'upload', this.ctx(p.rel)),
                      opts.signal,
                      p.source.replaces,
                    );
                  }
                  results[p.index] = this.committed(p.rel, e as unknown as FileMeta, p.hashes, p.source);
                } catch (err) {
                  results[p.index] = classify(err, 'upload', this.ctx(p.rel));
                }
              }),
            );
          } catch (err) {
            fail(
              sent.map((s) => s.p),
              err,
            );
          }
        }
      }
    }
    return results.map(
      (r) =>
        r ??
        new FerryError('permanent', 'no-result', 'the upload gave no result', { context: { destination: this.id } }),
    );
  }

  /**
   * upload_session/finish_batch_v2: synchronous, one result entry per session in order (files.stone,
   * route upload_session/finish_batch:2; v1 is deprecated). Batches for one account still go one after
   * another: each holds the account's write lock while it commits.
   */
  private finishBatch(entries: unknown[], signal: AbortSignal): Promise<unknown[]> {
    const run = async (): Promise<unknown[]> => {
      const res = await this.call('commit the batch', { destination: this.id }, signal, (d) =>
        d.filesUploadSessionFinishBatchV2({ entries: entries as never }),
      );
      return res.entries;
    };
    const next = this.commits.then(run, run);
    this.commits = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function segments(p: string): string[] {
  const parts = p
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (parts.includes('..'))
    throw new FerryError('permanent', 'invalid-root', `Dropbox root "${p}" climbs out of the account with ".."`, {
      hint: 'give root as a folder path in the Dropbox account, such as /Backups/laptop',
    });
  return parts;
}

/** JSON for the Dropbox-API-Arg header: ASCII only, anything else escaped as \uXXXX (Dropbox's JSON encoding page). */
function headerArg(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function headerValue(v: string | string[] | undefined): string | null {
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/** An error answer's body (a few hundred bytes of JSON or text), at most 64 KiB kept. */
async function readSmall(res: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (n < 64 * 1024) chunks.push(chunk);
    n += chunk.length;
  }
  return Buffer.concat(chunks);
}

/** The content_hash of one request's body: each upload call's own bytes, checked by Dropbox on arrival. */
function callHash(body: Buffer): string {
  return dropboxContentHash(body);
}

/** Dropbox's client_modified: UTC, whole seconds, "%Y-%m-%dT%H:%M:%SZ". */
function clientModified(mtimeMs: number): string {
  const ms = Number.isFinite(mtimeMs) && mtimeMs > 0 ? mtimeMs : Date.now();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function cancelled(what: string, context: ErrorContext): FerryError {
  return new FerryError('cancelled', 'cancelled', `${what} was cancelled`, { context });
}

function caseConflict(existing: string, context: ErrorContext): FerryError {
  return new FerryError(
    'conflict',
    'case-conflict',
    `Dropbox already holds "${existing}", whose name differs from this one only by case (Dropbox names ignore case)`,
    {
      context,
      hint: 'rename one of the two files so that their names differ by more than upper/lower case; the other files are shipped',
    },
  );
}

function sourceChanged(source: UploadSource, context: ErrorContext): FerryError {
  return new FerryError('source-changed', 'source-changed', `${source.absPath} changed while it was being shipped`, {
    context: { ...context, path: source.absPath },
  });
}

async function openSource(source: UploadSource, context: ErrorContext): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(source.absPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FerryError('source-changed', 'source-gone', `${source.absPath} is gone`, { context, cause: err });
    throw new FerryError(
      'permanent',
      (err as NodeJS.ErrnoException).code ?? 'EIO',
      `cannot read ${source.absPath}: ${(err as Error).message}`,
      {
        context,
        cause: err,
      },
    );
  }
  const st = await fh.stat();
  if (st.size !== source.size) {
    await fh.close();
    throw sourceChanged(source, context);
  }
  return fh;
}

/** A small file read whole, hashed as read; refused when it is not the content the index holds. */
async function readWhole(source: UploadSource, context: ErrorContext): Promise<{ buf: Buffer; hashes: Hashes }> {
  const fh = await openSource(source, context);
  try {
    // One byte more than expected: a file that grew is caught here too.
    const buf = Buffer.allocUnsafe(source.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) break;
    }
    const data = buf.subarray(0, got);
    const hashes = new MultiHash(['dropbox']).update(data).digest();
    if (got !== source.size || !sameContent(hashes, source)) throw sourceChanged(source, context);
    return { buf: data, hashes };
  } finally {
    await fh.close();
  }
}

/** The bytes read are the ones the index describes: its SHA-256, and its Dropbox hash when it holds one. */
function sameContent(read: Hashes, source: UploadSource): boolean {
  return (
    read.sha256 === source.hashes.sha256 &&
    (source.hashes.dropbox === undefined || read.dropbox === source.hashes.dropbox)
  );
}

async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
