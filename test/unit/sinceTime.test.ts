import { describe, expect, it } from 'vitest';
import { parseSince } from '../../src/main/cli/sinceTime';

const now = new Date(2026, 11, 7, 18, 30, 0); // local time

describe('--since: the instant a person means', () => {
  it('a span back from now', () => {
    expect(parseSince('90m', now)).toBe(now.getTime() - 90 * 60_000);
    expect(parseSince('12h', now)).toBe(now.getTime() - 12 * 3_600_000);
    expect(parseSince('7d', now)).toBe(now.getTime() - 7 * 86_400_000);
    expect(parseSince('2w', now)).toBe(now.getTime() - 14 * 86_400_000);
  });

  it('today, yesterday and dates are local midnights; a time without a zone is local', () => {
    expect(parseSince('today', now)).toBe(new Date(2026, 11, 7).getTime());
    expect(parseSince('Yesterday', now)).toBe(new Date(2026, 11, 6).getTime());
    expect(parseSince('2026-12-01', now)).toBe(new Date(2026, 11, 1).getTime());
    expect(parseSince('2026-12-01 14:30', now)).toBe(new Date(2026, 11, 1, 14, 30).getTime());
    expect(parseSince('2026-12-01T14:30:15', now)).toBe(new Date(2026, 11, 1, 14, 30, 15).getTime());
  });

  it('a zone given is honoured', () => {
    expect(parseSince('2026-12-01T14:30:00Z', now)).toBe(Date.UTC(2026, 11, 1, 14, 30));
    expect(parseSince('2026-12-01T14:30:00.918Z', now)).toBe(Date.UTC(2026, 11, 1, 14, 30, 0, 918));
    expect(parseSince('2026-12-01T14:30+01:00', now)).toBe(Date.UTC(2026, 11, 1, 13, 30));
    expect(parseSince('2026-12-01T14:30-0530', now)).toBe(Date.UTC(2026, 11, 1, 20, 0));
  });

  it('what names no instant is refused, never rolled over to another day', () => {
    for (const bad of [
      '',
      'soon',
      '2026-02-30',
      '2026-13-01',
      '2026-12-01 24:00',
      '2026-12-01 10:61',
      '5y',
      '-3d',
      '12/01/2026',
    ])
      expect(parseSince(bad, now), bad).toBeUndefined();
  });
});
