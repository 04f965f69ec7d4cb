import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/main/engine/config/loadConfig';
import { conflictName, parseConflictName } from '../../src/main/engine/plan/twoWay';
import { listConflicts, resolveConflict } from '../../src/main/engine/window/conflicts';
import type { LocalFile } from '../../src/shared/models';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-conflicts-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const cfg = () =>
  configFromObject(
    {
      folders: [{ id: 'work', path: root }],
      destinations: [{ id: 'hub', type: 'local', path: '/hub' }],
      rules: [{ name: 'sync', from: ['work'], to: ['hub'], mode: 'two-way' }],
    },
    'x.yml',
    '/',
  );

const COPY = 'docs/notes (conflicted copy from laptop 2026-11-23).md';

function files(...paths: string[]): Map<string, LocalFile> {
  return new Map(
    paths.map((p) => [p, { folder: 'work', path: p, size: 1, mtimeNs: 0n, ino: 0n, hashes: { sha256: '' } }]),
  );
}

function write(path: string, content: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), content);
}

describe('conflicted copies', () => {
  it('are recognised by name, back to their original', () => {
    const made = conflictName('docs/notes.md', 'laptop', new Date('2026-11-23T12:00:00'), () => false);
    expect(parseConflictName(made)).toEqual({ original: 'docs/notes.md', host: 'laptop', date: '2026-11-23' });
    expect(parseConflictName('a (conflicted copy from h 2026-01-02 3)')).toEqual({
      original: 'a',
      host: 'h',
      date: '2026-01-02',
    });
    expect(parseConflictName('docs/notes.md')).toBeUndefined();
  });

  it('are listed with both versions', () => {
    write('docs/notes.md', 'mine!');
    write(COPY, 'theirs');
    const [item, ...rest] = listConflicts(cfg(), () => files('docs/notes.md', COPY));
    expect(rest).toEqual([]);
    expect(item).toMatchObject({ rule: 'sync', folder: 'work', path: 'docs/notes.md', copy: COPY, host: 'laptop' });
    expect(item?.mine?.size).toBe(5);
    expect(item?.theirs.size).toBe(6);
  });

  it('keep mine: the other version goes to the trash', () => {
    write('docs/notes.md', 'mine');
    write(COPY, 'theirs');
    resolveConflict(cfg(), 'work', COPY, 'mine');
    expect(readFileSync(join(root, 'docs/notes.md'), 'utf8')).toBe('mine');
    expect(readdirSync(join(root, 'docs'))).toEqual(['notes.md']);
    const day = readdirSync(join(root, '.ferry-trash'))[0] as string;
    expect(readFileSync(join(root, '.ferry-trash', day, COPY), 'utf8')).toBe('theirs');
  });

  it('keep theirs: the copy takes the name, mine goes to the trash', () => {
    write('docs/notes.md', 'mine');
    write(COPY, 'theirs');
    resolveConflict(cfg(), 'work', COPY, 'theirs');
    expect(readFileSync(join(root, 'docs/notes.md'), 'utf8')).toBe('theirs');
    expect(readdirSync(join(root, 'docs'))).toEqual(['notes.md']);
  });

  it('keep both: the copy keeps a plain name and leaves the list', () => {
    write('docs/notes.md', 'mine');
    write(COPY, 'theirs');
    resolveConflict(cfg(), 'work', COPY, 'both');
    expect(readdirSync(join(root, 'docs')).sort()).toEqual(['notes (from laptop 2026-11-23).md', 'notes.md']);
  });

  it('refuse names that are not conflicted copies or that leave the folder', () => {
    expect(() => resolveConflict(cfg(), 'work', 'docs/notes.md', 'mine')).toThrow(/not a conflicted copy/);
    expect(() => resolveConflict(cfg(), 'work', '../x (conflicted copy from h 2026-01-01)', 'mine')).toThrow(
      /not a conflicted copy/,
    );
    expect(() => resolveConflict(cfg(), 'work', COPY, 'mine')).toThrow(/not there any more/);
  });
});
