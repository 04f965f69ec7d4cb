import { randomBytes } from 'node:crypto';
import { TEMP_PREFIX } from '../scan/ignoreRules';

/** Another instance's temporary is taken for abandoned, and swept, only once it is this old. */
export const FOREIGN_TEMP_AGE_MS = 24 * 3600_000;

export function newInstanceTag(): string {
  return randomBytes(4).toString('hex');
}

export function isInstanceTag(tag: string): boolean {
  return /^[0-9a-f]{8}$/.test(tag);
}

/** A fresh temporary name under `head` (a worker thread is handed the head, not the object). */
export function tempFileNameAt(head: string, kind = ''): string {
  return `${head}${kind}${randomBytes(8).toString('hex')}`;
}

/**
 * The temporary names one Ferry instance writes: `.ferrytmp-<tag>-…`. A listing sweeps only its own
 * leftovers at once, because another instance sharing the destination may be writing one at this very
 * moment. The tag belongs to the state directory (Store.open), so a restart still finds its leftovers;
 * it is handed to every provider and worker (ProviderDeps.temp), never kept in module state.
 */
export class TempNames {
  /** The start of every temporary name this instance writes. */
  readonly head: string;

  constructor(readonly tag: string = newInstanceTag()) {
    if (!isInstanceTag(tag)) throw new Error(`invalid instance tag ${JSON.stringify(tag)}`);
    this.head = `${TEMP_PREFIX}${tag}-`;
  }

  /** A fresh temporary name (`kind` tells what it is for: `probe-`, `dl-`, ...). */
  fileName(kind = ''): string {
    return tempFileNameAt(this.head, kind);
  }

  /** Whether a listing may remove this leftover: ours, or someone else's long abandoned. */
  isSweepable(name: string, mtimeMs: number | undefined, now = Date.now()): boolean {
    if (name.startsWith(this.head)) return true;
    return mtimeMs !== undefined && now - mtimeMs > FOREIGN_TEMP_AGE_MS;
  }
}
