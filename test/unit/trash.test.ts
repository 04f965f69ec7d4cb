import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moveToTrash, purgeTrash } from '../../src/main/engine/sync/trash';

describe("a folder's trash", () => {
  it('keeps 30 days of deleted files and empties older days only', () => {
    const root = mkdtempSync(join(tmpdir(), 'ferry-trash-'));
    try {
      for (const day of ['2026-10-01', '2026-10-24', '2026-11-20', 'not-a-day']) {
        mkdirSync(join(root, '.ferry-trash', day, 'docs'), { recursive: true });
        writeFileSync(join(root, '.ferry-trash', day, 'docs', 'x.txt'), day);
      }
      expect(purgeTrash(root, new Date('2026-11-23T12:00:00Z'))).toEqual(['2026-10-01']);
      expect(readdirSync(join(root, '.ferry-trash')).sort()).toEqual(['2026-10-24', '2026-11-20', 'not-a-day']);
      expect(purgeTrash(join(root, 'missing'))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('takes a file from a folder whose name the trash already holds as a file (a file replaced by a folder)', () => {
    const root = mkdtempSync(join(tmpdir(), 'ferry-trash-'));
    const day = new Date('2026-11-23T12:00:00Z');
    try {
      writeFileSync(join(root, 'p'), 'the file p');
      moveToTrash(root, 'p', day);
      mkdirSync(join(root, 'p', 'q'), { recursive: true });
      writeFileSync(join(root, 'p', 'q', 'x'), 'in the folder p');
      moveToTrash(root, 'p/q/x', day);
      const trash = join(root, '.ferry-trash', '2026-11-23');
      expect(readFileSync(join(trash, 'p'), 'utf8')).toBe('the file p');
      expect(readFileSync(join(trash, 'p.2', 'q', 'x'), 'utf8')).toBe('in the folder p');
      // The folders the move left empty go too (never the folder's root).
      expect(existsSync(join(root, 'p'))).toBe(false);
      expect(existsSync(root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
