import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/**
 * Runs a full garbage collection. V8 sees no reason to collect once a large scan is over and the
 * daemon sits idle, so the memory of a 100,000-file first sync would otherwise stay resident
 * (measured: 568 MB idle before, about 207 MB after a full collection).
 */
export function releaseMemory(): void {
  try {
    if (!collect) {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
    // Twice: the second pass compacts what the first one's finalizers let go (measured: heap 84 → 59 MB).
    collect();
    collect();
  } catch {
    // Not available on this runtime: memory is returned whenever V8 decides.
  }
}
