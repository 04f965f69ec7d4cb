import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { FolderConfig } from '../../../shared/config';
import type { HashKind } from '../../../shared/hashes';
import type { LocalFile, ScanIssue } from '../../../shared/models';
import { fsPath } from '../scan/rawNames';
import { reconcile, type ScannerDeps } from '../scan/scanner';
import { topmost } from '../scan/walk';

/** What a scoped scan learnt about the paths a watcher named (and what lies below those that are folders). */
export type PathScan = {
  /** The hinted paths, reduced to the topmost ones. */
  roots: string[];
  /** Every file in scope that is there now, hashed or kept from the index. */
  present: Map<string, LocalFile>;
  /** Files the index held in scope that are confirmed absent now (and removed from the index). */
  gone: string[];
  /** In scope, present but unreadable: never treated as deleted. */
  unreadable: Set<string>;
  issues: ScanIssue[];
  /** False when part of the scope could not be read: nothing in it may be deleted. */
  complete: boolean;
  /** File-system calls made by the walk, and files opened to be hashed: the change's cost. */
  looked: number;
  read: number;
  hashed: number;
  durationMs: number;
};

/**
 * Scans only the hinted paths: their previous state comes from the index by key (and by key range for
 * a folder), never from a load of the whole folder, so a change costs what it touches. Undefined when a
 * hint cannot be scoped (a name that is not UTF-8 at the top, the folder itself gone): the caller scans
 * the whole folder instead.
 */
export async function scanPaths(
  folder: FolderConfig,
  kinds: readonly HashKind[],
  deps: ScannerDeps,
  paths: readonly string[],
  sniff: boolean,
): Promise<PathScan | undefined> {
  // A name that is not UTF-8 comes with U+FFFD and reaches nothing: the folder above it is looked at.
  const started = Date.now();
  const hinted = paths.map((p) =>
    p.includes('\uFFFD') ? p.slice(0, Math.max(0, p.lastIndexOf('/', p.indexOf('\uFFFD')))) : p,
  );
  if (hinted.includes('')) return undefined;
  const roots = topmost(hinted);
  const walked = await deps.workers.walk(folder.id, folder.path, folder.ignore, roots);
  if (walked.issues.some((i) => i.code === 'missing-folder' || i.code === 'not-a-folder')) return undefined;
  const before = new Map<string, LocalFile>();
  for (const root of roots) {
    const at = deps.index.get(folder.id, root);
    if (at) before.set(at.path, at);
    for (const f of deps.index.under(folder.id, root)) before.set(f.path, f);
  }
  // A path the watcher did not name may be where a new file was before (a move whose old name came in
  // another batch, or never): an indexed file with the same id, size and mtime that is no longer there
  // is confirmed gone here, so the plan sees the rename instead of a new file beside a stale one.
  let looked = walked.looked ?? 0;
  if (walked.complete)
    for (const w of walked.files) {
      if (before.has(w.path)) continue;
      for (const c of deps.index.withIno(folder.id, w.ino)) {
        if (c.path === w.path || before.has(c.path) || c.size !== w.size || c.mtimeNs !== w.mtimeNs) continue;
        looked++;
        if (absent(join(folder.path, c.path))) before.set(c.path, c);
      }
    }
  const out = { files: new Map<string, LocalFile>(), unreadable: new Set<string>(), issues: [...walked.issues] };
  for (const i of walked.issues) if (i.code === 'unreadable') out.unreadable.add(i.path);
  const { read, hashed } = await reconcile(folder, kinds, deps, walked.files, before, out, { sniff, scoped: true });
  for (const i of out.issues) if (i.path !== '') deps.events.emit('scan:issue', i);
  const gone = walked.complete ? [...before.keys()].filter((p) => !out.files.has(p) && !out.unreadable.has(p)) : [];
  if (gone.length > 0) deps.index.removeMany(folder.id, gone);
  return {
    roots,
    present: out.files,
    gone,
    unreadable: out.unreadable,
    issues: out.issues,
    complete: walked.complete,
    looked,
    read,
    hashed,
    durationMs: Date.now() - started,
  };
}

/** Whether nothing is at `abs` (an error other than "no such file" is not taken as an absence). */
function absent(abs: string): boolean {
  try {
    lstatSync(fsPath(abs));
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}
