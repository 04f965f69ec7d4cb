import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK, hashFile, newBuffers } from '../../src/main/engine/scan/hashFile';

const hex = (algo: string, buf: Buffer) => createHash(algo).update(buf).digest('hex');

describe('hashFile', () => {
  let dir: string;
  const bufs = newBuffers();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-hash-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function check(name: string, content: Buffer) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const st = statSync(path, { bigint: true });
    const res = await hashFile({ id: 7, path, kinds: ['md5'] }, bufs);
    expect(res).toEqual({
      id: 7,
      ok: true,
      size: content.length,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      ino: st.ino,
      hashes: { sha256: hex('sha256', content), md5: hex('md5', content) },
    });
  }

  it('hashes an empty file', async () => {
    await check('empty', Buffer.alloc(0));
  });

  it('hashes a small file in one synchronous read', async () => {
    await check('small', Buffer.from('hello, ferry\n'));
  });

  it('hashes a file of exactly one chunk', async () => {
    await check('chunk', randomBytes(CHUNK));
  });

  it('hashes a file larger than one chunk through the double-buffered path', async () => {
    await check('large', randomBytes(2 * CHUNK + 12345));
  });

  it('computes the Dropbox hash when asked', async () => {
    const content = randomBytes(CHUNK + 1);
    const path = join(dir, 'dropbox');
    writeFileSync(path, content);
    const res = await hashFile({ id: 1, path, kinds: ['dropbox'] }, bufs);
    const blocks = Buffer.concat([
      createHash('sha256').update(content.subarray(0, CHUNK)).digest(),
      createHash('sha256').update(content.subarray(CHUNK)).digest(),
    ]);
    expect(res.ok && res.hashes.dropbox).toBe(hex('sha256', blocks));
  });

  it('reports ENOENT for a missing file', async () => {
    const res = await hashFile({ id: 2, path: join(dir, 'missing'), kinds: [] }, bufs);
    expect(res).toMatchObject({ id: 2, ok: false, code: 'ENOENT' });
  });

  it('reports a directory as not a regular file', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const res = await hashFile({ id: 3, path: sub, kinds: [] }, bufs);
    expect(res).toEqual({ id: 3, ok: false, code: 'EISDIR', message: 'not a regular file' });
  });
});
