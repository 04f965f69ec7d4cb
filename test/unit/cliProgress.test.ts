import { describe, expect, it, vi } from 'vitest';
import { attachProgress } from '../../src/main/cli/progress';
import { EventBus } from '../../src/main/engine/events';
import type { TransferRef } from '../../src/shared/events';

const ref = (jobId: number, size: number): TransferRef => ({
  jobId,
  kind: 'upload',
  rule: 'r',
  destination: 'nas',
  folder: 'work',
  path: `f${jobId}.txt`,
  remotePath: `f${jobId}.txt`,
  size,
});

/** The last plain (not a terminal) progress line a run prints for the events given. */
function lastLine(feed: (events: EventBus) => void): string | undefined {
  const events = new EventBus();
  let text = '';
  const detach = attachProgress(events, { write: (s: string) => (text += s), isTTY: false });
  feed(events);
  detach();
  return text
    .split('\n')
    .filter((l) => l.startsWith('↑'))
    .pop();
}

describe("the command line's progress line", () => {
  it('counts a file already running in the total: never more bytes sent than in all', () => {
    const line = lastLine((events) => {
      // Before the queue is counted, the running file alone makes the total.
      events.emit('transfer:started', ref(1, 20));
      events.emit('transfer:progress', { ...ref(1, 20), bytes: 10, total: 20, rate: 10 });
      events.emit('queue:changed', { pending: 0, active: 1, failed: 0, bytesPending: 20 });
      events.emit('transfer:done', { ...ref(1, 20), bytes: 20, durationMs: 5, outcome: 'done', note: null });
    });
    expect(line).toContain('1/1 files');
    expect(line).toContain('20 B/20 B');
    expect(line).not.toContain('/0 B');
  });

  it("counts a batch's running files once: the queue's pending bytes already hold them (6.30 kB/10.3 kB before)", () => {
    const line = lastLine((events) => {
      for (const id of [1, 2, 3]) events.emit('transfer:started', ref(id, 10));
      // Running jobs stay in the queue until they end: their bytes are pending.
      events.emit('queue:changed', { pending: 0, active: 3, failed: 0, bytesPending: 30 });
      for (const id of [1, 2, 3])
        events.emit('transfer:done', { ...ref(id, 10), bytes: 10, durationMs: 5, outcome: 'done', note: null });
    });
    expect(line).toContain('3/3 files');
    expect(line).toContain('30 B/30 B');
  });

  it('says a rate in whole bytes, not 545.4545454545455 B/s', () => {
    const line = lastLine((events) => {
      const now = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
      events.emit('queue:changed', { pending: 1, active: 0, failed: 0, bytesPending: 600 });
      events.emit('transfer:started', ref(1, 600));
      // 600 bytes in 1.1 s: 545.45… B/s.
      now.mockReturnValue(1_001_100);
      events.emit('transfer:done', { ...ref(1, 600), bytes: 600, durationMs: 1100, outcome: 'done', note: null });
    });
    vi.restoreAllMocks();
    expect(line).toMatch(/· 54[56] B\/s ·/);
  });
});
