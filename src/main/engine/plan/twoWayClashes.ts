/*
 * File-versus-folder clashes of a two-way plan. A name is a file on one side and a folder on the other
 * (one side made `p`, the other `p/x`), or one side replaced a file by a folder of the same name (or
 * the reverse). No side can hold both, so a plan that wants both fails on every pass. Here:
 *  - the folder keeps the name, and the file at it moves aside to a conflicted-copy name on the side(s)
 *    holding it (`set-aside`), then goes to the other side in the same pass: nothing is lost;
 *  - a deletion that makes room for a file or a folder of the same name runs before the pass's writes
 *    (`clearsWay`), so that a file replaced by a folder (or the reverse) on one side is carried over in
 *    one pass;
 *  - a file the plan may not touch (unreadable, not the rule's, a name left alone) keeps its name, and
 *    the writes that need a folder there are left alone and reported.
 */
import type { LocalFile } from '../../../shared/models';
import type { RemoteEntry } from '../providers/types';
import type { TwoWayAction, TwoWayPlan } from './twoWay';

type Problem = TwoWayPlan['problems'][number];

/** Every proper prefix of a path ("a/b/c" → "a", "a/b"). */
export function parentsOf(p: string): string[] {
  const out: string[] = [];
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) out.push(p.slice(0, i));
  return out;
}
const parents = parentsOf;

export type ClashInput = {
  local: ReadonlyMap<string, LocalFile>;
  remote: ReadonlyMap<string, RemoteEntry>;
  /** Local files the plan does not touch (unreadable, or not caught by the rule): they keep their names. */
  localOthers: Iterable<string>;
  /** Whether the plan may act on this path (see planTwoWay's inScope). */
  inScope: (path: string) => boolean;
  /** A conflicted-copy name for `path`, free on both sides and not given out before. */
  conflictPath: (path: string) => string;
  problems: Problem[];
};

/** Where an action leaves a file on each side (`to`) and takes one away (`from`). */
function effects(a: TwoWayAction): { local: [string[], string[]]; remote: [string[], string[]] } {
  switch (a.kind) {
    case 'upload':
      return { local: [[], []], remote: [[a.path], []] };
    case 'download':
      return { local: [[a.path], []], remote: [[], []] };
    case 'conflict':
      return { local: [[a.conflictPath], []], remote: [[a.conflictPath], []] };
    case 'delete-local':
      return { local: [[], [a.path]], remote: [[], []] };
    case 'delete-remote':
      return { local: [[], []], remote: [[], [a.path]] };
    case 'move-remote':
      return { local: [[], []], remote: [[a.to], [a.from]] };
    case 'move-local':
      return { local: [[a.to], [a.from]], remote: [[], []] };
    case 'set-aside':
    case 'record':
    case 'forget':
      return { local: [[], []], remote: [[], []] };
  }
}

/** The path an action writes a file at, if any. */
function writes(a: TwoWayAction): { side: 'local' | 'remote'; path: string } | undefined {
  switch (a.kind) {
    case 'upload':
      return { side: 'remote', path: a.path };
    case 'download':
      return { side: 'local', path: a.path };
    case 'move-remote':
      return { side: 'remote', path: a.to };
    case 'move-local':
      return { side: 'local', path: a.to };
    default:
      return undefined;
  }
}

/** The actions about the file at `p` itself (what the table or the rename search planned for it). */
const about = (a: TwoWayAction, p: string): boolean =>
  a.kind === 'move-remote' || a.kind === 'move-local' ? a.to === p : a.kind !== 'set-aside' && a.path === p;

export function resolveClashes(planned: readonly TwoWayAction[], input: ClashInput): TwoWayAction[] {
  const { local, remote } = input;
  const after = { local: new Set<string>([...local.keys(), ...input.localOthers]), remote: new Set(remote.keys()) };
  for (const a of planned) {
    const e = effects(a);
    for (const side of ['local', 'remote'] as const) {
      for (const p of e[side][1]) after[side].delete(p);
      for (const p of e[side][0]) after[side].add(p);
    }
  }
  // The tree both sides converge to, and the folders it needs.
  const files = new Set([...after.local, ...after.remote]);
  const folders = new Set([...files].flatMap(parents));
  const clashes = [...files].filter((p) => folders.has(p)).sort();

  let actions = [...planned];
  const blocked = { local: [] as string[], remote: [] as string[] };
  for (const p of clashes) {
    const mine = actions.filter((a) => about(a, p));
    const l = local.get(p);
    const r = remote.get(p);
    const kind = mine[0]?.kind;
    if (!input.inScope(p) || (!l && !r)) {
      // A file this plan may not move: the writes that need a folder there wait, and say why.
      if (after.local.has(p)) blocked.local.push(p);
      if (after.remote.has(p)) blocked.remote.push(p);
      continue;
    }
    actions = actions.filter((a) => !about(a, p));
    const reason = 'a folder of the same name needs this name: the file is kept beside it';
    const aside = (side: 'local' | 'remote' | 'both', to: string): void => {
      actions.push({
        kind: 'set-aside',
        path: p,
        to,
        side,
        sha256: side === 'remote' ? null : (l?.hashes.sha256 ?? null),
        remoteVersion: side === 'local' ? null : (r?.version ?? null),
        reason,
      });
    };
    if (kind === 'conflict' && l && r) {
      // Two versions of the file, both kept: each side's goes aside under its own name.
      aside('local', input.conflictPath(p));
      const planned = mine[0];
      aside('remote', planned?.kind === 'conflict' ? planned.conflictPath : input.conflictPath(p));
    } else if ((kind === 'upload' || kind === 'move-remote') && l) {
      aside('local', input.conflictPath(p));
      // The destination's older version (an object store holds a file and a "folder" of one name).
      if (r && kind === 'upload')
        actions.push({
          kind: 'delete-remote',
          path: p,
          remoteVersion: r.version ?? null,
          reason: 'replaced by the local version, kept beside the folder',
          clearsWay: true,
        });
    } else if ((kind === 'download' || kind === 'move-local') && r) {
      aside('remote', input.conflictPath(p));
      if (l && kind === 'download')
        actions.push({
          kind: 'delete-local',
          path: p,
          sha256: l.hashes.sha256,
          reason: "replaced by the destination's version, kept beside the folder",
          clearsWay: true,
        });
    } else if (l && r) aside('both', input.conflictPath(p));
    else if (l) aside('local', input.conflictPath(p));
    else if (r) aside('remote', input.conflictPath(p));
  }

  for (const side of ['local', 'remote'] as const)
    for (const p of blocked[side]) {
      const below = (a: TwoWayAction): boolean => {
        const w = writes(a);
        return w !== undefined && w.side === side && w.path.startsWith(`${p}/`);
      };
      const held = actions.filter(below);
      if (held.length === 0) continue;
      actions = actions.filter((a) => !below(a));
      input.problems.push({
        path: p,
        message: `left alone: a file ${side === 'local' ? 'here' : 'at the destination'} that this rule may not move, where ${
          held.length === 1 ? 'a file' : `${held.length} files`
        } of the other side need a folder of that name; rename one of them`,
      });
    }

  // A deletion that makes room for a folder (the file stood at a folder's name) or for a file (the
  // deleted file stood in a folder of that file's name) runs before the writes that need the room.
  return actions.map((a) =>
    (a.kind === 'delete-remote' || a.kind === 'delete-local') &&
    (folders.has(a.path) || parents(a.path).some((d) => files.has(d)))
      ? { ...a, clearsWay: true }
      : a,
  );
}
