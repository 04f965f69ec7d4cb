/**
 * Which bytes a file had at a moment, from its kept versions and the copy there now: a version kept
 * at k held the file until k, since it arrived (`since`, when known), so the oldest version kept after
 * `at` is the one that was there then; with none, the copy there now was, if it arrived by then.
 * The engine's restore and the window's preview both decide with this.
 */
export type Moment<V, C> = { kind: 'version'; version: V } | { kind: 'current'; current: C } | { kind: 'absent' };

export function momentAt<V extends { keptAt: number; since: number | null }, C extends { shippedAt: number }>(
  versions: readonly V[],
  current: C | null | undefined,
  at: number,
): Moment<V, C> {
  let after: V | undefined;
  for (const v of versions) if (v.keptAt > at && (after === undefined || v.keptAt < after.keptAt)) after = v;
  if (after) return after.since !== null && after.since > at ? { kind: 'absent' } : { kind: 'version', version: after };
  if (current && current.shippedAt <= at) return { kind: 'current', current };
  return { kind: 'absent' };
}
