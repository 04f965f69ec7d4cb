import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsError } from '../../src/main/engine/providers/fsErrors';

function thrown(f: () => unknown): NodeJS.ErrnoException {
  try {
    f();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('it did not throw');
}

describe('fsError: a failure as a sentence with its path and its fix', () => {
  it('says a missing path does not exist, names it, and says what to do, without errno jargon', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-fserr-'));
    try {
      const missing = join(dir, 'gone', 'a.txt');
      const e = fsError(
        thrown(() => readFileSync(missing)),
        'cannot upload a.txt',
      );
      expect(e.kind).toBe('not-found');
      expect(e.message).toBe(`cannot upload a.txt: ${missing} does not exist`);
      expect(e.message).not.toMatch(/ENOENT|no such file/);
      expect(e.hint).toMatch(/mounted.*path in the settings/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the target of a rename, and the folder rather than Ferry's temporary file", () => {
    const copy = {
      code: 'EISDIR',
      message: "EISDIR: illegal operation on a directory, rename '/d/docs/.ferrytmp-ab-1' -> '/d/docs/x.txt'",
    };
    const e = fsError(Object.assign(new Error(copy.message), { code: copy.code }), 'cannot upload docs/x.txt');
    expect(e.message).toBe('cannot upload docs/x.txt: a file and a folder want the same name at /d/docs/x.txt');
    expect(e.hint).toBe('rename one of them, then retry');
    const full = fsError(
      Object.assign(new Error("ENOSPC: no space left on device, write '/d/docs/.ferrytmp-ab-2'"), { code: 'ENOSPC' }),
      'cannot upload docs/y.txt',
    );
    expect(full.message).toBe('cannot upload docs/y.txt: the disk holding /d/docs is full');
    expect(full.kind).toBe('quota');
  });
});
