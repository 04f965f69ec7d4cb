import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IgnoreStack, isTempName, tempFileName, TRASH_DIR } from '../../src/main/engine/scan/ignoreRules';
import { walkFolder, walkInChunks, type WalkedFile } from '../../src/main/engine/scan/walk';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-walk-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(rel: string, content = 'x'): void {
  const abs = join(root, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

function paths(patterns: string[] = []): string[] {
  const res = walkFolder('f', root, patterns);
  return res.files.map((f) => f.path).sort();
}

describe('walkFolder', () => {
  it('lists every file of a nested tree with its size, mtime and inode', () => {
    write('a.txt', 'hello');
    write('sub/b.txt');
    write('sub/deeper/c.txt');
    mkdirSync(join(root, 'empty'));
    const res = walkFolder('f', root, []);
    expect(res.complete).toBe(true);
    expect(res.issues).toEqual([]);
    expect(res.files.map((f) => f.path).sort()).toEqual(['a.txt', 'sub/b.txt', 'sub/deeper/c.txt']);
    const a = res.files.find((f) => f.path === 'a.txt');
    const st = statSync(join(root, 'a.txt'), { bigint: true });
    expect(a).toEqual({ path: 'a.txt', size: 5, mtimeNs: st.mtimeNs, ino: st.ino, ctimeNs: st.ctimeNs });
  });

  it("honours the folder's ignore patterns for files and folders", () => {
    write('keep.txt');
    write('scratch.tmp');
    write('sub/also.tmp');
    write('node_modules/pkg/index.js');
    write('sub/node_modules/x.js');
    write('sub/node_modules.txt');
    expect(paths(['*.tmp', 'node_modules/'])).toEqual(['keep.txt', 'sub/node_modules.txt']);
  });

  it('applies a root .ferryignore everywhere and a nested one only below its folder', () => {
    write('.ferryignore', '*.bak\n');
    write('a.bak');
    write('a.log');
    write('sub/.ferryignore', '*.log\n!keep.log\n');
    write('sub/b.bak');
    write('sub/b.log');
    write('sub/keep.log');
    write('sub/deeper/c.log');
    expect(paths()).toEqual(['.ferryignore', 'a.log', 'sub/.ferryignore', 'sub/keep.log']);
  });

  it('lets a nested .ferryignore re-include what a parent one ignores, as git does', () => {
    write('.ferryignore', '*.log\n');
    write('keep.log');
    write('sub/.ferryignore', '!keep.log\n');
    write('sub/keep.log');
    write('sub/other.log');
    expect(paths()).toEqual(['.ferryignore', 'sub/.ferryignore', 'sub/keep.log']);
  });

  it('anchors a nested .ferryignore pattern with a slash to its own folder', () => {
    write('sub/.ferryignore', '/build/\n');
    write('build/a.txt');
    write('sub/build/b.txt');
    write('sub/x/build/c.txt');
    expect(paths()).toEqual(['build/a.txt', 'sub/.ferryignore', 'sub/x/build/c.txt']);
  });

  it("never lists Ferry's own temporary files", () => {
    write('.ferrytmp-upload-1');
    write('sub/.ferrytmp-abc');
    write('real.txt');
    expect(paths()).toEqual(['real.txt']);
  });

  it('reports a symbolic link back to a parent folder as a loop and goes on', () => {
    write('sub/a.txt');
    symlinkSync('..', join(root, 'sub', 'up'));
    const res = walkFolder('f', root, []);
    expect(res.files.map((f) => f.path).sort()).toEqual(['sub/a.txt']);
    expect(res.issues).toEqual([
      { folder: 'f', path: 'sub/up', code: 'symlink-loop', message: expect.any(String) as string, blocking: false },
    ]);
    expect(res.complete).toBe(true);
  });

  it('reports a link that points to itself as a loop', () => {
    symlinkSync('self', join(root, 'self'));
    const res = walkFolder('f', root, []);
    expect(res.issues.map((i) => [i.path, i.code])).toEqual([['self', 'symlink-loop']]);
    expect(res.complete).toBe(true);
  });

  it('reports a broken symbolic link without failing the scan', () => {
    write('ok.txt');
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    const res = walkFolder('f', root, []);
    expect(res.files.map((f) => f.path)).toEqual(['ok.txt']);
    expect(res.issues).toEqual([
      { folder: 'f', path: 'dangling', code: 'broken-symlink', message: expect.any(String) as string, blocking: false },
    ]);
    expect(res.complete).toBe(true);
  });

  it('follows a symbolic link to a file and reports the target', () => {
    write('real.txt', '12345678');
    symlinkSync('real.txt', join(root, 'link.txt'));
    const res = walkFolder('f', root, []);
    const link = res.files.find((f) => f.path === 'link.txt');
    expect(link?.size).toBe(8);
    expect(link?.ino).toBe(statSync(join(root, 'real.txt'), { bigint: true }).ino);
  });

  it('follows a symbolic link to a folder outside the root', () => {
    const outside = mkdtempSync(join(tmpdir(), 'ferry-walk-out-'));
    try {
      writeFileSync(join(outside, 'o.txt'), 'o');
      symlinkSync(outside, join(root, 'linked'));
      expect(paths()).toEqual(['linked/o.txt']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reports a missing root as incomplete with missing-folder', () => {
    const gone = join(root, 'gone');
    const res = walkFolder('f', gone, []);
    expect(res.complete).toBe(false);
    expect(res.files).toEqual([]);
    expect(res.issues).toEqual([
      {
        folder: 'f',
        path: '',
        code: 'missing-folder',
        message: expect.stringContaining(gone) as string,
        blocking: true,
      },
    ]);
    // A sentence with what to do, not an errno code.
    expect(res.issues[0]?.message).not.toContain('ENOENT');
    expect(res.issues[0]?.message).toMatch(/does not exist: .*mounted.*correct the folder's path/);
  });

  it('reports a root that is a file as incomplete with not-a-folder', () => {
    write('plain');
    const res = walkFolder('f', join(root, 'plain'), []);
    expect(res.complete).toBe(false);
    expect(res.issues.map((i) => i.code)).toEqual(['not-a-folder']);
  });
});

describe('ignore rules', () => {
  it('recognises temporary names by their prefix only', () => {
    expect(isTempName('.ferrytmp-1')).toBe(true);
    expect(isTempName('x.ferrytmp-1')).toBe(false);
  });

  it('matches folder-only patterns only against folders', () => {
    const stack = IgnoreStack.forRoot(['cache/']);
    expect(stack.ignores('cache', true)).toBe(true);
    expect(stack.ignores('cache', false)).toBe(false);
    expect(stack.ignores('a/cache', true)).toBe(true);
  });

  it('ignores nothing without patterns', () => {
    expect(IgnoreStack.forRoot([]).ignores('anything', false)).toBe(false);
  });
});

describe("walkInChunks in 'listing' mode (a local destination's listing)", () => {
  const listing = (patterns: string[] = []) => {
    const walk = walkInChunks('dst', root, patterns, { index: 0, of: 1 }, undefined, 2, 'listing');
    const files: WalkedFile[] = [];
    let chunks = 0;
    for (;;) {
      const step = walk.next();
      if (step.done) return { ...step.value, files: [...files, ...step.value.files], chunks };
      chunks++;
      files.push(...step.value);
    }
  };

  it('reports temporary files as partial, applies no ignore rules, and skips the trash folder', () => {
    write('a.txt');
    write(`sub/${tempFileName()}`);
    write('.ferryignore', '*.log\n');
    write('sub/app.log');
    write(`${TRASH_DIR}/2026-12-07/old.txt`);
    const res = listing(['sub']);
    expect(res.complete).toBe(true);
    const got = res.files.map((f) => `${f.path}${f.partial ? ' (partial)' : ''}`).sort();
    expect(got).toEqual([
      '.ferryignore',
      'a.txt',
      expect.stringMatching(/^sub\/\.ferrytmp-.* \(partial\)$/),
      'sub/app.log',
    ]);
  });

  it('neither follows nor lists symbolic links, to files or to folders', () => {
    write('real/f.txt');
    mkdirSync(join(root, 'outside-target'));
    symlinkSync(join(root, 'real'), join(root, 'linkdir'));
    symlinkSync(join(root, 'real', 'f.txt'), join(root, 'link.txt'));
    expect(
      listing()
        .files.map((f) => f.path)
        .sort(),
    ).toEqual(['real/f.txt']);
  });

  it('hands its files over in chunks (a listing is never held whole)', () => {
    for (let i = 0; i < 5; i++) write(`d${i}/f.txt`);
    const res = listing();
    expect(res.files).toHaveLength(5);
    expect(res.chunks).toBeGreaterThanOrEqual(2);
  });
});
