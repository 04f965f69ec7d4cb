import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { Client, FileInfo } from 'basic-ftp';
import type { DestinationConfig } from '../../../../shared/config';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isTempName } from '../../scan/ignoreRules';
import { TempNames } from '../tempNames';
import { absBelow, credentialsOrAuthFailure, DirCache, probeFailure, RemoteRoots } from '../kit/remoteTree';
import { VERSIONS_DIR } from '../../versions/versionName';
import { fsError } from '../fsErrors';
import type { ProviderDeps } from '../types';
import { joinAbs, normalizeRemotePath, parentAbs, secondApart, tempPathBeside } from '../remotePath';
import type {
  CheckOptions,
  Destination,
  ProviderFeatures,
  RemoteEntry,
  ServerSideMove,
  TransferOpts,
  UploadSource,
} from '../types';
import { stoppedForPause } from '../types';
import { classify, isConnectionError, replyCode } from './ftpErrors';
import { FtpPool, openClient } from './ftpPool';
import { uploadThrough } from './ftpTransfer';

export type FtpDestinationConfig = Extract<DestinationConfig, { type: 'ftp' }>;

export type FtpTuning = {
  /** Uploads at least this big keep their temporary file across failures and resume it (REST). */
  resumeMinBytes: number;
};

const DEFAULT_TUNING: FtpTuning = { resumeMinBytes: 8 * 1024 * 1024 };
const READ_CHUNK = 256 * 1024;
const RESUME_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** How the server can hash a file (FEAT), if it can. */
type HashCommand = { kind: 'sha256' | 'md5'; verb: 'HASH' | 'XSHA256' | 'XMD5'; opts?: string };

/** What the server offers, learned from FEAT on the first connection. */
type ServerFeatures = { mlst: boolean; mfmt: boolean; rest: boolean; hash: HashCommand | undefined };

type ResumeState = { temp: string; savedAt: number };

export type FtpMethods = {
  verification: 'HASH sha256' | 'HASH md5' | 'XSHA256' | 'XMD5' | 'SIZE';
  /** What a file's version is made of: MLSD's exact time with the size, or the size alone (LIST only). */
  versions: 'size and time' | 'size';
};

/**
 * An FTP or FTPS server (explicit TLS with AUTH TLS by default, implicit TLS, or plain FTP), in passive
 * mode. Uploads go to a temporary name in the target's folder (STOR), are checked, then renamed into
 * place (RNFR/RNTO). The bytes sent are hashed as they go and must match the index. Verification is
 * the server's SIZE, plus its hash where FEAT offers one (HASH, XSHA256 or XMD5; pure-ftpd offers
 * none) — `methods` says which. Large uploads that fail keep their temporary file and resume with
 * REST from its size (the prefix is hashed again locally). Times are set with MFMT and listed with
 * MLSD where offered. Moves are RNFR/RNTO; there is no server-side copy in FTP.
 */
export class FtpDestination implements Destination, ServerSideMove {
  readonly type = 'ftp';
  readonly features: ProviderFeatures = {
    hashes: ['sha256'],
    caseInsensitive: false,
    resumable: true,
    maxSingleUpload: Infinity,
    tags: false,
  };
  readonly id: string;
  readonly verified = { hash: 0, size: 0 };
  private readonly pool: FtpPool;
  private readonly tuning: FtpTuning;
  private server: ServerFeatures = { mlst: false, mfmt: false, rest: false, hash: undefined };
  private learned = false;
  private readonly roots: RemoteRoots<Client>;
  private readonly dirs = new DirCache();
  private readonly orphans = new Set<string>();

  /** This instance's temporary names (ProviderDeps.temp). */
  private readonly temp: TempNames;

