import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DROPBOX_BLOCK, MultiHash, hasKinds } from '../../src/main/engine/scan/multiHash';

const MiB = 1024 * 1024;

/** A seeded generator, so a failing split can be reproduced from the test name. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Cuts `buf` into pieces at random points (empty pieces included). */
function split(buf: Buffer, seed: number): Buffer[] {
  const random = rng(seed);
  const cuts = Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * (buf.length + 1))).sort(
    (a, b) => a - b,
  );
  const pieces: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    pieces.push(buf.subarray(at, c));
    at = c;
  }
  return pieces;
}

function hashInPieces(pieces: Buffer[]) {
  const h = new MultiHash(['md5', 'dropbox']);
  for (const p of pieces) h.update(p);
  return h.digest();
}

/** Dropbox's content hash, computed independently of the module under test. */
function dropboxReference(buf: Buffer): string {
  const digests: Buffer[] = [];
  for (let off = 0; off < buf.length; off += DROPBOX_BLOCK)
    digests.push(
      createHash('sha256')
        .update(buf.subarray(off, off + DROPBOX_BLOCK))
        .digest(),
    );
  return createHash('sha256').update(Buffer.concat(digests)).digest('hex');
}

const hex = (algo: string, buf: Buffer) => createHash(algo).update(buf).digest('hex');

describe('MultiHash', () => {
  it('uses 4 MiB Dropbox blocks', () => {
    expect(DROPBOX_BLOCK).toBe(4 * MiB);
  });

  it('computes only SHA-256 unless asked for more', () => {
    const d = new MultiHash().update(Buffer.from('abc')).digest();
    expect(d).toEqual({ sha256: hex('sha256', Buffer.from('abc')) });
  });

  it('matches the known Dropbox hash of the empty input (SHA-256 of nothing)', () => {
    expect(new MultiHash(['dropbox']).digest().dropbox).toBe(hex('sha256', Buffer.alloc(0)));
  });

  const sizes = [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 8 * MiB, 9 * MiB];
  for (const size of sizes) {
    it(`equals node:crypto and the Dropbox reference for ${size} bytes, however the input is split`, () => {
      const buf = randomBytes(size);
      const expected = { sha256: hex('sha256', buf), md5: hex('md5', buf), dropbox: dropboxReference(buf) };
      expect(hashInPieces([buf])).toEqual(expected);
      for (let seed = 1; seed <= 4; seed++)
        expect(hashInPieces(split(buf, seed * 7919 + size)), `seed ${seed}`).toEqual(expected);
    });
  }

  it('differs from a plain SHA-256 once the input spans more than one block', () => {
    const buf = randomBytes(4 * MiB + 1);
    const d = new MultiHash(['dropbox']).update(buf).digest();
    expect(d.dropbox).not.toBe(d.sha256);
  });

  it('splits exactly at a block boundary when one update crosses it', () => {
    const buf = randomBytes(4 * MiB + 10);
    const pieces = [buf.subarray(0, 4 * MiB - 5), buf.subarray(4 * MiB - 5)];
    expect(hashInPieces(pieces).dropbox).toBe(dropboxReference(buf));
  });
});

describe('hasKinds', () => {
  it('says whether every needed kind is present', () => {
    expect(hasKinds({ sha256: 'a', md5: 'b' }, ['sha256', 'md5'])).toBe(true);
    expect(hasKinds({ sha256: 'a' }, ['md5'])).toBe(false);
    expect(hasKinds({ sha256: 'a' }, [])).toBe(true);
  });
});
