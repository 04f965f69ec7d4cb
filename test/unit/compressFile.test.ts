import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../src/main/engine/workers/compressFile';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const MiB = 1024 * 1024;
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** 9 MiB that compresses in parts: text, random bytes, zeros, in turn. */
function mixed(size: number): Buffer {
  const out = Buffer.alloc(size);
  const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n');
  for (let off = 0, part = 0; off < size; off += 256 * 1024, part++) {
    const end = Math.min(size, off + 256 * 1024);
    if (part % 3 === 0) for (let i = off; i < end; i++) out[i] = text[i % text.length] as number;
    else if (part % 3 === 1) randomBytes(end - off).copy(out, off);
  }
  return out;
}

const decode: Record<Codec, (b: Buffer) => Uint8Array> = {
  gzip: (b) => gunzipSync(b),
  zstd: (b) => zstdDecompress(b),
};

/** Where each zstd frame starts, walking the frame headers and blocks (format: RFC 8878). */
function zstdFrames(b: Buffer): number {
  let off = 0;
  let frames = 0;
  while (off < b.length) {
    expect(b.subarray(off, off + 4).equals(ZSTD_MAGIC)).toBe(true);
    const fhd = b[off + 4] as number;
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const dictIdSize = [0, 1, 2, 4][fhd & 3] as number;
    const fcsSize = [single ? 1 : 0, 2, 4, 8][fcsFlag] as number;
    off += 5 + (single ? 0 : 1) + dictIdSize + fcsSize;
    for (;;) {
      const header = b.readUIntLE(off, 3);
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >> 3;
      off += 3 + (type === 1 ? 1 : size);
      if (last) break;
    }
    if ((fhd >> 2) & 1) off += 4; // content checksum
    frames++;
  }
  return frames;
}

describe('compressing a file in the file workers', () => {
  let dir: string;
  let workers: FileWorkers;
  const sources: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    text: Buffer.from('hello, compressed world\n'.repeat(40)),
    mixed: mixed(9 * MiB),
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-compress-'));
    for (const [name, data] of Object.entries(sources)) writeFileSync(join(dir, name), data);
    workers = new FileWorkers(1);
  });
  afterAll(async () => {
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const codec of ['gzip', 'zstd'] as const) {
    for (const name of Object.keys(sources)) {
      it(`${codec}: the ${name} file decompresses to the source, and the hashes are of the bytes written`, async () => {
        const data = sources[name] as Buffer;
        const dst = join(dir, `${name}.${codec}`);
        const r = await workers.compress({ src: join(dir, name), dst, codec, kinds: ['md5'], expectSha256: sha(data) });
        if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
        const written = readFileSync(dst);
        expect(sha(decode[codec](written))).toBe(sha(data));
        expect(r.sourceSha256).toBe(sha(data));
        expect(r.sourceSize).toBe(data.length);
        expect(r.mtimeNs).toBe(statSync(join(dir, name), { bigint: true }).mtimeNs);
        expect(r.size).toBe(written.length);
        expect(r.hashes.sha256).toBe(sha(written));
        expect(r.hashes.md5).toBe(md5(written));
        expect(statSync(dst).mode & 0o777).toBe(0o600);
        // One frame per 4 MiB of source (an empty source still gets one, or the file is no .zst).
        if (codec === 'zstd') expect(zstdFrames(written)).toBe(Math.max(1, Math.ceil(data.length / (4 * MiB))));
      });
    }

    it(`${codec}: gives only the hashes asked for, SHA-256 always`, async () => {
      const dst = join(dir, `plain.${codec}`);
      const r = await workers.compress({ src: join(dir, 'text'), dst, codec, kinds: [] });
      expect(r.ok && r.hashes).toEqual({ sha256: sha(readFileSync(dst)) });
    });

    it(`${codec}: a source that is not what the index says gives ECHANGED and leaves no dst`, async () => {
      const dst = join(dir, `changed.${codec}`);
      writeFileSync(dst, 'a stale staging file');
      const r = await workers.compress({
        src: join(dir, 'mixed'),
        dst,
        codec,
        kinds: [],
        expectSha256: '0'.repeat(64),
      });
      expect(r).toMatchObject({ ok: false, code: 'ECHANGED' });
      expect(existsSync(dst)).toBe(false);
    });

    it(`${codec}: a missing source gives ENOENT and creates no dst`, async () => {
      const dst = join(dir, `missing.${codec}`);
      const r = await workers.compress({ src: join(dir, 'nope'), dst, codec, kinds: [] });
      expect(r).toMatchObject({ ok: false, code: 'ENOENT' });
      expect(existsSync(dst)).toBe(false);
    });
  }

  it('reports a dst that cannot be written with its code, and leaves nothing there', async () => {
    const dst = join(dir, 'no-such-folder', 'out.zst');
    const r = await workers.compress({ src: join(dir, 'text'), dst, codec: 'zstd', kinds: [] });
    expect(r).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(existsSync(dst)).toBe(false);
  });

  it('compresses while hashing runs on the same worker, each result right', async () => {
    const data = sources.mixed as Buffer;
    const hashed: string[] = [];
    const hashing = workers.hashAll([{ path: join(dir, 'mixed'), size: data.length, kinds: [] }], (_j, r) => {
      if (r.ok) hashed.push(r.hashes.sha256);
    });
    const [gz, zst] = await Promise.all([
      workers.compress({ src: join(dir, 'mixed'), dst: join(dir, 'both.gz'), codec: 'gzip', kinds: [] }),
      workers.compress({ src: join(dir, 'mixed'), dst: join(dir, 'both.zst'), codec: 'zstd', kinds: [] }),
    ]);
    await hashing;
    expect(hashed).toEqual([sha(data)]);
    expect(gz?.ok && gz.sourceSha256).toBe(sha(data));
    expect(zst?.ok && zst.sourceSha256).toBe(sha(data));
    expect(sha(gunzipSync(readFileSync(join(dir, 'both.gz'))))).toBe(sha(data));
    expect(sha(zstdDecompress(readFileSync(join(dir, 'both.zst'))))).toBe(sha(data));
  });
});
