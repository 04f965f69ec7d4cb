import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { logDurability } from '../../diagnostics/durabilityLog';
import { fsPath } from '../../scan/rawNames';

/**
 * Folders are made below a destination's root (or a folder's), never the root itself: a root that is
 * gone is an unplugged disk or an unmounted share, and making it again would fill the system disk
 * under the empty mount point. Each level is made on its own (no `recursive`), so a root that vanishes
 * meanwhile fails the next mkdir with ENOENT instead of being made. Throws ENOENT naming the root.
 */
export function mkdirBelowSync(root: string, dir: string): void {
  if (dir === root || !dir.startsWith(root.endsWith(sep) ? root : root + sep)) return;
  try {
    mkdirSync(fsPath(dir));
    logDurability('mkdir', dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw err;
    const parent = dirname(dir);
    if (parent === root) throw rootMissing(root, err);
    mkdirBelowSync(root, parent);
    try {
      mkdirSync(fsPath(dir));
      logDurability('mkdir', dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

/** mkdirBelowSync, asynchronously (the main thread's moves and copies). */
export async function mkdirBelow(root: string, dir: string): Promise<void> {
  if (dir === root || !dir.startsWith(root.endsWith(sep) ? root : root + sep)) return;
  try {
    await mkdir(fsPath(dir));
    logDurability('mkdir', dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw err;
    const parent = dirname(dir);
    if (parent === root) throw rootMissing(root, err);
    await mkdirBelow(root, parent);
    try {
      await mkdir(fsPath(dir));
      logDurability('mkdir', dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

function rootMissing(root: string, cause: unknown): NodeJS.ErrnoException {
  return Object.assign(
    new Error(`ENOENT: the folder ${root} is missing (a disk unplugged or a share unmounted?)`, { cause }),
    {
      code: 'ENOENT',
      path: root,
    },
  );
}
