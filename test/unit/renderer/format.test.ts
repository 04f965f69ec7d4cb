import { describe, expect, it } from 'vitest';
import { formatTimeLeft, queueSentence } from '../../../src/renderer/src/lib/format';
import { formatBytes, formatRate } from '../../../src/shared/units';

describe("the window's figures, said plainly", () => {
  it('says a running file has no time left as "verifying", never "done left"', () => {
    expect(formatTimeLeft(0, 1_000_000)).toBe('verifying');
    expect(formatTimeLeft(5_000_000, 1_000_000)).toBe('5 s left');
    expect(formatTimeLeft(5_000_000, 0)).toBe('time left unknown');
  });

  it('says the queue once, without "0 transfers waiting (800 MB), 4 running"', () => {
    expect(queueSentence({ pending: 0, active: 4, failed: 0, bytesPending: 800_000_000 })).toBe(
      '4 running · 800 MB to ship',
    );
    expect(queueSentence({ pending: 12, active: 4, failed: 1, bytesPending: 1_200_000_000 })).toBe(
      '4 running, 12 waiting · 1.2 GB to ship · 1 failed',
    );
    expect(queueSentence({ pending: 0, active: 0, failed: 0, bytesPending: 0 })).toBe('Nothing to ship');
    expect(queueSentence({ pending: 0, active: 0, failed: 2, bytesPending: 0 })).toBe('Nothing to ship · 2 failed');
  });

  it('says a rate below 1 KB/s in whole bytes', () => {
    expect(formatRate(6000 / 11)).toBe('545 B/s');
    expect(formatBytes(999.6)).toBe('1000 B');
  });
});
