import { constants, existsSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, open, opendir, realpath, rename, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FerryError } from '../../../../shared/errors';
import { TRASH_DIR } from '../../scan/ignoreRules';
import { TempNames } from '../tempNames';
import { moveToTrash, purgeTrash } from '../../sync/trash';
import { MultiHash } from '../../scan/multiHash';
import { fsError } from '../fsErrors';
import { normalizeRemotePath } from '../remotePath';
import { fsPath } from '../../scan/rawNames';
import { localVersion } from './copyVerified';
import { mkdirBelow } from './dirsBelow';
import { flushFolder } from './groupCommit';
import type { FileWorkers } from '../../workers/fileWorkers';
import type { WalkedFile, WalkResult } from '../../scan/walk';
import { WalkedChunks } from './walkedChunks';
import type {
  BatchUpload,
  CheckOptions,
  Destination,
  ProviderFeatures,
  RemoteEntry,
  RemoteTrash,
  ServerSideCopy,
  ServerSideLink,
  ServerSideMove,
  ShareLinks,
  TransferOpts,
  UploadSource,
} from '../types';

const CHUNK = 4 * 1024 * 1024; // for downloads

export type LocalDestinationConfig = { id: string; path: string; prefix?: string | undefined };

/**
 * A folder on this machine, a mounted NAS or a USB disk. Every write goes to a temporary name in the
 * target folder, is hashed as it is written, given the source's mtime, flushed, and only then renamed
 * into place, its folder flushed before it is recorded: a partial file never shows under its final
 * name, and a recorded one survives a power cut (copyVerified.ts copies, groupCommit.ts publishes).
 */
