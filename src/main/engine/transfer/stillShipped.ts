import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Destination, Readable, RemoteEntry } from '../providers/types';
import { randomBytes } from 'node:crypto';
import { MultiHash } from '../scan/multiHash';
import type { ShippedRecord } from '../store/shippedStore';

/**
 * Whether `there` (the destination's file at the record's path, as just stat'ed) is still the copy Ferry
 * shipped: its version is the recorded one, or the token moved without anyone writing other bytes (a
 * local volume remounted with new inode numbers, a server that tags its files anew), which a read-back
 * tells. Only then may a mirror delete it or move it away; another writer's replacement is theirs.
 */
export async function stillShipped(
  dest: Destination & Readable,
  there: RemoteEntry,
  rec: ShippedRecord,
  stagingDir: string,
  signal: AbortSignal,
): Promise<boolean> {
  if (there.version === undefined || rec.remoteVersion === null || there.version === rec.remoteVersion) return true;
  // Stored transformed (compressed), its bytes cannot be compared with the source's SHA-256.
  if (rec.encoding !== 'identity' || there.size !== rec.size) return false;
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const copy = join(stagingDir, `shipped-${randomBytes(8).toString('hex')}`);
  try {
    await dest.download(there.path, copy, { signal });
    const h = new MultiHash();
    for await (const chunk of createReadStream(copy)) h.update(chunk as Buffer);
    return h.digest().sha256 === rec.sha256;
  } finally {
    await rm(copy, { force: true });
  }
}
