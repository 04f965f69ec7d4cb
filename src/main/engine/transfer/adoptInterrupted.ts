import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { commonHash, type Destination, type RemoteEntry } from '../providers/types';
import { tempFileName } from '../scan/ignoreRules';
import { MultiHash } from '../scan/multiHash';
import type { Job } from '../store/jobStore';
import type { Store } from '../store/store';

/**
 * A write killed after the destination published it but before its record was committed leaves a file
 * the records do not know: nothing would ever rename or delete it (a mirror whose source was renamed
 * meanwhile kept both names). Its job is still in the queue — a crash leaves every unfinished job
 * pending — so on the next complete listing, a file at such a job's path, of its size, that no record
 * describes, is compared with the job's content (by a hash the listing vouches for, else read back)
 * and, when it is that content, recorded as delivered: from then on the planner renames, keeps or
 * deletes it like any other delivered copy (the deletion brake and the scan's completeness included).
 * Anything else at that path is left alone, as before. Returns how many files were adopted.
 */
export async function adoptInterruptedWrites(
  store: Store,
  dest: Destination,
  listed: ReadonlyMap<string, RemoteEntry>,
  signal?: AbortSignal,
): Promise<number> {
  let adopted = 0;
  for (const job of store.jobs.unfinishedWrites(dest.id)) {
    const remotePath = job.remotePath as string;
    const entry = listed.get(remotePath);
    if (!entry || entry.partial || entry.size !== job.size) continue;
    const rec = store.shipped.get(dest.id, remotePath);
    const described =
      rec !== undefined &&
      rec.size === entry.size &&
      (entry.version === undefined || rec.remoteVersion === null || entry.version === rec.remoteVersion);
    if (described) continue;
    if (!(await holdsJobContent(store, dest, job, entry, signal))) continue;
    store.shipped.put({
      destination: dest.id,
      remotePath,
      rule: job.rule,
      folder: job.folder,
      path: job.path,
      size: entry.size,
      sha256: job.sha256 as string,
      encoding: 'identity',
      remoteVersion: entry.version ?? null,
      shippedAt: Date.now(),
    });
    adopted++;
  }
  return adopted;
}

/** Whether the destination's file is the job's content: by a hash the listing gives, else by its bytes. */
async function holdsJobContent(
  store: Store,
  dest: Destination,
  job: Job,
  entry: RemoteEntry,
  signal?: AbortSignal,
): Promise<boolean> {
  const want = job.sha256 as string;
  const indexed = store.index.get(job.folder, job.path);
  const cmp = commonHash(entry, indexed?.hashes.sha256 === want ? indexed.hashes : { sha256: want });
  if (cmp) return cmp.matches;
  await mkdir(store.stagingDir, { recursive: true, mode: 0o700 });
  const copy = join(store.stagingDir, tempFileName('adopt-'));
  try {
    await dest.download(entry.path, copy, { signal: signal ?? new AbortController().signal });
    const h = new MultiHash();
    for await (const chunk of createReadStream(copy)) h.update(chunk as Buffer);
    return h.digest().sha256 === want;
  } catch {
    // Cannot be read back now: left as it is, and looked at again on the next listing.
    return false;
  } finally {
    await rm(copy, { force: true });
  }
}
