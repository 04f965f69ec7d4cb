import { closeSync, fstatSync, openSync, readSync, read as readCb, constants } from 'node:fs';
import { promisify } from 'node:util';
import { type HashKind, type Hashes, unreadMark } from '../../../shared/hashes';
import { MultiHash } from './multiHash';
import { SNIFF_BYTES, sniffType } from './sniffType';
import { fsPath } from './rawNames';

const readAsync = promisify(readCb);
export const CHUNK = 4 * 1024 * 1024;

/**
 * With `sniff`, the result also says the content type, sniffed from the bytes read for hashing. With
 * `headOnly`, the file is opened and looked at but not hashed (its hashes come back as an unreadMark:
 * it is read whole once, when it is sent), and with `sniff` only its first SNIFF_BYTES are read.
 */
export type HashRequest = { id: number; path: string; kinds: HashKind[]; sniff?: boolean; headOnly?: boolean };
export type HashResult =
  | { id: number; ok: true; size: number; mtimeNs: bigint; ino: bigint; ctimeNs: bigint; hashes: Hashes; mime?: string }
  | { id: number; ok: false; code: string; message: string };

/**
 * Hashes one file, reading it exactly once. Files up to one chunk are read synchronously; larger ones
 * double-buffered (the next read is in flight while the current chunk is hashed). The file's identity
 * is checked before and after: if it changed while being read, the result says so instead of lying.
 * With `sniff`, the file's first SNIFF_BYTES are copied out of the chunks as they are read (the
 * buffers are reused) and sniffed for the content type: still one read.
 */
export async function hashFile(req: HashRequest, bufs: [Buffer, Buffer]): Promise<HashResult> {
  let fd: number;
  try {
    fd = openSync(fsPath(req.path), constants.O_RDONLY | (constants.O_NOATIME ?? 0));
  } catch (err) {
    // O_NOATIME is refused for files we do not own; retry without it.
    if ((err as NodeJS.ErrnoException).code === 'EPERM') {
      try {
        fd = openSync(fsPath(req.path), constants.O_RDONLY);
      } catch (err2) {
        return fail(req.id, err2);
      }
    } else return fail(req.id, err);
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return { id: req.id, ok: false, code: 'EISDIR', message: 'not a regular file' };
    const hash = new MultiHash(req.kinds);
    let total = 0;
    const head = req.sniff ? new Uint8Array(SNIFF_BYTES) : undefined;
    let headLen = 0;
    const keepHead = (chunk: Buffer) => {
      if (!head || headLen >= SNIFF_BYTES) return;
      const take = Math.min(SNIFF_BYTES - headLen, chunk.length);
      head.set(chunk.subarray(0, take), headLen);
      headLen += take;
    };
    if (req.headOnly) {
      const buf = bufs[0];
      while (head && headLen < SNIFF_BYTES) {
        const n = readSync(fd, buf, 0, SNIFF_BYTES - headLen, null);
        if (n === 0) break;
        keepHead(buf.subarray(0, n));
      }
      total = Number(before.size);
    } else if (before.size <= BigInt(CHUNK)) {
      const buf = bufs[0];
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        keepHead(buf.subarray(0, n));
        hash.update(buf.subarray(0, n));
        total += n;
      }
    } else {
      let cur = 0;
      let pending = readAsync(fd, bufs[0], 0, CHUNK, null);
      for (;;) {
        const { bytesRead } = await pending;
        if (bytesRead === 0) break;
        const buf = bufs[cur] as Buffer;
        cur ^= 1;
        pending = readAsync(fd, bufs[cur] as Buffer, 0, CHUNK, null);
        keepHead(buf.subarray(0, bytesRead));
        hash.update(buf.subarray(0, bytesRead));
        total += bytesRead;
      }
    }
    const after = fstatSync(fd, { bigint: true });
    if (
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      after.ctimeNs !== before.ctimeNs ||
      BigInt(total) !== after.size
    )
      return { id: req.id, ok: false, code: 'ECHANGED', message: 'the file changed while it was being read' };
    const hashes = req.headOnly
      ? { sha256: unreadMark({ size: total, mtimeNs: after.mtimeNs, ino: after.ino }) }
      : hash.digest();
    const ok = {
      id: req.id,
      ok: true as const,
      size: total,
      mtimeNs: after.mtimeNs,
      ino: after.ino,
      ctimeNs: after.ctimeNs,
      hashes,
    };
    return head ? { ...ok, mime: await sniffType(head.subarray(0, headLen), total) } : ok;
  } catch (err) {
    return fail(req.id, err);
  } finally {
    closeSync(fd);
  }
}

function fail(id: number, err: unknown): HashResult {
  const e = err as NodeJS.ErrnoException;
  return { id, ok: false, code: e.code ?? 'EIO', message: e.message };
}

export function newBuffers(): [Buffer, Buffer] {
  return [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
}
