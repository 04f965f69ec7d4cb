import type { BelowQuorum } from './planner';
import type { ShippedStore } from '../store/shippedStore';

/**
 * Counts again, from the records, the copies of files that were below their quorum when planned:
 * after the transfers ran most have reached it. Only those entries are looked at, so this stays cheap.
 */
export function stillBelowQuorum(entries: readonly BelowQuorum[], shipped: ShippedStore): BelowQuorum[] {
  const out: BelowQuorum[] = [];
  for (const e of entries) {
    const copies = e.destinations.filter((d) => {
      const r = shipped.get(d, e.remotePath);
      return r !== undefined && r.sha256 === e.sha256 && r.encoding === e.encoding;
    }).length;
    if (copies < e.needed) out.push({ ...e, copies });
  }
  return out;
}
