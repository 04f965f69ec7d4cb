import type { FerryError } from '../../../shared/errors';

export type BackoffPolicy = { baseMs: number; maxMs: number };
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/**
 * Exponential backoff with full jitter (a random delay up to the exponential bound), so that many
 * failed transfers do not come back in lock-step. A destination's Retry-After always wins.
 */
export function retryDelay(err: FerryError, attempt: number, policy = DEFAULT_BACKOFF, random = Math.random): number {
  if (err.retryAfterMs !== undefined) return err.retryAfterMs;
  if (err.kind === 'source-changed') return 250 + Math.floor(random() * 250);
  const bound = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.floor(bound / 2 + random() * (bound / 2));
}