export class LocalDestination
  implements Destination, ServerSideMove, ServerSideLink, ServerSideCopy, BatchUpload, ShareLinks, RemoteTrash
{
  readonly type = 'local';
  readonly features: ProviderFeatures = {
    hashes: ['sha256'],
    hashesWhileSending: true,
    caseInsensitive: false,
    resumable: false,
    maxSingleUpload: Infinity,
    tags: false,
    conditionalWrites: true,
    versionPerWrite: true,
    rawNames: sep === '/',
  };
  /** A batch is one group commit (groupCommit.ts): the more files share its few journal commits, the fewer per file. */
  readonly batchLimits = { files: 256, bytes: 32 * 1024 * 1024, fileSize: 1024 * 1024 };
  readonly id: string;
  private readonly root: string;
  private readonly madeDirs = new Set<string>();

  constructor(
    cfg: LocalDestinationConfig,
    private readonly workers: FileWorkers,
    /** This instance's temporary names (ProviderDeps.temp). */
    private readonly temp = new TempNames(),
  ) {
    this.id = cfg.id;
    this.root = cfg.prefix ? join(cfg.path, normalizeRemotePath(cfg.prefix)) : cfg.path;
    // Whether names differing only by case are one file here (macOS, Windows, a FAT or SMB volume):
    // the planner then reports case-only and NFC/NFD twins as collisions instead of letting one
    // overwrite the other. Asked of the file system itself, read-only, until it can answer.
    let known: boolean | undefined;
    Object.defineProperty(this.features, 'caseInsensitive', {
      enumerable: true,
      get: () =>
        (known ??= caseInsensitiveAt(this.root)) ?? (process.platform === 'darwin' || process.platform === 'win32'),
    });
  }

  private abs(path: string): string {
    const rel = normalizeRemotePath(path);
    // Windows reads a backslash as a separator: the name would land on another file's path.
    if (sep === '\\' && rel.includes('\\'))
      throw new FerryError(
        'invalid-name',
        'invalid-name',
        `"${rel}": a name this destination cannot hold ("\\" separates folders on Windows)`,
        {
          context: { destination: this.id, remotePath: rel },
          hint: "rename the file, or map it to another name with the rule's path template; the other files are shipped",
        },
      );
    return rel === '' ? this.root : join(this.root, ...rel.split('/'));
  }

  /** A file:// URL: the file manager or browser of this machine opens it (it never leaves the machine). */
  async shareLink(path: string): Promise<string> {
    return pathToFileURL(this.abs(path)).href;
  }

  private missing(cause: unknown): FerryError {
    return new FerryError(
      'not-found',
      'destination-missing',
      `destination "${this.id}": folder ${this.root} does not exist`,
      {
        context: { destination: this.id },
        hint: 'mount the drive it lives on (or create the folder): Ferry never creates it, and goes on once it is there',
        cause,
      },
    );
  }

  async check(_signal?: AbortSignal, opts: CheckOptions = {}): Promise<void> {
    let st;
    try {
      st = await stat(this.root);
    } catch (err) {
      throw this.missing(err);
    }
    if (!st.isDirectory())
      throw new FerryError(
        'conflict',
        'destination-not-folder',
        `destination "${this.id}": ${this.root} is not a folder`,
        {
          context: { destination: this.id },
          hint: "point the destination's path at a folder",
        },
      );
    if (opts.write === false) return;
    const probe = join(this.root, this.temp.fileName('probe-'));
    try {
      const fh = await open(probe, 'wx');
      await fh.close();
      await unlink(probe);
    } catch (err) {
      throw fsError(err, `destination "${this.id}": cannot write in ${this.root}`, { destination: this.id });
    }
  }

  async stat(path: string): Promise<RemoteEntry | undefined> {
    try {
      const st = await stat(fsPath(this.abs(path)));
      if (!st.isFile()) return undefined;
      return entry(normalizeRemotePath(path), st);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
        return undefined;
      throw fsError(err, `cannot stat ${path}`, { destination: this.id, remotePath: path });
    }
  }

  /**
   * The tree is walked by the file workers (synchronous readdir + lstat on every core, as a source
   * folder's scan is: at 300,000 files 13 s with stats in flight from this thread, ~2 s so), handed
   * over a chunk at a time with back-pressure, so a listing never holds the whole tree.
   */
  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<RemoteEntry> {
    const base = normalizeRemotePath(prefix);
    if (base !== '') await this.refuseLinkOut(base);
    const root = this.abs(base);
    try {
      if (!(await stat(fsPath(root))).isDirectory()) throw Object.assign(new Error(`${root}`), { code: 'ENOTDIR' });
    } catch (err) {
      // A prefix not made yet holds nothing; the root itself gone is a drive unplugged, never "empty".
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && base !== '') return;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw this.missing(err);
      throw fsError(err, `cannot list ${base || this.root}`, { destination: this.id, remotePath: base });
    }
    const walked = new WalkedChunks();
    const walk = this.workers.walk(this.id, root, [], undefined, (files) => walked.put(files), 'listing');
    walk.then(
      () => walked.end(),
      (err: unknown) => walked.fail(err),
    );
    try {
      for (;;) {
        signal?.throwIfAborted();
        const files = await walked.next();
        if (files === undefined) break;
        for (const f of files) yield listed(base, f);
      }
    } finally {
      walked.abandon();
    }
    const result = (await walk) as WalkResult;
    for (const f of result.files) yield listed(base, f);
    const blocking = result.issues.find((i) => i.blocking);
    if (blocking) {
      // Part of the tree could not be read: the listing is not whole, and an absence in it proves nothing.
      const code = /\b(E[A-Z]+)\b/.exec(blocking.message)?.[1];
      if (code === 'ENOENT' && blocking.path === '') throw this.missing(new Error(blocking.message));
      throw fsError(
        Object.assign(new Error(blocking.message), { code }),
        `cannot list ${blocking.path || base || this.root}`,
        {
          destination: this.id,
          remotePath: blocking.path === '' ? base : base === '' ? blocking.path : `${base}/${blocking.path}`,
        },
      );
    }
  }

  /**
   * Links below the root are not followed while listing; a prefix that names one (the window's browser
   * asks for any prefix) would be: it must resolve inside the root, or nothing is listed.
   */
  private async refuseLinkOut(rel: string): Promise<void> {
    let real: string;
    let root: string;
    try {
      [real, root] = await Promise.all([realpath(this.abs(rel)), realpath(this.root)]);
    } catch {
      return; // missing: listed as empty, as before
    }
    if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep))
      throw new FerryError(
        'permanent',
        'outside-destination',
        `"${rel}" is a link that leads outside destination "${this.id}": it is not listed`,
        { context: { destination: this.id, remotePath: rel }, hint: 'links inside a destination are not followed' },
      );
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdirBelow(this.root, dir);
    this.madeDirs.add(dir);
  }

  private tempFor(target: string): string {
    return join(dirname(target), this.temp.fileName());
  }

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const [result] = await this.uploadBatch([{ path, source }], opts);
    if (result instanceof FerryError) throw result;
    return result as RemoteEntry;
  }

  /**
   * Copies run in the file workers (synchronous I/O off the main thread). A batch is made durable as a
   * group (groupCommit.ts): a few journal commits for the whole batch instead of some per small file.
   */
  async uploadBatch(
    items: readonly { path: string; source: UploadSource }[],
    opts: TransferOpts,
  ): Promise<(RemoteEntry | FerryError)[]> {
    let targets: string[];
    try {
      targets = items.map((it) => this.abs(it.path));
    } catch (err) {
      return items.map(() => (err instanceof FerryError ? err : fsError(err, 'invalid path')));
    }
    if (opts.signal.aborted) return items.map((it) => cancelled(it.path));
    // One file under a cap is paced slice by slice in the worker, from the same cap; a batch of small
    // files up front.
    const pacedInWorker = items.length === 1 && opts.sharedCap !== undefined;
    if (opts.pace) for (const it of items) await opts.pace(pacedInWorker ? 0 : it.source.size);
    const results = await this.workers.copy(
      items.map((it, i) => ({
        src: it.source.absPath,
        target: targets[i] as string,
        root: this.root,
        tempHead: this.temp.head,
        size: it.source.size,
        sha256: it.source.hashes.sha256,
        mtimeMs: it.source.mtimeMs,
        ...(pacedInWorker ? { sharedCap: opts.sharedCap } : {}),
        ...(it.source.replaces !== undefined ? { expectVersion: it.source.replaces } : {}),
        ...(it.source.readOnce ? { readOnce: it.source.readOnce } : {}),
      })),
      { signal: opts.signal, onProgress: items.length === 1 ? (_i, bytes) => opts.onProgress?.(bytes) : undefined },
    );
    return results.map((r, i) => {
      const item = items[i] as { path: string; source: UploadSource };
      if (r.ok) {
        if (items.length === 1) opts.onProgress?.(r.size);
        return {
          ...entry(normalizeRemotePath(item.path), r),
          hashes: { sha256: r.sha256 },
          ...(r.sent ? { sent: r.sent } : {}),
        };
      }
      return this.copyError(item.path, item.source, r.code, r.message);
    });
  }

  private copyError(path: string, source: UploadSource, code: string, message: string): FerryError {
    const ctx = { destination: this.id, remotePath: path };
    if (code === 'ECANCELED') return cancelled(path);
    if (code === 'EREMOTECHANGED')
      return new FerryError(
        'conflict',
        'remote-changed',
        `${path}: the destination's copy changed since it was compared`,
        {
          context: ctx,
          hint: 'another writer changed it; the next pass compares both sides again and keeps both versions if they differ',
        },
      );
    if (code === 'ECHANGED')
      return new FerryError('source-changed', 'source-changed', message, { context: { ...ctx, path: source.absPath } });
    // A source that vanished is a local change: a rescan decides what to do with it.
    if (code === 'ENOENT' && message.includes(source.absPath))
      return new FerryError('source-changed', 'source-gone', message, { context: ctx });
    return fsError(Object.assign(new Error(message), { code }), `cannot upload ${path}`, ctx);
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    const from = this.abs(path);
    const tmp = join(dirname(toAbsPath), this.temp.fileName());
    try {
      opts.signal.throwIfAborted();
      await mkdir(fsPath(dirname(toAbsPath)), { recursive: true });
      await copyFile(fsPath(from), fsPath(tmp), constants.COPYFILE_FICLONE);
      const fh = await open(fsPath(tmp), 'r+');
      const hash = new MultiHash();
      try {
        const buf = Buffer.allocUnsafe(CHUNK);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
        }
        await fh.datasync();
      } finally {
        await fh.close();
      }
      const st = await stat(fsPath(from));
      await utimes(fsPath(tmp), st.atime, st.mtime);
      await rename(fsPath(tmp), fsPath(toAbsPath));
      await flushFolder(dirname(toAbsPath));
      return { ...entry(normalizeRemotePath(path), st), hashes: { sha256: hash.digest().sha256 } };
    } catch (err) {
      await unlink(fsPath(tmp)).catch(() => undefined);
      throw fsError(err, `cannot download ${path}`, { destination: this.id, remotePath: path });
    }
  }

  async delete(path: string): Promise<void> {
    const target = this.abs(path);
    try {
      await unlink(fsPath(target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(err, `cannot delete ${path}`, { destination: this.id, remotePath: path });
    }
    await this.pruneEmptyParents(dirname(target));
  }

  /** Into the destination's own `.ferry-trash/YYYY-MM-DD/`, emptied after 30 days like a folder's. */
  async trash(path: string): Promise<string> {
    const rel = normalizeRemotePath(path);
    try {
      purgeTrash(this.root);
      const day = moveToTrash(this.root, rel);
      await this.pruneEmptyParents(dirname(this.abs(rel)));
      return `${TRASH_DIR}/${day} at the destination`;
    } catch (err) {
      throw fsError(err, `cannot move ${path} to the trash`, { destination: this.id, remotePath: path });
    }
  }

  /** Removes folders left empty by a delete or a move, up to the root, as a mirror should. */
  private async pruneEmptyParents(dir: string): Promise<void> {
    while (dir.length > this.root.length && dir.startsWith(this.root + sep)) {
      try {
        const d = await opendir(fsPath(dir));
        const first = await d.read();
        await d.close();
        if (first !== null) return;
        await rmdir(fsPath(dir));
        this.madeDirs.delete(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  async move(from: string, to: string): Promise<RemoteEntry> {
    const src = this.abs(from);
    const dst = this.abs(to);
    try {
      await this.ensureDir(dirname(dst));
      await rename(fsPath(src), fsPath(dst));
      // The new name durable before it is recorded; the old one gone for good too.
      await Promise.all([...new Set([dirname(dst), dirname(src)])].map(flushFolder));
    } catch (err) {
      throw fsError(err, `cannot move ${from} to ${to}`, { destination: this.id, remotePath: to });
    }
    await this.pruneEmptyParents(dirname(src));
    const st = await stat(fsPath(dst));
    return entry(normalizeRemotePath(to), st);
  }

  /**
   * A hard link: its writes all go to a temporary renamed over the path, so the link keeps the old bytes
   * as they were. Refused where the file system has no links (FAT, exFAT): the caller then moves.
   */
  async link(from: string, to: string): Promise<RemoteEntry> {
    const src = this.abs(from);
    const dst = this.abs(to);
    try {
      await this.ensureDir(dirname(dst));
      await link(fsPath(src), fsPath(dst));
      await flushFolder(dirname(dst));
    } catch (err) {
      throw fsError(err, `cannot link ${from} to ${to}`, { destination: this.id, remotePath: to });
    }
    return entry(normalizeRemotePath(to), await stat(fsPath(dst)));
  }

  async copy(from: string, to: string): Promise<RemoteEntry> {
    const src = this.abs(from);
    const dst = this.abs(to);
    const tmp = this.tempFor(dst);
    try {
      await this.ensureDir(dirname(dst));
      await copyFile(fsPath(src), fsPath(tmp), constants.COPYFILE_FICLONE);
      const st = await stat(fsPath(src));
      await utimes(fsPath(tmp), st.atime, st.mtime);
      const fh = await open(fsPath(tmp), 'r+');
      const copied = await fh.stat();
      await fh.datasync().finally(() => fh.close());
      await rename(fsPath(tmp), fsPath(dst));
      await flushFolder(dirname(dst));
      return entry(normalizeRemotePath(to), copied);
    } catch (err) {
      await unlink(fsPath(tmp)).catch(() => undefined);
      throw fsError(err, `cannot copy ${from} to ${to}`, { destination: this.id, remotePath: to });
    }
  }

  async close(): Promise<void> {}
}

/** The entry of a file as stat (or the copy worker) saw it; the inode goes into the version (see localVersion). */
/** A file's mtime in ms as Node's own Stats computes it (seconds × 1e3 + nanoseconds / 1e6). */
function msOf(mtimeNs: bigint): number {
  return Number(mtimeNs / 1_000_000_000n) * 1e3 + Number(mtimeNs % 1_000_000_000n) / 1e6;
}

/** A walked file of a listing below `base` as the entry the listing yields. */
function listed(base: string, f: WalkedFile): RemoteEntry {
  const e = entry(base === '' ? f.path : `${base}/${f.path}`, {
    size: f.size,
    mtimeMs: msOf(f.mtimeNs),
    ino: Number(f.ino),
  });
  if (f.partial) e.partial = true;
  return e;
}

function entry(path: string, st: { size: number; mtimeMs: number; ino: number }): RemoteEntry {
  return { path, size: st.size, mtimeMs: st.mtimeMs, version: localVersion(st.size, st.mtimeMs, st.ino) };
}

function cancelled(path: string): FerryError {
  return new FerryError('cancelled', 'cancelled', `upload of ${path} was cancelled`, { context: { remotePath: path } });
}

/**
 * Whether the file system holding `dir` folds case: `dir` with the case of its name swapped is the same
 * folder. Undefined when it cannot tell (no letter in the name, the folder missing).
 */
export function caseInsensitiveAt(dir: string): boolean | undefined {
  const name = basename(dir);
  const swapped = [...name].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
  if (swapped === name) return undefined;
  try {
    const a = statSync(dir);
    const b = statSync(join(dirname(dir), swapped));
    return a.ino === b.ino && a.dev === b.dev;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(dir) ? false : undefined;
  }
}
