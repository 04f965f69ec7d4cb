import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkFolder } from '../../src/main/engine/scan/walk';
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
            root: dir,
            tempHead: '.ferrytmp-0a1b2c3d-',
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
      {
        src: f.path,
        target: join(dir, 'wrong'),
        root: dir,
        tempHead: '.ferrytmp-0a1b2c3d-',
        size: f.data.length,
        sha256: '0'.repeat(64),
        mtimeMs: 0,
      },
    ]);
    expect(r).toMatchObject({ ok: false, code: 'ECHANGED' });
    expect(() => statSync(join(dir, 'wrong'))).toThrow();
  });
});

describe('walking a folder in every worker at once', () => {
  let dir: string;
  let workers: FileWorkers;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-fw-walk-'));
    for (let d = 0; d < 25; d++) {
      mkdirSync(join(dir, `top-${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 4; f++) writeFileSync(join(dir, `top-${d}`, 'sub', `f${f}.txt`), `${d}/${f}`);
      writeFileSync(join(dir, `root-file-${d}.txt`), String(d));
    }
    writeFileSync(join(dir, '.ferryignore'), 'top-3/\n');
    workers = new FileWorkers(2);
  });
  afterAll(async () => {
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits the top-level entries so that together the parts walk each entry exactly once', () => {
    const full = walkFolder('f', dir, [])
      .files.map((f) => f.path)
      .sort();
    const parts = [0, 1, 2].flatMap((index) => walkFolder('f', dir, [], { index, of: 3 }).files.map((f) => f.path));
    expect(parts.sort()).toEqual(full);
    expect(new Set(parts).size).toBe(parts.length);
  });

  it('returns what a single-threaded walk returns, ignore files included', async () => {
    const single = walkFolder('f', dir, ['*.md']);
    const parallel = await workers.walk('f', dir, ['*.md']);
    expect(parallel.files.map((f) => f.path).sort()).toEqual(single.files.map((f) => f.path).sort());
    expect(parallel.files.some((f) => f.path.startsWith('top-3/'))).toBe(false);
    expect(parallel.complete).toBe(true);
  });

  it('reports a missing folder once, as incomplete', async () => {
    const r = await workers.walk('f', join(dir, 'nope'), []);
    expect(r.complete).toBe(false);
    expect(r.issues.filter((i) => i.code === 'missing-folder')).toHaveLength(1);
  });
});

describe('file workers that idle out', () => {
  it('stop after the idle time and start again with the next task', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-fw-idle-'));
    const file = join(dir, 'x');
    writeFileSync(file, 'idle');
    const workers = new FileWorkers(1, 50);
    try {
      const hashOnce = async () => {
        let got = '';
        await workers.hashAll([{ path: file, size: 4, kinds: [] }], (_j, r) => {
          if (r.ok) got = r.hashes.sha256;
        });
        return got;
      };
      const first = await hashOnce();
      const threads = () => (workers as unknown as { slots: unknown[] }).slots.length;
      expect(threads()).toBe(1);
      await new Promise((r) => setTimeout(r, 200));
      expect(threads()).toBe(0);
      expect(await hashOnce()).toBe(first);
      expect(threads()).toBe(1);
    } finally {
      await workers.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
