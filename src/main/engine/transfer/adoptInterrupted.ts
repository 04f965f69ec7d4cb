import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { commonHash, type Destination, type Readable, type RemoteEntry } from '../providers/types';
import { randomBytes } from 'node:crypto';
import { MultiHash } from '../scan/multiHash';
import { type Hashes, unreadIdentity } from '../../../shared/hashes';
import type { LocalFile } from '../../../shared/models';
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
 *
 * A job planned for a file not read yet (read once) names the file by its identity instead of its
 * content (unreadMark): the file with that size, mtime and file id — at its path, or renamed since — is
 * hashed now with `rehash` (which puts it in the index), and its content is what the copy must hold.
 * When no such file is left (deleted, or edited since), the copy is the job's by the identity the scan
 * itself trusts: its size and the source's mtime, which the upload gave it (to the destination's
 * resolution); it is recorded with the content it holds, read back.
 */
export async function adoptInterruptedWrites(
  store: Store,
  dest: Destination & Readable,
  listed: ReadonlyMap<string, RemoteEntry>,
  signal?: AbortSignal,
  rehash?: (folder: string, path: string) => Promise<LocalFile | undefined>,
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
    const wanted = await jobContent(store, job, rehash);
    // Without a file to compare with, what the copy holds (read back) is recorded.
    const content = wanted ?? (await leftByUnreadJob(store, dest, job, entry, signal));
    if (!content || (wanted && !(await holdsJobContent(store, dest, wanted, entry, signal)))) continue;
    store.shipped.put({
      destination: dest.id,
      remotePath,
      rule: job.rule,
      folder: job.folder,
      path: job.path,
      size: entry.size,
      sha256: content.sha256,
      encoding: 'identity',
      remoteVersion: entry.version ?? null,
      shippedAt: Date.now(),
    });
    adopted++;
  }
  return adopted;
}

/** The hashes of what the job was to write: its SHA-256 (with the index's other kinds), or its unread file's now. */
async function jobContent(
  store: Store,
  job: Job,
  rehash: ((folder: string, path: string) => Promise<LocalFile | undefined>) | undefined,
): Promise<Hashes | undefined> {
  const want = job.sha256 as string;
  const id = unreadIdentity(want);
  if (!id) {
    const indexed = store.index.get(job.folder, job.path);
    return indexed?.hashes.sha256 === want ? indexed.hashes : { sha256: want };
  }
  if (!rehash) return undefined;
  const same = (f: LocalFile) => f.size === id.size && f.mtimeNs === id.mtimeNs && f.ino === id.ino;
  for (const c of store.index.withIno(job.folder, id.ino).filter(same)) {
    const fresh = await rehash(job.folder, c.path).catch(() => undefined);
    if (fresh && same(fresh)) return fresh.hashes;
  }
  return undefined;
}

/** The content of a copy an unread job left whose file is gone: by the size and mtime the upload gave it. */
async function leftByUnreadJob(
  store: Store,
  dest: Destination & Readable,
  job: Job,
  entry: RemoteEntry,
  signal?: AbortSignal,
): Promise<Hashes | undefined> {
  const id = unreadIdentity(job.sha256 as string);
  if (!id || entry.size !== id.size || entry.mtimeMs === undefined) return undefined;
  const ms = Number(id.mtimeNs / 1_000_000n);
  const near = (t: number) => Math.abs((entry.mtimeMs as number) - t) < 1;
  if (!near(ms) && !near(Math.floor(ms / 1000) * 1000)) return undefined;
  if (entry.hashes?.sha256 !== undefined) return { sha256: entry.hashes.sha256 };
  const sha256 = await readBack(store, dest, entry, signal);
  return sha256 === undefined ? undefined : { sha256 };
}

/** The SHA-256 of a destination's file, downloaded to the staging folder; undefined when it cannot be read now. */
async function readBack(
  store: Store,
  dest: Destination & Readable,
  entry: RemoteEntry,
  signal?: AbortSignal,
): Promise<string | undefined> {
  await mkdir(store.stagingDir, { recursive: true, mode: 0o700 });
  const copy = join(store.stagingDir, `adopt-${randomBytes(8).toString('hex')}`);
  try {
    await dest.download(entry.path, copy, { signal: signal ?? new AbortController().signal });
    const h = new MultiHash();
    for await (const chunk of createReadStream(copy)) h.update(chunk as Buffer);
    return h.digest().sha256;
  } catch {
    // Cannot be read back now: left as it is, and looked at again on the next listing.
    return undefined;
  } finally {
    await rm(copy, { force: true });
  }
}

/** Whether the destination's file holds `want`: by a hash the listing gives, else by its bytes. */
async function holdsJobContent(
  store: Store,
  dest: Destination & Readable,
  want: Hashes,
  entry: RemoteEntry,
  signal?: AbortSignal,
): Promise<boolean> {
  const cmp = commonHash(entry, want);
  if (cmp) return cmp.matches;
  return (await readBack(store, dest, entry, signal)) === want.sha256;
}
