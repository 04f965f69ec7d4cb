import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { isIndexedFile, unchangedSince } from '../readOnce';
import type { TransferOpts, UploadSource } from '../types';
import { type BodyWriter, endRequest, writeChunk } from './httpTransport';

const CHUNK = 2 * 1024 * 1024;
const PACE_SLICE = 64 * 1024;

/** Files up to this size are read whole, in one synchronous read, and sent as one buffer. */
export const SMALL_FILE = 1024 * 1024;

/**
 * A small file, read whole with synchronous calls (open, fstat, one read, fstat, close: a few
 * microseconds from the page cache, much cheaper than five trips through the thread pool) and checked
 * before anything is sent: still the size, mtime and SHA-256 the index knows.
 */
export function readSmall(source: UploadSource, context: ErrorContext): Buffer {
  let fd: number;
  try {
    fd = openSync(source.absPath, 'r');
  } catch (err) {
    throw goneOr(err, source, context);
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    if (source.readOnce ? !isIndexedFile(before, source.size, source.readOnce) : Number(before.size) !== source.size)
      throw sourceChanged(source, context, 'changed since it was scanned');
    // One byte more than expected: a file that grew is caught by the same read.
    const buf = Buffer.allocUnsafe(source.size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    const after = fstatSync(fd, { bigint: true });
    if (
      got !== source.size ||
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      (source.readOnce !== undefined && !unchangedSince(before, after))
    )
      throw sourceChanged(source, context, 'changed while it was being read');
    const data = buf.subarray(0, got);
    // Read once: nothing to compare with, the caller hashes these bytes as it sends them.
    if (source.readOnce) return data;
    if (createHash('sha256').update(data).digest('hex') !== source.hashes.sha256)
      throw sourceChanged(source, context, 'no longer has the content that was scanned');
    return data;
  } finally {
    closeSync(fd);
  }
}

/** An open source file, checked against the size the index knows. Close it when done. */
export type OpenSource = { fh: FileHandle; before: BigIntStats; source: UploadSource; context: ErrorContext };

export async function openSource(source: UploadSource, context: ErrorContext): Promise<OpenSource> {
  let fh: FileHandle;
  try {
    fh = await open(source.absPath, 'r');
  } catch (err) {
    throw goneOr(err, source, context);
  }
  try {
    const before = await fh.stat({ bigint: true });
    if (Number(before.size) !== source.size) throw sourceChanged(source, context, 'changed since it was scanned');
    return { fh, before, source, context };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** A source that could not be opened: gone (the next scan sees why), or the error itself. */
function goneOr(err: unknown, source: UploadSource, context: ErrorContext): unknown {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  return new FerryError('source-changed', 'source-gone', `${source.absPath} is gone`, {
    context: { ...context, path: source.absPath },
  });
}

function sourceChanged(source: UploadSource, context: ErrorContext, why: string): FerryError {
  return new FerryError('source-changed', 'source-changed', `${source.absPath} ${why}`, {
    context: { ...context, path: source.absPath },
  });
}

/**
 * A request body made of `head`, the file's bytes and `tail` (a multipart frame, or nothing), streamed
 * chunk by chunk: each chunk is paced (`opts.pace`), hashed, written with backpressure and reported
 * (`opts.onProgress`, in file bytes). The file's last chunk is held back until the whole file has
 * hashed to `source.hashes.sha256` and is still the same size and mtime: otherwise the request is
 * abandoned before its body is complete (the server never receives a whole, wrong file) and
 * `source-changed` is thrown. `sent()` tells how many file bytes went out.
 */
export function fileBody(
  src: OpenSource,
  opts: TransferOpts,
  frame: { head?: Buffer; tail?: Buffer } = {},
): { writer: BodyWriter; sent: () => number; length: number } {
  const { fh, before, source, context } = src;
  const size = source.size;
  let sent = 0;
  const cancelled = () =>
    new FerryError('cancelled', 'cancelled', `upload of ${context.remotePath ?? source.absPath} was cancelled`, {
      context,
    });
  const writer: BodyWriter = async (req: ClientRequest) => {
    const hash = createHash('sha256');
    const finalCheck = async () => {
      const extra = await fh.read(Buffer.alloc(1), 0, 1, size);
      const after = await fh.stat({ bigint: true });
      if (extra.bytesRead > 0 || after.size !== before.size || after.mtimeNs !== before.mtimeNs)
        throw sourceChanged(source, context, 'changed while it was being uploaded');
      if (hash.digest('hex') !== source.hashes.sha256)
        throw sourceChanged(source, context, 'no longer has the content that was scanned');
    };
    if (frame.head && frame.head.length > 0) await writeChunk(req, frame.head);
    if (size === 0) await finalCheck();
    // The next chunk is read while the current one goes out: the socket never waits for the disk.
    const readAt = async (pos: number): Promise<Buffer> => {
      const want = Math.min(CHUNK, size - pos);
      // A fresh buffer per chunk: the socket may still hold the previous one.
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      return bytesRead === want ? buf : buf.subarray(0, bytesRead);
    };
    let pending: Promise<Buffer> | undefined = size > 0 ? readAt(0) : undefined;
    try {
      while (pending) {
        if (opts.signal.aborted) throw cancelled();
        const piece: Buffer = await pending;
        if (piece.length === 0) throw sourceChanged(source, context, 'shrank while it was being uploaded');
        const next = sent + piece.length;
        pending = next < size ? readAt(next) : undefined;
        hash.update(piece);
        if (next === size) await finalCheck();
        if (opts.pace) {
          // Paced in slices: under a low bandwidth cap the connection keeps moving (and its
          // inactivity timeout does not fire) instead of waiting a long time for a whole chunk.
          for (let off = 0; off < piece.length; off += PACE_SLICE) {
            const slice = piece.subarray(off, Math.min(piece.length, off + PACE_SLICE));
            await opts.pace(slice.length);
            if (opts.signal.aborted) throw cancelled();
            await writeChunk(req, slice);
            opts.onProgress?.(sent + off + slice.length);
          }
        } else {
          await writeChunk(req, piece);
          opts.onProgress?.(next);
        }
        sent = next;
      }
    } finally {
      // A read still in flight when we stop must not become an unhandled rejection.
      pending?.catch(() => undefined);
    }
    if (frame.tail && frame.tail.length > 0) await writeChunk(req, frame.tail);
    await endRequest(req);
  };
  return { writer, sent: () => sent, length: (frame.head?.length ?? 0) + size + (frame.tail?.length ?? 0) };
}
