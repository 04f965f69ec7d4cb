import { Response } from 'node-fetch';
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { exchangeCode } from '../../src/main/engine/providers/dropbox/oauth';
import { retryAfterMs as dropboxRetryAfterMs } from '../../src/main/engine/providers/dropbox/dropboxErrors';
import { parseRetryAfter } from '../../src/main/engine/providers/kit/retryAfter';

const NOW = Date.UTC(2026, 11, 7, 18, 0, 0);

describe('parseRetryAfter: what a server says about when to come back', () => {
  it.each([
    ['delta-seconds', '120', 120_000],
    ['zero', '0', 0],
    ['surrounding spaces', '  7 ', 7000],
    ['fractional seconds (some S3/GCS-compatible stores)', '1.5', 1500],
    ['an IMF-fixdate', 'Mon, 07 Dec 2026 18:00:30 GMT', 30_000],
    ['the obsolete RFC 850 form', 'Monday, 07-Dec-26 18:01:00 GMT', 60_000],
    ['asctime, which is GMT without saying so', 'Mon Dec  7 18:00:05 2026', 5000],
    ['a date already past', 'Sun, 06 Nov 1994 08:49:37 GMT', 0],
    ['a header given twice (the first counts)', ['3', '9'], 3000],
  ] as const)('reads %s', (_what, value, ms) => {
    expect(parseRetryAfter(value as string | readonly string[], NOW)).toBe(ms);
  });

  it.each([
    ['absent', undefined],
    ['null (fetch headers.get)', null],
    ['empty', ''],
    ['a word', 'soon'],
    ['negative seconds (Date.parse takes "-5" for a year)', '-5'],
    ['a number with a unit', '10s'],
    ['a date in another zone', 'Mon, 07 Dec 2026 18:00:30 CET'],
    ['a date without its time', 'Mon, 07 Dec 2026'],
    ['an ISO date', '2026-12-07T18:00:30Z'],
  ] as const)('gives nothing for %s: the caller falls back on its own backoff, never "at once"', (_what, value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('Dropbox reads Retry-After with the shared parser', () => {
  const answer = (headers: Record<string, string>, error: unknown = {}) => ({
    name: 'DropboxResponseError' as const,
    status: 429,
    headers: { get: (k: string) => headers[k] ?? null },
    error,
  });

  it('honours an HTTP date, which it used to ignore', () => {
    expect(dropboxRetryAfterMs(answer({ 'retry-after': 'Mon, 07 Dec 2026 18:00:20 GMT' }), NOW)).toBe(20_000);
  });

  it("falls back on the body's retry_after, then on a second", () => {
    expect(dropboxRetryAfterMs(answer({}, { error: { reason: {}, retry_after: 4 } }), NOW)).toBe(4000);
    expect(dropboxRetryAfterMs(answer({ 'retry-after': 'garbage' }), NOW)).toBe(1000);
  });

  it("the sign-in service's 429 with an HTTP-date Retry-After holds for a real time, not NaN", async () => {
    const fetch = () =>
      Promise.resolve(
        new Response('{"error":"too_many_requests"}', {
          status: 429,
          headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() },
        }),
      );
    const err = await exchangeCode(fetch, { appKey: 'k', code: 'c', verifier: 'v', redirectUri: 'http://x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FerryError);
    const ms = (err as FerryError).retryAfterMs;
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThan(20_000);
  });
});
