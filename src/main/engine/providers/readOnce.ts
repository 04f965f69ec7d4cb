import type { BigIntStats } from 'node:fs';
import type { ReadOnce } from './types';

/**
 * A `readOnce` source (types.ts) is trusted by its identity instead of a hash from an earlier read:
 * before the read the file must be the one the index describes (a rename or an edit since the scan
 * sends another file than the plan saw), and after it nothing may have changed (a write moves the
 * change time, which no tool sets back), or the bytes sent may be torn.
 */
export function isIndexedFile(st: BigIntStats, size: number, r: ReadOnce): boolean {
  return (
    st.isFile() &&
    Number(st.size) === size &&
    st.mtimeNs === r.mtimeNs &&
    st.ino === r.ino &&
    (r.ctimeNs === undefined || st.ctimeNs === r.ctimeNs)
  );
}

/** Whether the file is unchanged between two looks at its open descriptor. */
export function unchangedSince(before: BigIntStats, after: BigIntStats): boolean {
  return after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs;
}
