import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../../src/main/engine/files/atomicWrite';

const dirs: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ferry-atomic-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('writeFileAtomically', () => {
  it('replaces a file whole and leaves no temporary beside it', () => {
    const dir = scratch();
    const file = join(dir, 'config.yml');
    writeFileSync(file, 'old');
    writeFileAtomically(file, 'new content');
    expect(readFileSync(file, 'utf8')).toBe('new content');
    expect(readdirSync(dir)).toEqual(['config.yml']);
  });

  it('creates a private file (0600) unless told another mode', () => {
    if (process.platform === 'win32') return;
    const dir = scratch();
    writeFileAtomically(join(dir, 'secret'), 'x');
    writeFileAtomically(join(dir, 'shared.desktop'), 'x', { mode: 0o644 });
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'shared.desktop')).mode & 0o777).toBe(0o644);
  });

  it('makes the folder only when asked (a missing config folder is an error, a state folder is made)', () => {
    const dir = scratch();
    expect(() => writeFileAtomically(join(dir, 'missing', 'f'), 'x')).toThrow(/ENOENT/);
    writeFileAtomically(join(dir, 'state', 'f'), 'x', { dirMode: 0o700 });
    expect(readFileSync(join(dir, 'state', 'f'), 'utf8')).toBe('x');
  });

  it('leaves the old file and no temporary when the write cannot happen', () => {
    const dir = scratch();
    const file = join(dir, 'keep');
    writeFileSync(file, 'old');
    // A target that is a folder: the rename fails after the temporary was written.
    const folder = join(dir, 'folder');
    writeFileAtomically(join(folder, 'x'), 'x', { dirMode: 0o700 });
    expect(() => writeFileAtomically(folder, 'new')).toThrow();
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['folder', 'keep']);
  });
});