  constructor(
    private readonly cfg: FtpDestinationConfig,
    private readonly deps: ProviderDeps,
    tuning: Partial<FtpTuning> = {},
  ) {
    this.id = cfg.id;
    this.temp = deps.temp ?? new TempNames();
    // `path`, made absolute against the login folder.
    this.roots = new RemoteRoots(cfg.prefix, async (c) => {
      const container = cfg.path.replace(/\/+$/, '') || '/';
      if (container.startsWith('/')) return container;
      return joinAbs(await c.pwd(), container.replace(/^\.\/?/, '')).replace(/\/+$/, '') || '/';
    });
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
    const timeoutMs = (cfg.timeout ?? 30) * 1000;
    this.pool = new FtpPool(
      (signal) =>
        openClient(
          {
            id: cfg.id,
            host: cfg.host,
            port: cfg.port,
            user: cfg.user,
            password: () =>
              cfg.password === undefined
                ? undefined
                : this.deps.secret(cfg.password, `destination "${cfg.id}": password`),
            tls: cfg.tls,
            caFile: cfg.ca_file,
            timeoutMs,
          },
          signal,
        ),
      cfg.connections ?? 4,
      (c) => this.learnServer(c),
      async (c) => {
        if (this.server.hash?.opts) await c.send(`OPTS HASH ${this.server.hash.opts}`).catch(() => undefined);
      },
    );
  }

  /** How uploads are verified here (known after the first connection). */
  get methods(): FtpMethods {
    const h = this.server.hash;
    const versions = this.server.mlst ? 'size and time' : 'size';
    if (!h) return { verification: 'SIZE', versions };
    if (h.verb === 'HASH') return { verification: h.kind === 'sha256' ? 'HASH sha256' : 'HASH md5', versions };
    return { verification: h.verb, versions };
  }

  /** What the person should know about this server's limits (known after the first connection). */
  get notes(): string[] {
    if (!this.learned || this.server.mlst) return [];
    return [
      "this server has no MLSD: a file's version is its size only (LIST rounds times), so two-way sync reads a file back before it replaces or deletes it",
    ];
  }

  private ctx(path: string): ErrorContext {
    return { destination: this.id, remotePath: path };
  }

  private async learnServer(c: Client): Promise<void> {
    const feat = await c.features().catch(() => new Map<string, string>());
    const hashAlgos = (feat.get('HASH') ?? '')
      .split(';')
      .map((a) => a.replace('*', '').trim().toUpperCase())
      .filter((a) => a !== '');
    let hash: HashCommand | undefined;
    if (hashAlgos.includes('SHA-256')) hash = { kind: 'sha256', verb: 'HASH', opts: 'SHA-256' };
    else if (feat.has('XSHA256')) hash = { kind: 'sha256', verb: 'XSHA256' };
    else if (hashAlgos.includes('MD5')) hash = { kind: 'md5', verb: 'HASH', opts: 'MD5' };
    else if (feat.has('XMD5')) hash = { kind: 'md5', verb: 'XMD5' };
    this.server = {
      mlst: feat.has('MLST'),
      mfmt: feat.has('MFMT'),
      rest: (feat.get('REST') ?? '').toUpperCase().includes('STREAM'),
      hash,
    };
    this.learned = true;
  }

  // ---- check ----------------------------------------------------------------------------------

  async check(signal?: AbortSignal, opts: CheckOptions = {}): Promise<void> {
    // A destination that fails its check is closed by the engine (its connections with it).
    await this.checkSteps(signal, opts.write !== false);
  }

  private async checkSteps(signal: AbortSignal | undefined, write: boolean): Promise<void> {
    const dctx = { destination: this.id };
    const where = `destination "${this.id}" (ftp${this.cfg.tls === 'none' ? '' : 's'}://${this.cfg.user}@${this.cfg.host}:${this.cfg.port})`;
    credentialsOrAuthFailure(() => {
      if (this.cfg.password !== undefined) this.deps.secret(this.cfg.password, `destination "${this.id}": password`);
    }, dctx);
    await this.pool.run(async (c) => {
      const { container, root } = await this.roots.on(c);
      const there = await this.statRaw(c, container).catch((err: unknown) => {
        throw classify(err, `${where}: cannot look at ${container}`, dctx);
      });
      if (there !== 'dir')
        throw new FerryError(
          'not-found',
          'container-missing',
          there === 'file'
            ? `${where}: ${container} is a file, not a folder`
            : `${where}: the folder ${container} does not exist on the server`,
          { context: dctx, hint: `create ${container} on the server, or fix the destination's path` },
        );
      if (!write) return;
      const probe = joinAbs(root, this.temp.fileName('probe-'));
      try {
        if (root !== container) await this.mkdirp(c, root, container);
        await uploadThrough(c, [], probe);
        await c.remove(probe);
      } catch (err) {
        // A half-written probe (a TLS data connection that failed) is not left behind.
        await c.remove(probe).catch(() => undefined);
        const fe = classify(err, `${where}: cannot write in ${root}`, dctx, 'write');
        throw probeFailure(fe, { where, root, user: this.cfg.user, context: dctx, cause: err });
      }
    }, signal);
  }

