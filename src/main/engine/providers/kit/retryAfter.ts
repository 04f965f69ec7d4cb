/**
 * Retry-After (RFC 9110 §10.2.3) as milliseconds from `now`: delta-seconds, or an HTTP-date in any of
 * its three forms (IMF-fixdate, the obsolete RFC 850 form, asctime, which is GMT without saying so).
 * Absent or unreadable is undefined, never "at once": a caller then uses its own backoff. A date in
 * the past is 0. Fractional seconds, which some S3- and GCS-compatible stores send, are accepted.
 */
export function parseRetryAfter(
  value: string | readonly string[] | null | undefined,
  now = Date.now(),
): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined || raw === null) return undefined;
  const v = raw.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // Date.parse takes "5" or "-5" for a year: only the shapes of an HTTP-date are read as one.
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(v);
  const dated = /^[A-Za-z]{3,9}, \d\d[ -][A-Za-z]{3}[ -]\d{2,4} \d\d:\d\d:\d\d GMT$/.test(v);
  if (!asctime && !dated) return undefined;
  const at = Date.parse(asctime ? `${v} GMT` : v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
