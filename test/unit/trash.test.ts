import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { purgeTrash } from '../../src/main/engine/trash';

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
});