  // ---- read side ------------------------------------------------------------------------------

  /** 'file', 'dir' or undefined (absent), by MLST where offered, else by SIZE and CWD. */
  private async statRaw(c: Client, path: string): Promise<'file' | 'dir' | undefined> {
    if (this.server.mlst) {
      const facts = await this.mlst(c, path);
      if (!facts) return undefined;
      return facts.type === 'dir' || facts.type === 'cdir' || facts.type === 'pdir' ? 'dir' : 'file';
    }
    try {
      await c.size(path);
      return 'file';
    } catch (err) {
      if (isConnectionError(err)) throw err;
    }
    try {
      const back = await c.pwd();
      await c.cd(path);
      await c.cd(back);
      return 'dir';
    } catch (err) {
      if (isConnectionError(err)) throw err;
      return undefined;
    }
  }

  /** MLST facts of one path (lower-case names), or undefined when it is not there. */
  private async mlst(c: Client, path: string): Promise<Record<string, string> | undefined> {
    let res;
    try {
      res = await c.send(`MLST ${path}`);
    } catch (err) {
      if (replyCode(err) === 550) return undefined;
      throw err;
    }
    const line = res.message.split(/\r?\n/).find((l) => /^\s*\S*type=/i.test(l));
    if (!line) return undefined;
    const factsPart = line.trim().split(' ')[0] ?? '';
    const facts: Record<string, string> = {};
    for (const f of factsPart.split(';')) {
      const i = f.indexOf('=');
      if (i > 0) facts[f.slice(0, i).toLowerCase()] = f.slice(i + 1);
    }
    return facts;
  }

  /** The entry for a file, or undefined (absent or a folder). */
  private async entryAt(c: Client, abs: string, rel: string): Promise<RemoteEntry | undefined> {
    if (this.server.mlst) {
      const f = await this.mlst(c, abs);
      if (!f || (f.type !== undefined && f.type !== 'file')) return undefined;
      const size = Number(f.size ?? f.sizd ?? 0);
      return entryOf(rel, size, f.modify ? mlsxDate(f.modify) : undefined, true);
    }
    let size: number;
    try {
      size = await c.size(abs);
    } catch (err) {
      if (replyCode(err) === 550) return undefined;
      throw err;
    }
    const mod = await c.lastMod(abs).catch(() => undefined);
    return entryOf(rel, size, mod?.getTime(), false);
  }

  async stat(path: string, signal?: AbortSignal): Promise<RemoteEntry | undefined> {
    const rel = normalizeRemotePath(path);
    return this.pool.run(async (c) => {
      const { root } = await this.roots.on(c);
      try {
        return await this.entryAt(c, absBelow(root, rel), rel);
      } catch (err) {
        throw classify(err, `cannot stat ${rel}`, this.ctx(rel));
      }
    }, signal);
  }

