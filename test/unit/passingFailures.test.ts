import { describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { passingFailuresRetried } from '../../src/main/engine/sync/runSteps';
import { TempNames } from '../../src/main/engine/providers/tempNames';

const quick = { baseMs: 1, maxMs: 2 };

function failing(errors: FerryError[]): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: () => {
      const err = errors[calls++];
      return err ? Promise.reject(err) : Promise.resolve('listed');
    },
    calls: () => calls,
  };
}

describe('checks and listings ride out passing failures', () => {
  it('tries a server error again and answers the listing that then works', async () => {
    const f = failing([
      new FerryError('retryable', 'server-error', 'InternalError'),
      new FerryError('retryable', 'connection-lost', 'reset'),
    ]);
    await expect(passingFailuresRetried(f.fn, undefined, 3, quick)).resolves.toBe('listed');
    expect(f.calls()).toBe(3);
  });

  it('gives up after the last attempt with the last error', async () => {
    const errs = [1, 2, 3].map((i) => new FerryError('retryable', 'server-error', `500 #${i}`));
    const f = failing(errs);
    await expect(passingFailuresRetried(f.fn, undefined, 3, quick)).rejects.toBe(errs[2]);
    expect(f.calls()).toBe(3);
  });

  it('does not try again refused credentials or an unreachable server', async () => {
    for (const err of [
      new FerryError('auth', 'auth', 'refused'),
      new FerryError('retryable', 'unreachable', 'ECONNREFUSED'),
    ]) {
      const f = failing([err]);
      await expect(passingFailuresRetried(f.fn, undefined, 3, quick)).rejects.toBe(err);
      expect(f.calls()).toBe(1);
    }
  });
});

describe('which leftover temporaries a listing may sweep', () => {
  it("takes its own at once, another instance's only when a day old", () => {
    const temp = new TempNames('0a1b2c3d');
    expect(temp.head).toBe('.ferrytmp-0a1b2c3d-');
    expect(temp.fileName('probe-')).toMatch(/^\.ferrytmp-0a1b2c3d-probe-[0-9a-f]{16}$/);
    const now = Date.parse('2026-11-23T12:00:00Z');
    expect(temp.isSweepable('.ferrytmp-0a1b2c3d-ab12-x.txt', now, now)).toBe(true);
    expect(temp.isSweepable('.ferrytmp-99999999-ab12-x.txt', now - 60_000, now)).toBe(false);
    expect(temp.isSweepable('.ferrytmp-99999999-ab12-x.txt', undefined, now)).toBe(false);
    expect(temp.isSweepable('.ferrytmp-99999999-ab12-x.txt', now - 25 * 3600_000, now)).toBe(true);
    expect(() => new TempNames('../x')).toThrow(/invalid instance tag/);
  });

  it('keeps no tag in module state: two instances in one process write under their own tags', () => {
    const a = new TempNames('0a1b2c3d');
    const b = new TempNames('99999999');
    expect(a.fileName()).toMatch(/^\.ferrytmp-0a1b2c3d-/);
    expect(b.fileName()).toMatch(/^\.ferrytmp-99999999-/);
    expect(a.isSweepable(b.fileName(), Date.now())).toBe(false);
  });
});
