import { describe, expect, it } from 'vitest';
import type { TransferRef } from '../../src/shared/events';
import { ProgressModel, percentOf } from '../../src/shared/progress';

function ref(jobId: number, folder = 'work', size = 1000): TransferRef {
  return {
    jobId,
    kind: 'upload',
    rule: 'r',
    destination: 'nas',
    folder,
    path: `f${jobId}`,
    remotePath: `f${jobId}`,
    size,
  };
}

describe('the one progress model (Status, Queue and tray)', () => {
  it('moves running bytes from left to done as they are sent, per folder and in total', () => {
    let now = 0;
    const m = new ProgressModel(() => now);
    m.observe('transfer:started', ref(1));
    now = 1000;
    m.observe('transfer:progress', { ...ref(1), bytes: 400, total: 1000, rate: 0 });
    const queued = [
      { folder: 'work', files: 3, bytes: 3000 },
      { folder: 'photos', files: 1, bytes: 500 },
    ];
    const a = m.snapshot(queued);
    expect(a.folders).toEqual([
      { folder: 'photos', filesLeft: 1, bytesLeft: 500, filesDone: 0, bytesDone: 0, percent: 0 },
      { folder: 'work', filesLeft: 3, bytesLeft: 2600, filesDone: 0, bytesDone: 400, percent: 13 },
    ]);
    expect(a).toMatchObject({ filesLeft: 4, bytesLeft: 3100, bytesDone: 400, running: 1, percent: 11 });
    // The figures move with every progress event, not only when a file is done.
    now = 2000;
    m.observe('transfer:progress', { ...ref(1), bytes: 900, total: 1000, rate: 0 });
    expect(m.snapshot(queued).bytesLeft).toBe(2600);
  });

  it('measures the rate from the bytes really sent, not from what transfers claim', () => {
    let now = 0;
    const m = new ProgressModel(() => now);
    m.observe('transfer:started', ref(1, 'work', 10_000_000));
    m.observe('transfer:started', ref(2, 'work', 10_000_000));
    for (let t = 1; t <= 6; t++) {
      now = t * 500;
      // Each claims 10 MB/s; together they send 1.5 MB every half second: 3 MB/s.
      m.observe('transfer:progress', { ...ref(1), bytes: t * 1_000_000, total: 1e7, rate: 10_000_000 });
      m.observe('transfer:progress', { ...ref(2), bytes: t * 500_000, total: 1e7, rate: 10_000_000 });
    }
    expect(m.rate()).toBe(3_000_000);
    const s = m.snapshot([{ folder: 'work', files: 2, bytes: 20_000_000 }]);
    expect(s.bytesLeft).toBe(20_000_000 - 9_000_000);
    expect(s.etaSec).toBe(Math.ceil(11_000_000 / 3_000_000));
    // Nothing sent for longer than the window: nothing moves, and no time left is made up.
    now = 10_000;
    expect(m.rate()).toBe(0);
    expect(m.snapshot([{ folder: 'work', files: 2, bytes: 20_000_000 }]).etaSec).toBeNull();
  });

  it('gives each running transfer its rate and time left by the same measure, so one transfer agrees with the whole', () => {
    let now = 0;
    const m = new ProgressModel(() => now);
    m.observe('transfer:started', ref(1, 'work', 300_000_000));
    for (let t = 1; t <= 4; t++) {
      now = t * 1000;
      // The transfer's own figure (an average since it started) would say otherwise: it is not used.
      m.observe('transfer:progress', { ...ref(1), bytes: t * 15_000_000, total: 300_000_000, rate: 22_000_000 });
    }
    const s = m.snapshot([{ folder: 'work', files: 1, bytes: 300_000_000 }]);
    expect(s.transfers).toEqual([{ jobId: 1, sent: 60_000_000, size: 300_000_000, rate: 15_000_000, etaSec: 16 }]);
    expect(s.rate).toBe(15_000_000);
    expect(s.etaSec).toBe(16);
    // A second one: each has its own rate, and they add up to the whole's.
    m.observe('transfer:started', ref(2, 'work', 10_000_000));
    now = 5000;
    m.observe('transfer:progress', { ...ref(1), bytes: 70_000_000, total: 300_000_000, rate: 0 });
    m.observe('transfer:progress', { ...ref(2), bytes: 5_000_000, total: 10_000_000, rate: 0 });
    const two = m.snapshot([{ folder: 'work', files: 2, bytes: 310_000_000 }]);
    expect(two.transfers.map((t) => t.rate)).toEqual([(40_000_000 * 1000) / 3000, (5_000_000 * 1000) / 1000]);
    expect(two.rate).toBe((45_000_000 * 1000) / 3000);
  });

  it('a retried transfer that starts over is not counted twice', () => {
    let now = 0;
    const m = new ProgressModel(() => now);
    m.observe('transfer:started', ref(1));
    now = 1000;
    m.observe('transfer:progress', { ...ref(1), bytes: 600, total: 1000, rate: 0 });
    m.observe('transfer:retry', {
      ...ref(1),
      attempt: 1,
      delayMs: 10,
      error: { kind: 'retryable', code: 'x', message: 'x', context: {} },
    });
    m.observe('transfer:started', ref(1));
    m.observe('transfer:progress', { ...ref(1), bytes: 300, total: 1000, rate: 0 });
    expect(m.snapshot([{ folder: 'work', files: 1, bytes: 1000 }])).toMatchObject({ bytesLeft: 700, bytesDone: 300 });
    // Both attempts' bytes went over the wire: 900 bytes in 2 s.
    now = 2000;
    expect(m.rate()).toBe(450);
  });

  it("done files count until the folder's queue is empty, then it starts afresh", () => {
    let now = 0;
    const m = new ProgressModel(() => now);
    m.observe('transfer:started', ref(1));
    now = 500;
    m.observe('transfer:done', { ...ref(1), bytes: 1000, durationMs: 500, outcome: 'done', note: null });
    expect(m.snapshot([{ folder: 'work', files: 1, bytes: 1000 }]).folders).toEqual([
      { folder: 'work', filesLeft: 1, bytesLeft: 1000, filesDone: 1, bytesDone: 1000, percent: 50 },
    ]);
    const idle = m.snapshot([]);
    expect(idle).toMatchObject({ filesLeft: 0, bytesLeft: 0, percent: null, etaSec: null, folders: [] });
    expect(m.snapshot([{ folder: 'work', files: 2, bytes: 2000 }]).folders[0]).toMatchObject({
      filesDone: 0,
      percent: 0,
    });
  });

  it('deletions count as files, not bytes', () => {
    const m = new ProgressModel(() => 0);
    m.observe('transfer:started', { ...ref(1), kind: 'delete-remote' });
    m.observe('transfer:done', {
      ...ref(1),
      kind: 'delete-remote',
      bytes: 0,
      durationMs: 1,
      outcome: 'done',
      note: null,
    });
    expect(m.snapshot([{ folder: 'work', files: 3, bytes: 0 }]).folders[0]).toMatchObject({
      filesDone: 1,
      filesLeft: 3,
      bytesDone: 0,
      percent: 25,
    });
  });

  it('never says 100 % while something is left', () => {
    expect(percentOf(999_999, 1)).toBe(99);
    expect(percentOf(5, 0)).toBeNull();
    expect(percentOf(0, 10)).toBe(0);
  });
});
