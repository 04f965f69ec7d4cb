import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK, hashFile, newBuffers } from '../../src/main/engine/scan/hashFile';
import { SNIFF_BYTES, sniffType } from '../../src/main/engine/scan/sniffType';
import { prng } from '../helpers/tree';

const PDF = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1');
const PNG = Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001080600000000', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb', 'hex');

/** A real one-entry ZIP archive (stored, not deflated). */
function zip(name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4); // version needed
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const centralAt = local.length + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralAt, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

function randomBinary(n: number, seed: number): Buffer {
  const rnd = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
}

/** What the scanner hands over: at most SNIFF_BYTES of the start, and the file's size. */
const sniff = (content: Buffer) => sniffType(content.subarray(0, SNIFF_BYTES), content.length);

describe('sniffType', () => {
  it('samples as many bytes as file-type needs', () => {
    expect(SNIFF_BYTES).toBe(4100);
  });

  it('knows a PDF by its magic number', async () => {
    expect(await sniff(Buffer.concat([PDF, randomBinary(10_000, 1)]))).toBe('application/pdf');
  });

  it('knows PNG and JPEG images', async () => {
    expect(await sniff(PNG)).toBe('image/png');
    expect(await sniff(JPEG)).toBe('image/jpeg');
  });

  it('knows a ZIP archive, also from only the start of a big one', async () => {
    const archive = zip('notes.txt', randomBinary(20_000, 2));
    expect(await sniff(archive)).toBe('application/zip');
  });

  it('knows gzip', async () => {
    expect(await sniff(gzipSync(Buffer.from('hello, '.repeat(100))))).toBe('application/gzip');
  });

  it('says text/plain for UTF-8 text', async () => {
    expect(await sniff(Buffer.from('Grüße aus Köln — 東京 🚢\nsecond line\n'))).toBe('text/plain');
  });

  it('says text/plain when the sample ends inside a multi-byte character of a longer file', async () => {
    // 'é' is two bytes: with one ASCII byte in front, every pair straddles the sample's end.
    const text = Buffer.from(`x${'é'.repeat(5000)}`);
    const head = text.subarray(0, SNIFF_BYTES);
    expect(head.at(-1)).toBe(0xc3); // the first byte of an 'é', its second byte cut off
    expect(await sniffType(head, text.length)).toBe('text/plain');
    // The same bytes as a whole file end in a broken character: that is not text.
    expect(await sniffType(head, head.length)).toBe('application/octet-stream');
  });

  it('says application/x-empty for an empty file', async () => {
    expect(await sniffType(new Uint8Array(0), 0)).toBe('application/x-empty');
  });

  it('says application/octet-stream for unknown binary, and for text with NUL bytes', async () => {
    expect(await sniff(randomBinary(8192, 3))).toBe('application/octet-stream');
    expect(await sniff(Buffer.from('looks like text\u0000but is not'))).toBe('application/octet-stream');
  });
});

describe('hashFile with sniff', () => {
  let dir: string;
  const bufs = newBuffers();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-sniff-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('sniffs from the bytes it hashes, small and multi-chunk files alike', async () => {
    for (const [name, size] of [
      ['small.jpg', 5000],
      ['big.jpg', 2 * CHUNK + 123],
    ] as const) {
      const content = Buffer.concat([PDF, randomBinary(size - PDF.length, 4)]);
      const path = join(dir, name);
      writeFileSync(path, content);
      const res = await hashFile({ id: 1, path, kinds: [], sniff: true }, bufs);
      expect(res).toMatchObject({
        ok: true,
        size,
        mime: 'application/pdf',
        hashes: { sha256: createHash('sha256').update(content).digest('hex') },
      });
    }
  });

  it('gives no type when not asked', async () => {
    const path = join(dir, 'plain.pdf');
    writeFileSync(path, PDF);
    const res = await hashFile({ id: 2, path, kinds: [] }, bufs);
    expect(res.ok && 'mime' in res).toBe(false);
  });

  it('sniffs an empty file as empty', async () => {
    const path = join(dir, 'empty');
    writeFileSync(path, '');
    expect(await hashFile({ id: 3, path, kinds: [], sniff: true }, bufs)).toMatchObject({
      ok: true,
      mime: 'application/x-empty',
    });
  });
});
