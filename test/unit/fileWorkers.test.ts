import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('file workers', () => {
  let dir: string;
  let workers: FileWorkers;
  const files: { path: string; data: Buffer }[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-fw-'));
    // Big files take the double-buffered (asynchronous) read path; small ones the synchronous one.
    for (let i = 0; i < 6; i++) files.push({ path: join(dir, `big-${i}`), data: randomBytes(9 * 1024 * 1024 + i) });
    for (let i = 0; i < 40; i++) files.push({ path: join(dir, `small-${i}`), data: randomBytes(1000 + i) });
    for (const f of files) writeFileSync(f.path, f.data);
    workers = new FileWorkers(1);
  });
  afterAll(async () => {
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hashes every file correctly while several batches are queued on one worker', async () => {
    const got = new Map<string, string>();
    await workers.hashAll(
      files.map((f) => ({ path: f.path, size: f.data.length, kinds: [] })),
      (job, r) => {
        if (r.ok) got.set(job.path, r.hashes.sha256);
      },
    );
    for (const f of files) expect(got.get(f.path), f.path).toBe(sha(f.data));
  });

  it('copies while hashing runs, each copy verified and in place, no temporary left', async () => {
    const out = join(dir, 'out');
    const hashing = workers.hashAll(
      files.map((f) => ({ path: f.path, size: f.data.length, kinds: [] })),
      () => undefined,
    );
    const results = await Promise.all(
      files.slice(0, 8).map((f, i) =>
        workers.copy([
          {
            src: f.path,
            target: join(out, `c${i}`),
            size: f.data.length,
            sha256: sha(f.data),
            mtimeMs: statSync(f.path).mtimeMs,
          },
        ]),
      ),
    );
    await hashing;
    expect(results.flat().every((r) => r.ok)).toBe(true);
    files.slice(0, 8).forEach((f, i) => expect(readFileSync(join(out, `c${i}`)).equals(f.data)).toBe(true));
    expect(readdirSync(out).filter((n) => n.startsWith('.ferrytmp-'))).toEqual([]);
  });

  it('refuses to publish a copy whose bytes do not match the expected hash', async () => {
    const f = files[6] as { path: string; data: Buffer };
    const [r] = await workers.copy([
      { src: f.path, target: join(dir, 'wrong'), size: f.data.length, sha256: '0'.repeat(64), mtimeMs: 0 },
    ]);
    expect(r).toMatchObject({ ok: false, code: 'ECHANGED' });
    expect(() => statSync(join(dir, 'wrong'))).toThrow();
  });
});
