import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseInsensitiveAt } from '../../src/main/engine/providers/local/localProvider';

const root = mkdtempSync(join(tmpdir(), 'ferry-case-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('whether a local destination folds case, asked of its file system', () => {
  it('says no on a case-sensitive file system, even when a twin of the folder exists', () => {
    mkdirSync(join(root, 'Backup'));
    expect(caseInsensitiveAt(join(root, 'Backup'))).toBe(false);
    mkdirSync(join(root, 'bACKUP'));
    expect(caseInsensitiveAt(join(root, 'Backup'))).toBe(false);
  });

  it('cannot tell from a name without letters, or a folder that is not there', () => {
    mkdirSync(join(root, '2024'));
    expect(caseInsensitiveAt(join(root, '2024'))).toBeUndefined();
    expect(caseInsensitiveAt(join(root, 'Missing'))).toBeUndefined();
  });
});
