import { lstatSync, readdirSync, statSync, type BigIntStats, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { ScanIssue } from '../../../shared/models';
import { IgnoreStack, isTempName } from './ignoreRules';

export type WalkedFile = { path: string; size: number; mtimeNs: bigint; ino: bigint };

export type WalkResult = {
  files: WalkedFile[];
  issues: ScanIssue[];
  /** False when part of the tree could not be read: deletions must not be inferred from it. */
  complete: boolean;
};

/**
 * Walks a folder with synchronous readdir + lstat (the fastest way in Node, measured), honouring the
 * ignore stack. Symbolic links are followed; a link back into its own ancestry is reported as a loop.
 */
export function walkFolder(folder: string, root: string, patterns: readonly string[]): WalkResult {
  const files: WalkedFile[] = [];
  const issues: ScanIssue[] = [];
  let complete = true;
  const issue = (path: string, code: ScanIssue['code'], message: string, blocking: boolean) => {
    issues.push({ folder, path, code, message, blocking });
    if (blocking) complete = false;
  };

  const visit = (abs: string, rel: string, ignores: IgnoreStack, ancestors: Set<string>) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') issue(rel, 'vanished', 'folder disappeared during the scan', false);
      else issue(rel, 'unreadable', `cannot list folder: ${(err as Error).message}`, true);
      return;
    }
    const here = ignores.enter(abs, rel);
    for (const entry of entries) {
      const name = entry.name;
      if (isTempName(name)) continue;
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let st: BigIntStats;
      try {
        st = lstatSync(childAbs, { bigint: true });
        if (st.isSymbolicLink()) {
          try {
            st = statSync(childAbs, { bigint: true });
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ELOOP') issue(childRel, 'symlink-loop', 'symbolic link loop: skipped', false);
            else issue(childRel, 'broken-symlink', 'symbolic link points nowhere: skipped', false);
            continue;
          }
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') issue(childRel, 'vanished', 'removed during the scan', false);
        else issue(childRel, 'unreadable', `cannot read: ${(err as Error).message}`, true);
        continue;
      }
      if (st.isDirectory()) {
        if (here.ignores(childRel, true)) continue;
        const id = `${st.dev}:${st.ino}`;
        if (ancestors.has(id)) {
          issue(childRel, 'symlink-loop', 'symbolic link loops back to a parent folder: skipped', false);
          continue;
        }
        ancestors.add(id);
        visit(childAbs, childRel, here, ancestors);
        ancestors.delete(id);
      } else if (st.isFile()) {
        if (here.ignores(childRel, false)) continue;
        files.push({ path: childRel, size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino });
      }
      // Sockets, FIFOs and devices are not files to ship: passed over silently, like rsync without -D.
    }
  };

  let rootStat: BigIntStats;
  try {
    rootStat = statSync(root, { bigint: true });
  } catch (err) {
    issue(
      '',
      'missing-folder',
      `folder ${root} does not exist (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      true,
    );
    return { files, issues, complete: false };
  }
  if (!rootStat.isDirectory()) {
    issue('', 'not-a-folder', `${root} is not a folder`, true);
    return { files, issues, complete: false };
  }
  visit(root, '', IgnoreStack.forRoot(patterns), new Set([`${rootStat.dev}:${rootStat.ino}`]));
  // A folder unmounted mid-walk reads as empty: confirm the root is still the same before trusting it.
  try {
    const again = statSync(root, { bigint: true });
    if (again.ino !== rootStat.ino || again.dev !== rootStat.dev) complete = false;
  } catch {
    issue('', 'missing-folder', `folder ${root} disappeared during the scan`, true);
  }
  return { files, issues, complete };
}
