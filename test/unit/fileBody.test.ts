import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { openSource, readSmall } from '../../src/main/engine/providers/kit/fileBody';
import type { UploadSource } from '../../src/main/engine/providers/types';

const dir = mkdtempSync(join(tmpdir(), 'ferry-filebody-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gone: UploadSource = {
  absPath: join(dir, 'deleted-since-the-scan.txt'),
  size: 3,
  mtimeMs: 0,
  hashes: { sha256: '0'.repeat(64) },
};

describe('an upload whose source went away since the scan', () => {
  it('is source-changed (source-gone) whether read whole or streamed, naming the file', async () => {
    let small: unknown;
    try {
      readSmall(gone, { destination: 'd' });
    } catch (err) {
      small = err;
    }
    const streamed = await openSource(gone, { destination: 'd' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    for (const err of [small, streamed]) {
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).kind).toBe('source-changed');
      expect((err as FerryError).code).toBe('source-gone');
      expect((err as FerryError).message).toContain('deleted-since-the-scan.txt');
    }
  });

  it('any other failure to open is passed on as it is', () => {
    const err = (() => {
      try {
        readSmall({ ...gone, absPath: join(dir, 'x\0y') }, {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).not.toBeInstanceOf(FerryError);
  });
});
