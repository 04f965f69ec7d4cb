import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, openSync, read as readCb, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import type { HashKind, Hashes } from '../../../shared/hashes';
import type { Encoding } from '../../../shared/models';
import { MultiHash } from '../scan/multiHash';
import { fsPath } from '../scan/rawNames';

const readAsync = promisify(readCb);

const GZIP_LEVEL = 6;
const ZSTD_LEVEL = 3;
/** zlib hands compressed output over in pieces this big (its default, 16 KiB, means many small writes). */
const GZIP_OUT_CHUNK = 256 * 1024;

export type Codec = Exclude<Encoding, 'identity'>;
export type CompressRequest = {
  src: string;
  /** A private staging file: created or truncated, mode 0o600, not fsynced; removed if anything fails. */
  dst: string;
  codec: Codec;
  /** Hash kinds wanted for the compressed bytes (SHA-256 is always computed). */
  kinds: HashKind[];
  /** The source's SHA-256 as the index knows it: if the bytes read differ, the result is 'ECHANGED'. */
  expectSha256?: string;
};
export type CompressResult =
  | {
      ok: true;
      /** Compressed bytes written to `dst`. */
      size: number;
      /** Of the compressed bytes: what the destination will hold and verify. */
      hashes: Hashes;
      sourceSize: number;
      sourceSha256: string;
      mtimeNs: bigint;
    }
  | { ok: false; code: string; message: string };

/** Compresses chunks of the source in order; `finish` flushes what is left. */
type Encoder = { push(chunk: Buffer): Promise<void> | void; finish(): Promise<void> | void; close(): void };
type Sink = (out: Uint8Array) => void;

let zstdReady: Promise<void> | undefined;

/** The wasm module is loaded once per thread (each worker has its own instance). */
function loadZstd(): Promise<void> {
  zstdReady ??= zstdInit().catch((err: unknown) => {
    zstdReady = undefined;
    throw err;
  });
  return zstdReady;
}

/** One zstd frame per chunk of source, back to back: a valid .zst that any zstd decoder reads whole. */
function zstdEncoder(sink: Sink): Encoder {
  let frames = 0;
  return {
    push(chunk) {
      sink(zstdCompress(chunk, ZSTD_LEVEL));
      frames++;
    },
    finish() {
      // An empty file is not a valid .zst (`zstd -d` refuses it): an empty source gets one empty frame.
      if (frames === 0) sink(zstdCompress(new Uint8Array(0), ZSTD_LEVEL));
    },
    close() {},
  };
}

/** A single gzip member through zlib's stream (deflate runs on libuv's thread pool). */
function gzipEncoder(sink: Sink): Encoder {
  const gz = createGzip({ level: GZIP_LEVEL, chunkSize: GZIP_OUT_CHUNK });
  // Output is queued and written by the caller's flow, never from a zlib callback, so that a failed
  // write (ENOSPC) is an ordinary error here rather than an exception thrown inside an event.
  const queued: Buffer[] = [];
  let failed: Error | undefined;
  gz.on('data', (out: Buffer) => queued.push(out));
  gz.on('error', (err) => (failed ??= err));
  const ended = new Promise<void>((resolve, reject) => {
    gz.once('end', resolve);
    gz.once('error', reject);
  });
  ended.catch(() => undefined); // awaited in finish(); an error before then is reported from push
  const drain = () => {
    for (const out of queued.splice(0)) sink(out);
  };
  return {
    async push(chunk) {
      if (failed) throw failed;
      // The write's callback comes once zlib has consumed the chunk: only then may its buffer be reused.
      await new Promise<void>((resolve, reject) => gz.write(chunk, (err) => (err ? reject(err) : resolve())));
      drain();
    },
    async finish() {
      gz.end();
      await ended;
      drain();
    },
    close() {
      gz.destroy();
    },
  };
}

/**
 * Fills `buf` from the file's current position, stopping early only at the end of the file. The read
 * runs while the previous chunk is compressed (asynchronously, for gzip): it is marked handled at
 * once so that a failure there is not an unhandled rejection, and is reported when awaited.
 */
