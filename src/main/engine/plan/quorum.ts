import type { BelowQuorum } from './planner';
import type { ShippedStore } from '../store/shippedStore';
import type { IndexStore } from '../store/indexStore';
import { isRead } from '../../../shared/hashes';

/**
 * Counts again, from the records, the copies of files that were below their quorum when planned:
 * after the transfers ran most have reached it. Only those entries are looked at, so this stays cheap.
 */
export function stillBelowQuorum(
  entries: readonly BelowQuorum[],
  shipped: ShippedStore,
  index?: Pick<IndexStore, 'get'>,
): BelowQuorum[] {
  const out: BelowQuorum[] = [];
  for (const planned of entries) {
    // Planned unread (read once): its content is what its upload read, now in the index.
    const learnt = isRead({ sha256: planned.sha256 }) ? undefined : index?.get(planned.folder, planned.path)?.hashes;
    const e = learnt && isRead(learnt) ? { ...planned, sha256: learnt.sha256 } : planned;
    const copies = e.destinations.filter((d) => {
      const r = shipped.get(d, e.remotePath);
      return r !== undefined && r.sha256 === e.sha256 && r.encoding === e.encoding;
    }).length;
    if (copies < e.needed) out.push({ ...e, copies });
  }
  return out;
}
