import type { FerryConfig } from '../../../shared/config';
import type { RequestArgs, Results, VersionFile } from '../../../shared/contract';
import { FerryError } from '../../../shared/errors';
import { canRead, canRemove, type Destination } from '../providers/types';
import type { Store } from '../store/store';
import { catalog } from './catalog';
import type { Clock } from './clock';
import { adoptArea, settleVersions, type VersionOwner } from './keeper';
import { restore } from './restore';

/** The destinations whose versions a request looks at: `rule`'s, else those of every rule reading the folders. */
export function versionDestinations(cfg: FerryConfig, folders: readonly string[], rule: string | undefined): string[] {
  if (rule !== undefined) {
    const r = cfg.rules.find((x) => x.name === rule);
    if (!r)
      throw new FerryError(
        'permanent',
        'unknown-rule',
        `no rule named "${rule}" (rules: ${cfg.rules.map((x) => `"${x.name}"`).join(', ') || 'none'})`,
      );
    return [...r.to];
  }
  return [...new Set(cfg.rules.filter((r) => r.from.some((f) => folders.includes(f))).flatMap((r) => r.to))];
}

/**
 * Whose a destination path is, for a version found in the area alone: the record Ferry kept of the
 * copy there, else a rule that sends its one folder there as it is (path template `{path}`).
 */
export function ownerOf(cfg: FerryConfig, store: Store, destination: string): VersionOwner {
  const rules = cfg.rules.filter((r) => r.to.includes(destination) && r.path === '{path}' && r.from.length === 1);
  return (remotePath) => {
    const rec = store.shipped.get(destination, remotePath);
    if (rec) return { rule: rec.rule, folder: rec.folder, path: rec.path };
    const r = rules[0];
    return r && { rule: r.name, folder: r.from[0] as string, path: remotePath };
  };
}

/** Settles what a crash left pending and finds again what only the area knows, where the destination answers. */
export async function reconcileVersions(
  cfg: FerryConfig,
  store: Store,
  dest: Destination,
  signal?: AbortSignal,
): Promise<void> {
  if (!canRead(dest) || !canRemove(dest)) return;
  await settleVersions(store, dest, signal);
  await adoptArea(store, dest, ownerOf(cfg, store, dest.id), signal);
}

function folderOf(cfg: FerryConfig, id: string) {
  const f = cfg.folders.find((x) => x.id === id);
  if (!f) throw new FerryError('not-found', 'unknown-folder', `no folder "${id}"`);
  return f;
}

/** A path as the window sends it: folder-relative, `/`-separated, no leading or trailing slash. */
const clean = (p: string) => p.replace(/^\/+|\/+$/g, '');

/** `versions:list`: from the records (what a crash left pending settled where a destination answers). */
export async function listVersions(
  cfg: FerryConfig,
  store: Store,
  connected: (id: string) => Destination | undefined,
  q: RequestArgs<'versions:list'>,
): Promise<Results['versions:list']> {
  folderOf(cfg, q.folder);
  const ids = versionDestinations(cfg, [q.folder], q.rule);
  for (const id of ids) {
    const d = connected(id);
    if (d) await reconcileVersions(cfg, store, d).catch(() => undefined);
  }
  const items: VersionFile[] = catalog(store, q.folder, clean(q.path), ids).map((f) => ({
    path: f.path,
    destination: f.destination,
    remotePath: f.remotePath,
    current: f.current ? { shippedAt: f.current.shippedAt, size: f.current.size, sha256: f.current.sha256 } : null,
    versions: f.versions.map((v) => ({
      keptAt: v.keptAt,
      since: v.since,
      size: v.size,
      sha256: v.sha256,
      cause: v.cause,
      location: v.location,
    })),
  }));
  return { items };
}

/** `versions:restore`: every destination it needs must be connected, or nothing is done. */
export async function restoreVersions(
  cfg: FerryConfig,
  store: Store,
  connected: (id: string) => Destination | undefined,
  clock: Clock,
  q: RequestArgs<'versions:restore'>,
  signal: AbortSignal,
): Promise<Results['versions:restore']> {
  const folder = folderOf(cfg, q.folder);
  const ids = versionDestinations(cfg, [q.folder], q.rule);
  const dests = ids.map((id) => {
    const d = connected(id);
    if (!d)
      throw new FerryError('retryable', 'not-connected', `destination "${id}" is not connected: nothing was restored`, {
        hint: 'see its status; restore once it is back',
      });
    return d;
  });
  for (const d of dests) await reconcileVersions(cfg, store, d, signal);
  const restored = await restore({
    store,
    destinations: dests,
    targets: q.paths.map((p) => ({ folder, path: clean(p) })),
    at: q.at,
    ...(q.to !== undefined ? { to: q.to } : {}),
    clock,
    signal,
  });
  return {
    at: q.at,
    restored: restored.map((r) => ({
      path: r.path,
      file: r.file,
      destination: r.destination,
      from: r.from,
      size: r.size,
      sha256: r.sha256,
      ...(r.keptCurrent !== undefined ? { keptCurrent: r.keptCurrent } : {}),
      ...(r.unchanged ? { unchanged: true } : {}),
    })),
  };
}