  private resumableTemps(): Set<string> {
    const keep = new Set<string>();
    for (const r of this.deps.resume.all(this.id)) {
      const st = r.state as Partial<ResumeState> | undefined;
      if (typeof st?.temp === 'string' && Date.now() - (st.savedAt ?? 0) < RESUME_MAX_AGE_MS) keep.add(st.temp);
    }
    return keep;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry> {
    const base = normalizeRemotePath(prefix);
    const root = await this.pool.run(async (c) => (await this.roots.on(c)).root, signal);
    const resumable = this.resumableTemps();
    let queue = [base];
    while (queue.length > 0) {
      signal?.throwIfAborted();
      const level = queue.splice(0, this.pool.size);
      const listed = await Promise.all(
        level.map((rel) =>
          this.pool.run(async (c) => {
            try {
              return { rel, items: await c.list(absBelow(root, rel)) };
            } catch (err) {
              // The prefix not there (yet), or a folder removed while we list: nothing below it.
              if (replyCode(err) === 550) return { rel, items: [] as FileInfo[] };
              throw classify(err, `cannot list ${rel || root}`, this.ctx(rel));
            }
          }, signal),
        ),
      );
      const next: string[] = [];
      for (const { rel, items } of listed)
        for (const it of items) {
          if (it.name === '.' || it.name === '..' || it.name.includes('/')) continue;
          const childRel = rel === '' ? it.name : `${rel}/${it.name}`;
          if (rel === '' && it.name === VERSIONS_DIR) continue; // Ferry's versions, never synced
          if (it.isDirectory) next.push(childRel);
          else if (it.isFile) {
            const e = entryOf(childRel, it.size, it.modifiedAt?.getTime(), this.server.mlst);
            if (isTempName(it.name)) {
              if (resumable.has(childRel)) continue; // kept for the upload that will resume it
              e.partial = true;
            }
            yield e;
          }
        }
      queue = [...queue, ...next];
    }
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    const rel = normalizeRemotePath(path);
    const ctx = this.ctx(rel);
    return this.pool.run(async (c) => {
      const { root } = await this.roots.on(c);
      const src = absBelow(root, rel);
      const before = await this.entryAt(c, src, rel).catch((err: unknown) => {
        throw classify(err, `cannot download ${rel}`, ctx);
      });
      if (!before)
        throw new FerryError('not-found', 'not-found', `cannot download ${rel}: it is not on the server`, {
          context: ctx,
        });
      const tmp = join(dirname(toAbsPath), this.temp.fileName());
      await mkdir(dirname(toAbsPath), { recursive: true });
      const fh = await open(tmp, 'wx');
      const hash = createHash('sha256');
      let done = 0;
      try {
        const sink = new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            if (opts.signal.aborted)
              return cb(new FerryError('cancelled', 'cancelled', `download of ${rel} was cancelled`, { context: ctx }));
            hash.update(chunk);
            fh.write(chunk, 0, chunk.length, done).then(
              () => {
                done += chunk.length;
                opts.onProgress?.(done);
                cb();
              },
              (err: unknown) => cb(err as Error),
            );
          },
        });
        await c.downloadTo(sink, src);
        if (done !== before.size)
          throw new FerryError(
            'retryable',
            'short-read',
            `${rel}: ${done} bytes arrived, the server lists ${before.size}`,
            { context: ctx },
          );
        await fh.datasync();
        await fh.close();
        if (before.mtimeMs !== undefined) await utimes(tmp, before.mtimeMs / 1000, before.mtimeMs / 1000);
        await rename(tmp, toAbsPath);
        return { ...before, hashes: { sha256: hash.digest('hex') } };
      } catch (err) {
        await fh.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
        if (opts.signal.aborted)
          throw new FerryError('cancelled', 'cancelled', `download of ${rel} was cancelled`, { context: ctx });
        if ((err as NodeJS.ErrnoException).syscall !== undefined) throw fsError(err, `cannot download ${rel}`, ctx);
        throw classify(err, `cannot download ${rel}`, ctx);
      }
    }, opts.signal);
  }

  // ---- write side -----------------------------------------------------------------------------

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const rel = normalizeRemotePath(path);
    const ctx = this.ctx(rel);
    if (/[\r\n\0]/.test(rel))
      throw new FerryError('invalid-name', 'invalid-name', `${rel}: FTP cannot carry a name with a line break`, {
        context: ctx,
        hint: 'rename the file or map it with a path template',
      });
    let tempAbs: string | undefined;
    try {
      return await this.pool.run(async (c) => {
        const { root, container } = await this.roots.on(c);
        if (this.orphans.size > 0) await this.sweepOrphans(c);
        const target = absBelow(root, rel);
        const dir = parentAbs(target);
        await this.mkdirp(c, dir, container).catch((err: unknown) => {
          throw classify(err, `cannot create the folder for ${rel}`, ctx, 'write');
        });
        const resumable = source.size >= this.tuning.resumeMinBytes;
        const sha256 = source.hashes.sha256;

        // Resume: the same content was being sent here and its temporary file is still there.
        let offset = 0;
        let tempRel: string | undefined;
        const saved = resumable ? (this.deps.resume.load(this.id, rel, sha256) as ResumeState | undefined) : undefined;
        if (saved && typeof saved.temp === 'string' && this.server.rest) {
          try {
            const size = await c.size(absBelow(root, saved.temp));
            if (size > 0 && size <= source.size) {
              offset = size;
              tempRel = saved.temp;
            }
          } catch (err) {
            if (isConnectionError(err)) throw err;
          }
          if (tempRel === undefined) this.deps.resume.clear(this.id, rel);
        }
        tempRel ??= tempPathBeside(this.temp, rel);
        const temp = absBelow(root, tempRel);
        tempAbs = temp;
        if (resumable && this.server.rest)
          this.deps.resume.save(this.id, rel, sha256, { temp: tempRel, savedAt: Date.now() } satisfies ResumeState);

        const sha = createHash('sha256');
        const md5 = this.server.hash?.kind === 'md5' ? createHash('md5') : undefined;
        let total = 0;
        const feed = (chunk: Buffer) => {
          sha.update(chunk);
          md5?.update(chunk);
          total += chunk.length;
        };
        await this.rehashPrefix(source, offset, feed, ctx);
        if (offset > 0) opts.onProgress?.(offset);
        try {
          if (offset > 0) await c.send(`REST ${offset}`);
          await uploadThrough(c, this.chunks(source, offset, feed, opts, ctx), temp);
        } catch (err) {
          if (opts.signal.aborted)
            throw new FerryError('cancelled', 'cancelled', `upload of ${rel} was cancelled`, { context: ctx });
          if (err instanceof FerryError) throw err; // from the source side (source-changed, …)
          throw await this.serverVerdict(c, err);
        }
        const digest = sha.digest('hex');
        if (total !== source.size || digest !== sha256)
          throw new FerryError(
            'source-changed',
            'source-changed',
            `${source.absPath} changed while it was being uploaded`,
            {
              context: { ...ctx, path: source.absPath },
            },
          );
        if (this.server.mfmt) {
          const second = secondApart(source, (sec) => entryOf(rel, source.size, sec * 1000, true).version);
          await c.send(`MFMT ${mfmtDate(second * 1000)} ${temp}`).catch(() => undefined);
        }
        const hashes = await this.verify(c, temp, rel, source.size, { sha256: digest, md5: md5?.digest('hex') });
        await this.publish(c, temp, target);
        tempAbs = undefined;
        if (resumable) this.deps.resume.clear(this.id, rel);
        const e = await this.entryAt(c, target, rel);
        if (!e || e.size !== source.size)
          throw new FerryError(
            'retryable',
            'verify-failed',
            `${rel}: the server lists ${e?.size ?? 'nothing'} after the rename, ${source.size} bytes were sent`,
            {
              context: ctx,
            },
          );
        opts.onProgress?.(source.size);
        return { ...e, ...(hashes ? { hashes } : {}) };
      }, opts.signal);
    } catch (err) {
      const fe = classify(err, `cannot upload ${rel}`, ctx, 'write');
      const resumable = source.size >= this.tuning.resumeMinBytes && this.server.rest;
      // Cut off by the network, or paused: the temporary file and its progress wait for the retry.
      const keep =
        resumable && (fe.kind === 'retryable' || stoppedForPause(opts.signal)) && fe.code !== 'verify-failed';
      if (tempAbs !== undefined && !keep) {
        if (resumable) this.deps.resume.clear(this.id, rel);
        // Over a fresh connection when this one is gone; if that fails too, the next upload sweeps it.
        const temp = tempAbs;
        await this.pool.run((c) => c.remove(temp, true).then(() => undefined)).catch(() => this.orphans.add(temp));
      }
      throw fe;
    }
  }

  /**
   * A transfer whose data connection the server closed (a full quota, a refused file) may fail on our
   * side ("premature close") before the server's reply is read. That reply is still queued on the
   * control connection: a NOOP brings it out, so the error is classified by what the server said.
   */
  private async serverVerdict(c: Client, err: unknown): Promise<unknown> {
    if (replyCode(err) !== undefined || c.closed) return err;
    try {
      const res = await Promise.race([
        c.send('NOOP'),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref()),
      ]);
      if (res === undefined) c.close(); // no answer: the connection is no good any more
      return err;
    } catch (reply) {
      return replyCode(reply) !== undefined && replyCode(reply) !== 500 ? reply : err;
    }
  }

  /** The part already on the server: hashed again from the local file, not sent. */
  private async rehashPrefix(
    source: UploadSource,
    offset: number,
    feed: (b: Buffer) => void,
    ctx: ErrorContext,
  ): Promise<void> {
    if (offset === 0) return;
    const fh = await open(source.absPath, 'r');
    try {
      let pos = 0;
      while (pos < offset) {
        const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, offset - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0)
          throw new FerryError(
            'source-changed',
            'source-changed',
            `${source.absPath} is shorter than when its upload began`,
            {
              context: { ...ctx, path: source.absPath },
            },
          );
        feed(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }

  /** The bytes to send from `offset`: paced, hashed as they go, stopped by the signal. */
  private async *chunks(
    source: UploadSource,
    offset: number,
    feed: (b: Buffer) => void,
    opts: TransferOpts,
    ctx: ErrorContext,
  ): AsyncGenerator<Buffer> {
    let fh;
    try {
      fh = await open(source.absPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FerryError('source-changed', 'source-gone', `${source.absPath} is gone`, {
          context: ctx,
          cause: err,
        });
      throw fsError(err, `cannot read ${source.absPath}`, { ...ctx, path: source.absPath });
    }
    try {
      let pos = offset;
      for (;;) {
        if (opts.signal.aborted) throw new FerryError('cancelled', 'cancelled', 'cancelled', { context: ctx });
        const want = Math.min(READ_CHUNK, Math.max(source.size - pos, 0) + 1);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        if (bytesRead === 0) return;
        await opts.pace?.(bytesRead);
        if (opts.signal.aborted) throw new FerryError('cancelled', 'cancelled', 'cancelled', { context: ctx });
        const data = buf.subarray(0, bytesRead);
        feed(data);
        pos += bytesRead;
        yield data;
        opts.onProgress?.(pos);
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** SIZE must match; the server's hash too, where FEAT offers one. Returns the hashes it computed. */
  private async verify(
    c: Client,
    temp: string,
    rel: string,
    size: number,
    sent: { sha256: string; md5: string | undefined },
  ): Promise<RemoteEntry['hashes'] | undefined> {
    const ctx = this.ctx(rel);
    const theirs = await c.size(temp);
    if (theirs !== size)
      throw new FerryError(
        'retryable',
        'verify-failed',
        `${rel}: the server holds ${theirs} bytes, ${size} were sent`,
        { context: ctx },
      );
    const h = this.server.hash;
    if (!h) {
      this.verified.size++;
      return undefined;
    }
    const res = await c.send(`${h.verb} ${temp}`);
    const len = h.kind === 'sha256' ? 64 : 32;
    const digest = res.message
      .split(/\s+/)
      .map((t) => t.toLowerCase())
      .find((t) => new RegExp(`^[0-9a-f]{${len}}$`).test(t));
    const mine = h.kind === 'sha256' ? sent.sha256 : sent.md5;
    if (digest === undefined) {
      this.verified.size++;
      return undefined;
    }
    if (digest !== mine)
      throw new FerryError(
        'retryable',
        'verify-failed',
        `${rel}: the server's ${h.kind} (${digest}) differs from the bytes sent (${mine})`,
        {
          context: ctx,
        },
      );
    this.verified.hash++;
    return { [h.kind]: digest };
  }

  /** RNFR/RNTO; a server that refuses to rename onto an existing file gets the old one removed first. */
  private async publish(c: Client, from: string, to: string): Promise<void> {
    try {
      await c.rename(from, to);
    } catch (err) {
      if (isConnectionError(err) || replyCode(err) === undefined) throw err;
      const exists = await this.statRaw(c, to);
      if (exists !== 'file') throw err;
      await c.remove(to);
      await c.rename(from, to);
    }
  }

  private async sweepOrphans(c: Client): Promise<void> {
    for (const temp of [...this.orphans]) {
      this.orphans.delete(temp);
      try {
        await c.remove(temp, true);
      } catch (err) {
        if (isConnectionError(err)) {
          this.orphans.add(temp);
          throw err;
        }
      }
    }
  }

  /** MKD for each missing folder below the container; concurrent calls share the work. */
  private mkdirp(c: Client, dir: string, container: string): Promise<void> {
    return this.dirs.ensure(dir, container, (d, parents) => this.makeDir(c, d, parents));
  }

  private async makeDir(c: Client, dir: string, parents: () => Promise<void>): Promise<void> {
    const kind = await this.statRaw(c, dir);
    if (kind === 'dir') return;
    if (kind === 'file')
      throw new FerryError('conflict', 'conflict', `${dir} is a file on the server, where a folder is needed`, {
        context: { destination: this.id },
        hint: 'a file and a folder want the same name at the destination: rename one of them',
      });
    await parents();
    try {
      await c.send(`MKD ${dir}`);
    } catch (err) {
      if (isConnectionError(err) || (await this.statRaw(c, dir)) !== 'dir') throw err;
    }
  }

  /** Removes folders left empty by a delete or a move, up to the root, as a mirror should. */
  private prune(c: Client, dir: string, root: string): Promise<void> {
    return this.dirs.prune(dir, root, async (d) => {
      try {
        await c.send(`RMD ${d}`);
        return true;
      } catch (err) {
        if (isConnectionError(err)) throw err;
        return false;
      }
    });
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const rel = normalizeRemotePath(path);
    await this.pool.run(async (c) => {
      const { root } = await this.roots.on(c);
      const target = absBelow(root, rel);
      try {
        await c.remove(target);
      } catch (err) {
        if (replyCode(err) === 550 && (await this.statRaw(c, target).catch(() => 'file')) === undefined) return;
        throw classify(err, `cannot delete ${rel}`, this.ctx(rel), 'write');
      }
      await this.prune(c, parentAbs(target), root).catch(() => undefined);
    }, signal);
  }

  async move(from: string, to: string, signal?: AbortSignal): Promise<RemoteEntry> {
    const relFrom = normalizeRemotePath(from);
    const relTo = normalizeRemotePath(to);
    return this.pool.run(async (c) => {
      const { root, container } = await this.roots.on(c);
      const src = absBelow(root, relFrom);
      const dst = absBelow(root, relTo);
      if (
        (await this.statRaw(c, src).catch((err: unknown) =>
          Promise.reject(classify(err, `cannot move ${relFrom}`, this.ctx(relFrom))),
        )) !== 'file'
      )
        throw new FerryError('not-found', 'not-found', `cannot move ${relFrom}: it is not on the server`, {
          context: this.ctx(relFrom),
        });
      try {
        this.dirs.forget(parentAbs(dst)); // it may have been pruned meanwhile: look again
        await this.mkdirp(c, parentAbs(dst), container);
        await this.publish(c, src, dst);
      } catch (err) {
        throw classify(err, `cannot move ${relFrom} to ${relTo}`, this.ctx(relTo), 'write');
      }
      await this.prune(c, parentAbs(src), root).catch(() => undefined);
      const e = await this.entryAt(c, dst, relTo);
      if (!e)
        throw new FerryError('retryable', 'move-lost', `${relTo}: not on the server after the rename`, {
          context: this.ctx(relTo),
        });
      return e;
    }, signal);
  }

  async close(): Promise<void> {
    if (this.orphans.size > 0) {
      const sweep = this.pool.run((c) => this.sweepOrphans(c)).catch(() => undefined);
      await Promise.race([sweep, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    this.pool.close();
  }
}

/**
 * With MLSD/MLST the listing's time is exact, so size + time make the version token; a LIST-only
 * server's times are rounded (and read differently by MDTM), so there the size alone does.
 */
function entryOf(path: string, size: number, mtimeMs: number | undefined, exactTimes: boolean): RemoteEntry {
  const e: RemoteEntry = {
    path,
    size,
    version: exactTimes && mtimeMs !== undefined ? `${size}:${mtimeMs}` : `${size}`,
  };
  if (mtimeMs !== undefined) e.mtimeMs = mtimeMs;
  return e;
}

/** An MLSx time value (YYYYMMDDHHMMSS[.sss], UTC) in milliseconds. */
function mlsxDate(v: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  return Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    ms ? Number(ms.padEnd(3, '0')) : 0,
  );
}

function mfmtDate(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}
