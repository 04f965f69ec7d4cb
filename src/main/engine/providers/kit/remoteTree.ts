import { FerryError, type ErrorContext } from '../../../../shared/errors';
import { joinAbs, normalizeRemotePath, parentAbs } from '../remotePath';

/**
 * What FTP and SFTP share about a tree of absolute server paths: where the destination's root is, the
 * folders already made (mkdir -p costs one round trip per folder the first time only), pruning folders
 * a deletion left empty, and what a failed write probe in check() means.
 */

/** Whether `dir` is strictly below `top`. */
export function isBelow(dir: string, top: string): boolean {
  return dir !== top && dir.startsWith(top === '/' ? '/' : `${top}/`);
}

/** `rel` below `root` ('' is the root itself). */
export function absBelow(root: string, rel: string): string {
  return rel === '' ? root : joinAbs(root, rel);
}

export type Roots = { container: string; root: string };

/**
 * The container (`path`, resolved once on a connection by `resolve`) and the root below it (`prefix`).
 * A failed resolution is not kept: the next call asks the server again.
 */
export class RemoteRoots<C> {
  private roots: Promise<Roots> | undefined;

  constructor(
    private readonly prefix: string | undefined,
    private readonly resolve: (conn: C) => Promise<string>,
  ) {}

  on(conn: C): Promise<Roots> {
    if (!this.roots) {
      const roots = (async () => {
        const container = await this.resolve(conn);
        const prefix = this.prefix ? normalizeRemotePath(this.prefix) : '';
        return { container, root: prefix === '' ? container : joinAbs(container, prefix) };
      })();
      roots.catch(() => {
        if (this.roots === roots) this.roots = undefined;
      });
      this.roots = roots;
    }
    return this.roots;
  }
}

/** Makes one folder whose parent exists (`parents()` makes the ones above it first, when needed). */
export type MakeDir = (dir: string, parents: () => Promise<void>) => Promise<void>;

/** The folders made below a container: concurrent calls for one folder share the work; a failure is forgotten. */
export class DirCache {
  private readonly made = new Map<string, Promise<void>>();

  /** mkdir -p of `dir` below `container` (which check() requires to exist; it is never made). */
  ensure(dir: string, container: string, make: MakeDir): Promise<void> {
    if (!isBelow(dir, container)) return Promise.resolve();
    let p = this.made.get(dir);
    if (!p) {
      p = make(dir, () => this.ensure(parentAbs(dir), container, make));
      this.made.set(dir, p);
      p.catch(() => this.made.delete(dir));
    }
    return p;
  }

  /** `dir` and everything below it are gone (removed, moved away): made again when next needed. */
  forget(dir: string): void {
    for (const d of [...this.made.keys()]) if (d === dir || isBelow(d, dir)) this.made.delete(d);
  }

  /**
   * Removes the folders a delete or a move left empty, from `dir` up to `root` (never the root), as a
   * mirror should. `rmdir` resolves false when a folder stays (not empty); it throws to give up.
   */
  async prune(dir: string, root: string, rmdir: (dir: string) => Promise<boolean>): Promise<void> {
    while (isBelow(dir, root)) {
      if (!(await rmdir(dir))) return;
      this.forget(dir);
      dir = parentAbs(dir);
    }
  }
}

/**
 * The credentials check() can resolve before connecting: a reference that cannot be resolved is an
 * auth failure (the "credentials" step), with the resolver's message and hint.
 */
export function credentialsOrAuthFailure(resolve: () => unknown, context: ErrorContext): void {
  try {
    resolve();
  } catch (err) {
    const fe = err as FerryError;
    throw new FerryError('auth', 'auth-failed', fe.message, { context, hint: fe.hint, cause: err });
  }
}

/**
 * What a write probe's failure in check() means, once the login worked and the folder is there: a
 * refusal (or no space, or a folder it may not see) is "this login may not write"; whatever else broke,
 * it broke writing (a dropped connection too), unless it was cancelled.
 */
export function probeFailure(
  fe: FerryError,
  p: { where: string; root: string; user: string | undefined; context: ErrorContext; cause: unknown },
): FerryError {
  if (fe.kind === 'auth' || fe.kind === 'quota' || fe.kind === 'not-found')
    return new FerryError('auth', 'read-only', `${p.where}: this login may not write in ${p.root} (${fe.message})`, {
      context: p.context,
      hint: `give the user "${p.user ?? ''}" write permission on ${p.root}, or choose another path`,
      cause: p.cause,
    });
  if (fe.kind === 'cancelled') return fe;
  return new FerryError(fe.kind, 'write-failed', fe.message, {
    context: p.context,
    hint: fe.hint ?? 'the login works and the folder exists, but a test file could not be written there',
    cause: p.cause,
  });
}