function readAhead(fd: number, buf: Buffer): Promise<number> {
  const p = readFull(fd, buf);
  p.catch(() => undefined);
  return p;
}

async function readFull(fd: number, buf: Buffer): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await readAsync(fd, buf, got, buf.length - got, null);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/**
 * Compresses one file into `req.dst`, reading the source once, double-buffered (the next read is in
 * flight while the current chunk is compressed). In the same pass it hashes the source (SHA-256, to
 * prove it is still the file the index knows) and the compressed bytes (the kinds asked for: what
 * the destination will be checked against). Chunks are whole buffers (4 MiB: newBuffers), so the
 * same source always gives the same zstd frames. The source's identity is checked before and after; a source that
 * changed, or any failure, leaves no `dst` behind.
 */
export async function compressFile(req: CompressRequest, bufs: [Buffer, Buffer]): Promise<CompressResult> {
  let src: number | undefined;
  let dst: number | undefined;
  let encoder: Encoder | undefined;
  let pending: Promise<number> | undefined;
  try {
    if (req.codec === 'zstd') await loadZstd();
    src = openSync(fsPath(req.src), constants.O_RDONLY);
    const before = fstatSync(src, { bigint: true });
    if (!before.isFile()) return { ok: false, code: 'EISDIR', message: `${req.src} is not a regular file` };

    dst = openSync(req.dst, 'w', 0o600);
    fchmodSync(dst, 0o600); // an existing file keeps its mode through O_TRUNC
    const out = dst;
    const hash = new MultiHash(req.kinds);
    let size = 0;
    const sink: Sink = (bytes) => {
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      hash.update(b);
      let off = 0;
      while (off < b.length) off += writeSync(out, b, off, b.length - off);
      size += b.length;
    };
    encoder = req.codec === 'zstd' ? zstdEncoder(sink) : gzipEncoder(sink);

    const sourceHash = createHash('sha256');
    let sourceSize = 0;
    let cur = 0;
    pending = readAhead(src, bufs[0]);
    for (;;) {
      const n = await pending;
      pending = undefined;
      if (n === 0) break;
      const buf = bufs[cur] as Buffer;
      cur ^= 1;
      // The other buffer is free: the encoder finished with it before the previous turn ended.
      if (n === buf.length) pending = readAhead(src, bufs[cur] as Buffer);
      const chunk = buf.subarray(0, n);
      sourceHash.update(chunk);
      sourceSize += n;
      await encoder.push(chunk);
      if (!pending) break; // a short read is the end of the file
    }
    await encoder.finish();

    const after = fstatSync(src, { bigint: true });
    const sourceSha256 = sourceHash.digest('hex');
    if (
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      BigInt(sourceSize) !== after.size ||
      (req.expectSha256 !== undefined && sourceSha256 !== req.expectSha256)
    ) {
      discard(dst, req.dst);
      dst = undefined;
      return { ok: false, code: 'ECHANGED', message: `${req.src} changed while it was being compressed` };
    }
    closeSync(dst);
    dst = undefined;
    return { ok: true, size, hashes: hash.digest(), sourceSize, sourceSha256, mtimeNs: after.mtimeNs };
  } catch (err) {
    // A read still in flight writes into a shared buffer: let it land before the next task runs.
    await pending?.catch(() => undefined);
    if (dst !== undefined) discard(dst, req.dst);
    const e = err as NodeJS.ErrnoException;
    return { ok: false, code: e.code ?? 'EIO', message: e.message ?? String(err) };
  } finally {
    encoder?.close();
    if (src !== undefined) closeSync(src);
  }
}

function discard(fd: number, path: string): void {
  try {
    closeSync(fd);
  } catch {
    // already closed or never usable: removing the file is what matters
  }
  try {
    unlinkSync(path);
  } catch {
    // best effort: a staging file left behind is swept with the rest
  }
}
