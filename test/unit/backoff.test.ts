import { describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { DEFAULT_BACKOFF, retryDelay } from '../../src/main/engine/transfer/backoff';

const retryable = new FerryError('retryable', 'timeout', 'timed out');
const policy = { baseMs: 100, maxMs: 10_000 };

describe('retryDelay', () => {
  it('stays within [bound/2, bound] where the bound doubles with each attempt', () => {
    for (let attempt = 0; attempt <= 6; attempt++) {
      const bound = 100 * 2 ** attempt;
      expect(retryDelay(retryable, attempt, policy, () => 0)).toBe(bound / 2);
      expect(retryDelay(retryable, attempt, policy, () => 0.999999)).toBe(bound - 1);
      expect(retryDelay(retryable, attempt, policy, () => 0.5)).toBe((3 * bound) / 4);
    }
  });

  it('grows exponentially on average', () => {
    const mid = (attempt: number) => retryDelay(retryable, attempt, policy, () => 0.5);
    expect(mid(1)).toBe(2 * mid(0));
    expect(mid(4)).toBe(16 * mid(0));
  });

  it('caps the bound at maxMs, however many attempts', () => {
    for (const attempt of [7, 8, 20, 1000]) {
      const d = retryDelay(retryable, attempt, policy, Math.random);
      expect(d).toBeGreaterThanOrEqual(5000);
      expect(d).toBeLessThanOrEqual(10_000);
    }
    expect(retryDelay(retryable, 1000, policy, () => 0)).toBe(5000);
  });

  it('spreads delays with jitter rather than returning one value', () => {
    const seen = new Set(Array.from({ length: 50 }, () => retryDelay(retryable, 5, policy)));
    expect(seen.size).toBeGreaterThan(1);
  });

  it('uses the default policy: 0.5–1 s first, at most a minute', () => {
    const first = retryDelay(retryable, 0, undefined, () => 0);
    expect(first).toBe(DEFAULT_BACKOFF.baseMs / 2);
    expect(retryDelay(retryable, 50, undefined, () => 0.999999)).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
  });

  it("lets the destination's Retry-After win over the backoff", () => {
    const limited = new FerryError('rate-limited', 'too-many', 'slow down', { retryAfterMs: 42_000 });
    expect(retryDelay(limited, 0, policy, () => 0)).toBe(42_000);
    expect(retryDelay(limited, 10, policy, () => 0.99)).toBe(42_000);
    const zero = new FerryError('rate-limited', 'too-many', 'now', { retryAfterMs: 0 });
    expect(retryDelay(zero, 5, policy, () => 0.5)).toBe(0);
  });

  it('retries a file that changed under us soon, whatever the attempt', () => {
    const changed = new FerryError('source-changed', 'changed', 'changed');
    for (const attempt of [0, 10]) {
      expect(retryDelay(changed, attempt, policy, () => 0)).toBe(250);
      expect(retryDelay(changed, attempt, policy, () => 0.999)).toBe(499);
    }
  });
});
