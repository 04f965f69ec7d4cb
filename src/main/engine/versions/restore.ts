import { createReadStream } from 'node:fs';
import { lstat, mkdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FolderConfig } from '../../../shared/config';
import { FerryError } from '../../../shared/errors';
import { flushFolder } from '../providers/local/groupCommit';
import { canRead, type Destination, keepsOwnVersions } from '../providers/types';
import { MultiHash } from '../scan/multiHash';
import type { Store } from '../store/store';
import { catalog, type FileVersions, momentOf } from './catalog';
import type { Clock } from './clock';
import { keepLocalBytes, keepsVersionsInArea, OWN_VERSION, VersionKeeper } from './keeper';

export type RestoreTarget = { folder: FolderConfig; path: string };

export type Restored = {
  folder: string;
  path: string;
  /** Where it was written. */
  file: string;
  destination: string;
  /** The version's location at the destination, or the copy's path there when it has not changed since. */
  from: string;
  size: number;
  sha256: string;
  /** The local file it replaced, kept as a version at this location first (a restore into the folder). */
  keptCurrent?: string;
  /** Already as it was: nothing written. */
  unchanged?: boolean;
};

export type RestoreRequest = {
  store: Store;
  /** The destinations to look in, in order of preference (connected). */
  destinations: readonly Destination[];
  targets: readonly RestoreTarget[];
  at: number;
  /** Write below this folder instead of into the synced folder itself. */
  to?: string;
  clock: Clock;
  signal: AbortSignal;
};

