import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FerryError } from '../../../../shared/errors';
import { TempNames } from '../tempNames';
import { MultiHash } from '../../scan/multiHash';
import { fsError } from '../fsErrors';
import { normalizeRemotePath } from '../remotePath';
import type {
  Destination,
  ProviderFeatures,
  RemoteEntry,
  ServerSideCopy,
  ServerSideMove,
  TransferOpts,
  UploadSource,
} from '../types';

type Stored = { data: Buffer; mtimeMs: number; version: number; tags?: readonly string[] };

/**
 * The reference destination: everything in memory, every capability, no protocol. The conformance
 * suite runs against it first, so a failing real provider is compared with known-good behaviour.
 */
export class MemoryDestination implements Destination, ServerSideMove, ServerSideCopy {
  readonly type = 'memory';
  readonly features: ProviderFeatures = {
    hashes: ['sha256', 'md5'],
    caseInsensitive: false,
    resumable: false,
    maxSingleUpload: Infinity,
    tags: true,
    versionPerWrite: true,
  };
  readonly files = new Map<string, Stored>();
  private versions = 0;

  constructor(
    readonly id = 'memory',
    private readonly temp = new TempNames(),
  ) {}

  async check(): Promise<void> {}

  private describe(path: string, s: Stored): RemoteEntry {
    return {
      path,
      size: s.data.length,
      mtimeMs: s.mtimeMs,
      version: String(s.version),
      ...(s.tags && s.tags.length > 0 ? { tags: s.tags } : {}),
      hashes: {
        sha256: createHash('sha256').update(s.data).digest('hex'),
        md5: createHash('md5').update(s.data).digest('hex'),
      },
    };
  }

  private need(path: string): Stored {
    const s = this.files.get(path);
    if (!s)
      throw new FerryError('not-found', 'ENOENT', `${path} does not exist`, {
        context: { destination: this.id, remotePath: path },
      });
    return s;
  }

  /** A path cannot be a file and a folder at once, as on every real destination. */
  private assertPlaceable(path: string): void {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++)
      if (this.files.has(parts.slice(0, i).join('/')))
        throw new FerryError('conflict', 'ENOTDIR', `${parts.slice(0, i).join('/')} is a file, not a folder`, {
          context: { remotePath: path },
        });
    for (const k of this.files.keys())
      if (k.startsWith(`${path}/`))
        throw new FerryError('conflict', 'EISDIR', `${path} is a folder`, { context: { remotePath: path } });
  }

  async stat(path: string): Promise<RemoteEntry | undefined> {
    const p = normalizeRemotePath(path);
    const s = this.files.get(p);
    return s && this.describe(p, s);
  }

  async *list(prefix: string): AsyncIterable<RemoteEntry> {
    const p = normalizeRemotePath(prefix);
    for (const [path, s] of [...this.files]) {
      if (p === '' || path === p || path.startsWith(`${p}/`)) yield this.describe(path, s);
    }
  }

  async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    const p = normalizeRemotePath(path);
    this.assertPlaceable(p);
    const chunks: Buffer[] = [];
    const hash = new MultiHash();
    let done = 0;
    try {
      for await (const chunk of createReadStream(source.absPath, { highWaterMark: 1024 * 1024, signal: opts.signal })) {
        const buf = chunk as Buffer;
        if (opts.pace) await opts.pace(buf.length);
        hash.update(buf);
        chunks.push(buf);
        done += buf.length;
        opts.onProgress?.(done);
      }
    } catch (err) {
      if (opts.signal.aborted) throw new FerryError('cancelled', 'cancelled', `upload of ${p} was cancelled`);
      const e = fsError(err, `cannot read the source ${source.absPath}`, { path: source.absPath });
      throw e.kind === 'not-found' ? new FerryError('source-changed', 'source-gone', e.message) : e;
    }
    if (hash.digest().sha256 !== source.hashes.sha256)
      throw new FerryError('source-changed', 'source-changed', `${source.absPath} changed while it was being shipped`);
    const stored: Stored = { data: Buffer.concat(chunks), mtimeMs: source.mtimeMs, version: ++this.versions };
    if (source.tags) stored.tags = [...source.tags];
    this.files.set(p, stored);
    return this.describe(p, stored);
  }

  async download(path: string, toAbsPath: string, opts: TransferOpts): Promise<RemoteEntry> {
    opts.signal.throwIfAborted();
    const p = normalizeRemotePath(path);
    const s = this.need(p);
    const tmp = join(dirname(toAbsPath), `${this.temp.head}${s.version}`);
    await mkdir(dirname(toAbsPath), { recursive: true });
    await writeFile(tmp, s.data, { flush: true });
    await utimes(tmp, new Date(s.mtimeMs), new Date(s.mtimeMs));
    await rename(tmp, toAbsPath);
    return this.describe(p, s);
  }

  async delete(path: string): Promise<void> {
    this.files.delete(normalizeRemotePath(path));
  }

  async move(from: string, to: string): Promise<RemoteEntry> {
    const f = normalizeRemotePath(from);
    const t = normalizeRemotePath(to);
    const s = this.need(f);
    this.files.delete(f);
    try {
      this.assertPlaceable(t);
    } catch (err) {
      this.files.set(f, s);
      throw err;
    }
    this.files.set(t, s);
    return this.describe(t, s);
  }

  async copy(from: string, to: string): Promise<RemoteEntry> {
    const t = normalizeRemotePath(to);
    const s = this.need(normalizeRemotePath(from));
    this.assertPlaceable(t);
    const copy = { data: Buffer.from(s.data), mtimeMs: s.mtimeMs, version: ++this.versions };
    this.files.set(t, copy);
    return this.describe(t, copy);
  }

  async close(): Promise<void> {}
}
