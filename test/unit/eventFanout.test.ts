import { describe, expect, it } from 'vitest';
import type { TransferRef } from '../../src/shared/events';
import { outgoing, Subscriber } from '../../src/main/server/eventFanout';

const ref = (jobId: number): TransferRef => ({
  jobId,
  kind: 'upload',
  rule: 'r',
  destination: 'nas',
  folder: 'work',
  path: `f${jobId}`,
  remotePath: `f${jobId}`,
  size: 10,
});

/** A sink that holds `buffered` bytes unsent until told otherwise: a reader that stopped reading. */
function sink() {
  const sent: { event: string; payload: Record<string, unknown> }[] = [];
  return {
    sent,
    bufferedAmount: 0,
    send(text: string) {
      sent.push(JSON.parse(text) as (typeof sent)[number]);
    },
  };
}

describe('one subscriber of the event stream', () => {
  it('holds at most its bounded queue for a reader that stopped, then sends the current state and what it missed', () => {
    const s = sink();
    const sub = new Subscriber(s, { flushMs: 1_000_000, maxQueue: 50, highWater: 100 });
    s.bufferedAmount = 1000;
    sub.push(outgoing('service:status', { state: 'syncing' }));
    for (let j = 1; j <= 500; j++) {
      sub.push(outgoing('transfer:started', ref(j)));
      sub.push(outgoing('transfer:progress', { ...ref(j), bytes: 5, total: 10, rate: 1 }));
      sub.push(outgoing('queue:changed', { pending: 500 - j, active: 1, failed: 0, bytesPending: 0 }));
      if (j < 500)
        sub.push(outgoing('transfer:done', { ...ref(j), bytes: 10, durationMs: 1, outcome: 'done', note: null }));
      sub.flush(); // the reader is still behind: nothing goes out
    }
    expect(s.sent).toEqual([]);
    s.bufferedAmount = 0;
    sub.flush();
    expect(s.sent.length).toBeLessThanOrEqual(51);
    expect(s.sent[0]?.event).toBe('warning');
    expect(String(s.sent[0]?.payload.message)).toMatch(/events were skipped/);
    // The current state is all there: the service, the queue, and the one transfer still running.
    expect(s.sent).toContainEqual({ event: 'service:status', payload: { state: 'syncing' } });
    expect(s.sent).toContainEqual(
      expect.objectContaining({ event: 'queue:changed', payload: expect.objectContaining({ pending: 0 }) }),
    );
    const progress = s.sent.filter((m) => m.event === 'transfer:progress').map((m) => m.payload.jobId);
    expect(progress).toContain(500);
    expect(progress.length).toBeLessThan(20); // not the 500 transfers of the history it missed
    sub.close();
  });
});