async function sha256Of(abs: string): Promise<string | undefined> {
  try {
    const h = new MultiHash(['sha256']);
    for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
    return h.digest().sha256;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const when = (ms: number) => new Date(ms).toISOString();

/**
 * Brings files back as they were at a moment: every file below each target that existed then, from
 * the version kept at a destination (or the copy there, unchanged since). Everything is downloaded to
 * temporary names beside its place and verified against the SHA-256 recorded for it first; only when
 * every file is in hand are they put in place, each by a rename — so a failure writes nothing. Into
 * the folder itself, a current file that differs is kept as a version before it is replaced.
 */
export async function restore(req: RestoreRequest): Promise<Restored[]> {
  const ids = req.destinations.map((d) => d.id);
  const chosen: { file: FileVersions; dest: Destination; location: string; sha256: string | null; size: number }[] = [];
  for (const t of req.targets) {
    const files = catalog(req.store, t.folder.id, t.path, ids);
    const label = t.path === '' ? `folder "${t.folder.id}"` : `"${t.path}" in folder "${t.folder.id}"`;
    if (files.length === 0)
      throw new FerryError(
        'not-found',
        'never-synced',
        `${label}: Ferry never shipped it to ${ids.map((i) => `"${i}"`).join(', ')}, so it has no versions`,
        {
          hint: 'check the path (relative to where you run ferry, or absolute) and --rule; `ferry versions` lists what is kept',
        },
      );
    const seen = new Set<string>();
    for (const f of files) {
      if (seen.has(f.path)) continue; // the first destination that knows the file answers for it
      const m = momentOf(f, req.at);
      if (m.kind === 'absent') continue;
      seen.add(f.path);
      const dest = req.destinations.find((d) => d.id === f.destination) as Destination;
      if (m.kind === 'version')
        chosen.push({ file: f, dest, location: m.version.location, sha256: m.version.sha256, size: m.version.size });
      else
        chosen.push({
          file: f,
          dest,
          location: m.current.remotePath,
          sha256: m.current.encoding === 'identity' ? m.current.sha256 : null,
          size: m.current.size,
        });
    }
    if (![...seen].some((p) => p === t.path || t.path === '' || p.startsWith(`${t.path}/`))) {
      const times = files.flatMap((f) => [
        ...f.versions.map((v) => v.since ?? v.keptAt),
        ...(f.current ? [f.current.shippedAt] : []),
      ]);
      const earliest = times.length > 0 ? Math.min(...times) : undefined;
      throw new FerryError(
        'not-found',
        'no-version-then',
        `${label} did not exist at ${when(req.at)} as far as Ferry kept it`,
        {
          hint:
            earliest !== undefined
              ? `the earliest moment kept is ${when(earliest)}; \`ferry versions\` lists every version`
              : 'nothing of it is kept',
        },
      );
    }
  }
  // 1: every file fetched and verified beside its place, under a temporary name.
  const fetched: { c: (typeof chosen)[number]; temp: string; final: string; sha256: string }[] = [];
  try {
    for (const c of chosen) {
      const base = req.to ?? (req.targets.find((t) => t.folder.id === c.file.folder)?.folder.path as string);
      const final = join(base, ...c.file.path.split('/'));
      await mkdir(dirname(final), { recursive: true });
      const temp = join(dirname(final), req.store.temp.fileName('restore-'));
      fetched.push({ c, temp, final, sha256: '' });
      if (c.location.startsWith(OWN_VERSION) && keepsOwnVersions(c.dest))
        await c.dest.downloadVersion(c.location.slice(OWN_VERSION.length), temp, { signal: req.signal });
      else if (canRead(c.dest)) await c.dest.download(c.location, temp, { signal: req.signal });
      else
        throw new FerryError(
          'permanent',
          'unsupported',
          `destination "${c.dest.id}" cannot be read back: nothing to restore from`,
        );
      const sha = (await sha256Of(temp)) as string;
      const st = await lstat(temp);
      if (st.size !== c.size || (c.sha256 !== null && sha !== c.sha256))
        throw new FerryError(
          'retryable',
          'verify-failed',
          `${c.file.path}: the bytes kept at "${c.dest.id}" (${c.location}) are not the ones recorded (${st.size} bytes, SHA-256 ${sha.slice(0, 12)}…)`,
          {
            hint: 'nothing was restored; the kept copy may have been changed at the destination',
          },
        );
      (fetched[fetched.length - 1] as { sha256: string }).sha256 = sha;
    }
  } catch (err) {
    await Promise.all(fetched.map((f) => unlink(f.temp).catch(() => undefined)));
    throw err;
  }
  // 2: into place, each by a rename; into the folder, what is there now kept first.
  const keeper = new VersionKeeper(req.store, req.clock);
  const out: Restored[] = [];
  for (const { c, temp, final, sha256 } of fetched) {
    const r: Restored = {
      folder: c.file.folder,
      path: c.file.path,
      file: final,
      destination: c.dest.id,
      from: c.location,
      size: c.size,
      sha256,
    };
    const now = await sha256Of(final);
    if (now === sha256) {
      await unlink(temp);
      out.push({ ...r, unchanged: true });
      continue;
    }
    if (req.to === undefined && now !== undefined) {
      const kept = await keepCurrent(req, keeper, c.dest, c.file, final, now);
      r.keptCurrent = kept;
    }
    await rename(temp, final);
    await flushFolder(dirname(final));
    out.push(r);
  }
  return out;
}

/**
 * The local file a restore is about to replace, kept as a version at the destination: the copy there
 * moved into the area when it holds these very bytes (nothing sent; the next pass ships the restored
 * file), else the local bytes uploaded into the area.
 */
async function keepCurrent(
  req: RestoreRequest,
  keeper: VersionKeeper,
  dest: Destination,
  f: FileVersions,
  abs: string,
  sha256: string,
): Promise<string> {
  const what = {
    rule: f.current?.rule ?? f.versions[0]?.rule ?? '',
    folder: f.folder,
    path: f.path,
    remotePath: f.remotePath,
    cause: 'restore' as const,
  };
  // The destination keeps its own versions: the copy there, if it is the current file, is noted, and
  // the next pass's upload leaves it among the service's revisions.
  if (keepsOwnVersions(dest) && f.current?.sha256 === sha256) {
    const v = await keeper.note(dest, what, { keepMs: Number.MAX_SAFE_INTEGER }, req.signal);
    if (v) return v.location;
  }
  if (!keepsVersionsInArea(dest))
    throw new FerryError(
      'permanent',
      'cannot-keep',
      `"${f.path}": destination "${dest.id}" cannot keep the current file as a version`,
      {
        hint: 'restore with --to DIR instead, then move the files yourself',
      },
    );
  if (f.current?.sha256 === sha256 && f.current.encoding === 'identity') {
    const v = await keeper.keep(dest, what, { keepMs: Number.MAX_SAFE_INTEGER }, req.signal);
    if (v) {
      req.store.shipped.delete(dest.id, f.remotePath);
      return v.location;
    }
  }
  const st = await lstat(abs);
  const v = await keepLocalBytes(
    req.store,
    dest,
    what,
    { absPath: abs, size: st.size, mtimeMs: st.mtimeMs, sha256 },
    req.clock(),
    req.signal,
  );
  return v.location;
}
