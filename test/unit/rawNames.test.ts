import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/main/engine/store/db';
import { IndexStore } from '../../src/main/engine/store/indexStore';
import {
  fromDbText,
  fsPath,
  hasRawBytes,
  nameBytes,
  nameFromBytes,
  shownName,
  toDbText,
} from '../../src/main/engine/scan/rawNames';
import { prng } from '../helpers/tree';

const SEED = Number(process.env.FERRY_SEED ?? 1507);

/** Random byte strings biased towards the hard cases: lone high bytes, cut and overlong sequences, NUL-free. */
function randomName(rand: () => number): Buffer {
  const pieces = [
    [0x61],
    [0xe9],
    [0xc3, 0xa9],
    [0xc3],
    [0xe2, 0x82],
    [0xe2, 0x82, 0xac],
    [0xed, 0xa0, 0x80],
    [0xc0, 0xaf],
    [0xf0, 0x9f, 0x98, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xef, 0xbf, 0xbf],
    [0xef, 0xbf, 0xbd],
    [0x5c],
    [0x80],
    [0xff],
  ];
  const out: number[] = [];
  const n = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) out.push(...(pieces[Math.floor(rand() * pieces.length)] as number[]));
  return Buffer.from(out);
}

const bytesOf = (s: string): Buffer => {
  const p = fsPath(s);
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
};

describe('names that are not UTF-8', () => {
  it(`round-trip bytes → name → bytes exactly, and no two byte strings share a name (seed ${SEED})`, () => {
    const rand = prng(SEED);
    const seen = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const raw = randomName(rand);
      const name = nameFromBytes(raw);
      expect(bytesOf(name).equals(raw), `seed ${SEED}: ${raw.toString('hex')}`).toBe(true);
      expect(nameBytes(name)).toBe(raw.length);
      const other = seen.get(name);
      if (other !== undefined) expect(other).toBe(raw.toString('hex'));
      seen.set(name, raw.toString('hex'));
      // Valid UTF-8 is the plain string Node would give, with no escape in it.
      const valid = Buffer.from(raw.toString('utf8'), 'utf8').equals(raw);
      expect(hasRawBytes(name)).toBe(!valid);
      if (valid) expect(name).toBe(raw.toString('utf8'));
      expect(fromDbText(toDbText(name))).toBe(name);
      expect(hasRawBytes(toDbText(name))).toBe(false);
    }
  });

  it('show the bytes escaped, and leave valid names alone', () => {
    expect(shownName(nameFromBytes(Buffer.from('caf\xe9.txt', 'latin1')))).toBe('caf\\xe9.txt');
    expect(shownName('café.txt')).toBe('café.txt');
    expect(fsPath('café.txt')).toBe('café.txt');
  });

  it('keep their exact bytes through the state database', () => {
    const db = openDb(':memory:');
    const index = new IndexStore(db);
    const raw = nameFromBytes(Buffer.from('dir/caf\xe9.txt', 'latin1'));
    const twin = 'dir/caf\uffffe9.txt'; // what a careless escape would confuse it with
    const file = (path: string) => ({
      folder: 'f',
      path,
      size: 1,
      mtimeNs: 1n,
      ino: 1n,
      hashes: { sha256: path === raw ? 'a' : 'b' },
    });
    index.putMany([file(raw), file(twin)]);
    const back = index.loadFolder('f');
    expect([...back.keys()].sort()).toEqual([raw, twin].sort());
    expect(index.get('f', raw)?.hashes.sha256).toBe('a');
    expect(index.get('f', twin)?.hashes.sha256).toBe('b');
    db.close();
  });
});
