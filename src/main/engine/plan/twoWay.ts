/*
 * The three-way planner of two-way rules: (local files, the destination's listing, the base) → actions.
 * A pure function; docs/sync-logic.md ("Two-way sync") says the same, and test/unit/twoWayPlan.test.ts
 * has a test for each rule.
 *
 * The base holds, per path, the last state both sides agreed on (SHA-256, size, the remote's version
 * token then). A two-way rule maps paths 1:1: the remote path is the folder-relative path.
 *
 * Rules, per path of local ∪ remote ∪ base:
 *  0. Left alone (nothing planned, no deletion either way):
 *     - excluded paths (selective sync);
 *     - remote paths this folder cannot hold (`remotePathProblem`: absolute, empty, "." or ".." segments,
 *       NUL; on win32 and darwin also `<>:"|?*`, control characters, a trailing dot or space, reserved
 *       DOS names, and on win32 "\"): reported as a problem;
 *     - paths whose local side is unknown: unreadable, present but not caught by the rule
 *       (`localUncaught`), or missing while the local scan was incomplete;
 *     - paths missing locally that the rule's globs do not catch (`catches`): not this rule's files,
 *       except that a base entry gone on both sides is forgotten.
 *  1. local  = absent | same (SHA-256 = the base's) | changed (differs, or no base);
 *     remote = absent | same | changed (differs from the base, or no base). The remote is compared with
 *     the base by size, then by the strongest hash both know (the base's SHA-256, or every hash of the
 *     local file when that file still is the base's content), then by version token when both have one;
 *     with none of these, an equal size counts as unchanged.
 *  2. | local \ remote | absent        | same          | changed                 |
 *     | absent         | forget        | delete-remote | download                |
 *     | same           | delete-local  | — (1)         | download                |
 *     | changed        | upload        | upload        | record or conflict (2)  |
 *     (1) `record` when only the remote's version token moved, so that the base follows it.
 *     (2) Also when both exist without a base (a first sync). `record` when `commonHash` of the remote
 *     entry and the local file matches (and sizes are equal); otherwise — differs or cannot tell —
 *     `conflict`: the executor downloads, compares, and keeps both versions when they differ.
 *  3. Renames, looked for before rule 2, each old and each new path paired at most once, a new path with
 *     the same file name first, then any (candidates in path order):
 *     - local: a new local path (no base, not listed remotely) with the SHA-256 of a base entry that is
 *       missing locally (scan complete) and unchanged remotely → `move-remote`;
 *     - remote: a new remote path (no base, absent locally) whose listed hash matches, by `commonHash`,
 *       the local file of a base entry that is missing remotely and unchanged locally (its hashes are the
 *       base's content), sizes equal → `move-local`. A version or size match alone is never enough.
 *       When the new path is left alone (rule 0: local side unknown, or a name this folder refuses), the
 *       pair is held: nothing is planned for either path, so the old file is not deleted.
 *     A rename with an edit, or whose other side changed too, is not a rename: rule 2 applies to both paths.
 *  4. Case clashes: where a side cannot hold names that differ only by case (local on win32 and darwin;
 *     remote when `remoteCaseInsensitive`), a download, upload or move to a new name that folds to
 *     another name that side holds, or that an earlier action of the plan writes, is replaced by a problem.
 *  4b. File/folder clashes (twoWayClashes.ts): where the tree both sides converge to has a file at a
 *     folder's name, the folder keeps it and the file moves aside (`set-aside`, to a conflicted-copy
 *     name); a deletion making room for a file or folder of the same name is marked `clearsWay`.
 *  5. Deletion brake, per side: when the deletions planned for one side number at least `minDeletes` and
 *     more than `maxDeleteShare` of the base's entries, and deletions are not confirmed, that side's
 *     deletions are dropped and reported (`brake`: the local side first; a second side as a problem).
 *  6. `remote` undefined: nothing is planned, one problem. Actions are sorted by path (moves by `from`).
 */
import type { Hashes } from '../../../shared/hashes';
import type { LocalFile } from '../../../shared/models';
import { commonHash } from '../providers/types';
import { nameBytes } from '../scan/rawNames';
import type { RemoteEntry } from '../providers/types';
import { parentsOf, resolveClashes } from './twoWayClashes';

/** The last state both sides held for a path, recorded after every successful two-way transfer. */
export type BaseEntry = {
  path: string;
  sha256: string;
  size: number;
  /** The remote's version token then. */
  remoteVersion: string | null;
};

export type TwoWayInput = {
  rule: string;
  folder: string;
  destination: string;
  /** Local files the rule catches (already filtered by its match/exclude/when). */
  local: ReadonlyMap<string, LocalFile>;
  /** Paths that exist locally but could not be read: never deleted remotely, never overwritten locally. */
  localUnreadable: ReadonlySet<string>;
  /**
   * Paths that exist locally but that the rule does not catch (its `when` condition said no, or its globs
   * do): left alone both ways. Without it, a file that stops meeting a content condition would look
   * deleted locally.
   */
  localUncaught?: ReadonlySet<string>;
  /** False when the local scan was incomplete (a folder missing or unreadable): no deletion is inferred. */
  localComplete: boolean;
  /**
   * The destination's listing below the rule's root, partial entries excluded; undefined = could not list
   * (then nothing is planned).
   */
  remote: ReadonlyMap<string, RemoteEntry> | undefined;
  base: ReadonlyMap<string, BaseEntry>;
  /** Paths a "selective sync" setting keeps out: left alone both ways. */
  excluded: (path: string) => boolean;
  /**
   * Which paths the rule would catch if they were local (its globs; content conditions cannot be judged
   * on remote files and count as caught).
   */
  catches: (path: string) => boolean;
  /** Names for conflicted copies. */
  host: string;
  now: Date;
  /** Deletion brake: a pass that would delete more than this share of one side's files (and at least `minDeletes`) stops and asks. */
  maxDeleteShare: number;
  minDeletes: number;
  confirmDeletes: boolean;
  /** Whose file-name rules remote paths must meet; default process.platform. */
  platform?: NodeJS.Platform;
  /** Names differing only by case are one file at the destination (Dropbox, most SMB shares). */
  remoteCaseInsensitive?: boolean;
};

export type TwoWayAction =
  | { kind: 'upload'; path: string; sha256: string; size: number; reason: string }
  | {
      kind: 'download';
      path: string;
      size: number;
      remoteVersion: string | null;
      expect?: Partial<Hashes>;
      reason: string;
    }
  /**
   * Both sides changed (or were created) with content that differs or cannot be compared from the
   * listing: the executor downloads the remote version to a temp file, and if its SHA-256 equals the local
   * file it just records the base; otherwise it keeps it as `conflictPath` locally (and uploads it there),
   * and uploads the local version to `path`. Nothing is overwritten.
   */
  | {
      kind: 'conflict';
      path: string;
      conflictPath: string;
      localSha256: string;
      remoteVersion: string | null;
      reason: string;
    }
  /** Goes to the trash (the executor's job). `clearsWay`: makes room for a file or folder of that name (runs first). */
  | { kind: 'delete-local'; path: string; sha256: string; reason: string; clearsWay?: boolean }
  | { kind: 'delete-remote'; path: string; remoteVersion: string | null; reason: string; clearsWay?: boolean }
  /**
   * A file stands where a folder of the same name is needed (twoWayClashes.ts): it moves to `to` on the
   * side(s) holding it, and goes to the other side in the same pass.
   */
  | {
      kind: 'set-aside';
      path: string;
      to: string;
      side: 'local' | 'remote' | 'both';
      /** The local file's content the plan saw (local and both). */
      sha256: string | null;
      /** The destination's version the plan saw (remote and both). */
      remoteVersion: string | null;
      reason: string;
    }
  /** A local rename, applied remotely. */
  | { kind: 'move-remote'; from: string; to: string; sha256: string; reason: string }
  /** A remote rename, applied locally. */
  | { kind: 'move-local'; from: string; to: string; reason: string }
  /** Both sides already equal: only the base changes. */
  | { kind: 'record'; path: string; sha256: string; size: number; remoteVersion: string | null }
  /** Gone on both sides: drop the base entry. */
  | { kind: 'forget'; path: string };

export type TwoWayPlan = {
  actions: TwoWayAction[];
  /** Set when the brake tripped: no deletion of that side is planned (other actions still are). */
  brake?: { side: 'local' | 'remote'; deletes: number; of: number; share: number };
  /** Per-file problems: names this folder cannot hold, case clashes, ...; path '' for the whole rule. */
  problems: { path: string; message: string }[];
};

type Problem = TwoWayPlan['problems'][number];

const FORBIDDEN = '<>:"|?*';
const RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/**
 * Why a remote path cannot be written in the local folder on `platform`, or undefined when it can.
 * Linux (and other POSIX systems) refuse only what escapes or aliases; win32 and darwin also refuse what
 * is not portable, so a folder synced from a Mac can be synced from Windows too.
 */
export function remotePathProblem(path: string, platform: NodeJS.Platform = process.platform): string | undefined {
  return remotePathEscapes(path) ?? remoteNameProblem(path, platform);
}

/** What makes a remote path unsafe anywhere: it would not stay inside the folder (or not be a path). */
export function remotePathEscapes(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  if (path.includes('\u0000')) return 'the path contains a NUL character';
  if (path.startsWith('/')) return 'the path is absolute';
  for (const name of path.split('/')) {
    if (name === '') return 'the path has an empty segment';
    if (name === '..') return 'a ".." segment would lead out of the folder';
    if (name === '.') return 'the path has a "." segment';
  }
  return undefined;
}

/** Names this operating system's file systems cannot hold (checked on Windows and macOS). */
function remoteNameProblem(path: string, platform: NodeJS.Platform): string | undefined {
  const portable = platform === 'win32' || platform === 'darwin';
  for (const name of path.split('/')) {
    if (platform === 'win32' && name.includes('\\')) return `"${name}" contains "\\", a path separator on Windows`;
    if (!portable) continue;
    for (const ch of name) {
      if (ch.charCodeAt(0) < 0x20) return `"${name}" contains a control character`;
      if (FORBIDDEN.includes(ch)) return `"${name}" contains "${ch}", which portable file names may not`;
    }
    if (name.endsWith('.') || name.endsWith(' ')) return `"${name}" ends with a dot or a space`;
    if (RESERVED.test(name)) return `"${name}" is a reserved name on Windows`;
  }
  return undefined;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** A host name as it may appear inside a file name. */
function hostLabel(host: string): string {
  const clean = [...host]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || FORBIDDEN.includes(ch) || ch === '/' || ch === '\\' ? '-' : ch))
    .join('')
    .trim();
  // Host names can be long: the label must leave room for the file's own name within NAME_MAX.
  return clean === '' ? 'another computer' : cutToBytes(clean, 63);
}

/**
 * `dir/name (conflicted copy from HOST YYYY-MM-DD).ext`, the date in `now`'s local time zone; only the last
 * extension is kept apart, a dotfile has none. When taken: ` 2`, ` 3`, ... inside the parenthesis.
 */
export function conflictName(path: string, host: string, now: Date, taken: (p: string) => boolean): string {
  return labelledName(path, `conflicted copy from ${hostLabel(host)} ${localDay(now)}`, taken);
}

/** `now`'s day in its local time zone, as YYYY-MM-DD. */
export function localDay(now: Date): string {
  return `${pad(now.getFullYear(), 4)}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * `dir/name (LABEL).ext`, within NAME_MAX bytes; `folder`: the name is a folder's, so no extension is
 * kept apart. When taken: ` 2`, ` 3`, ... inside the parenthesis.
 */
export function labelledName(
  path: string,
  label: string,
  taken: (p: string) => boolean,
  opts: { folder?: boolean } = {},
): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const hasExt = opts.folder !== true && dot > 0 && dot < name.length - 1;
  const stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : '';
  for (let n = 1; ; n++) {
    const suffix = ` (${label}${n === 1 ? '' : ` ${n}`})`;
    // An extension too long to keep beside the suffix is cut with the stem, as part of the name.
    const [keep, tail] = nameBytes(suffix + ext) < NAME_MAX ? [stem, suffix + ext] : [stem + ext, suffix];
    const candidate = `${dir}${cutToBytes(keep, NAME_MAX - nameBytes(tail))}${tail}`;
    if (!taken(candidate)) return candidate;
  }
}

/** Most file systems' and servers' limit on one name, in bytes of UTF-8 (ext4, APFS, NTFS's 255 UTF-16 units are more). */
const NAME_MAX = 255;

/** At most `max` bytes of `s`, cut between characters (never inside a UTF-8 sequence). */
export function cutToBytes(s: string, max: number): string {
  if (nameBytes(s) <= max) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const b = nameBytes(ch);
    if (used + b > max) break;
    out += ch;
    used += b;
  }
  return out;
}

/** The original a conflicted copy stands beside, and who made it when; undefined for other names. */
export function parseConflictName(path: string): { original: string; host: string; date: string } | undefined {
  const m = /^(.*?) \(conflicted copy from (.+) (\d{4}-\d{2}-\d{2})(?: \d+)?\)(\.[^./]*)?$/.exec(path);
  if (!m) return undefined;
  return { original: `${m[1] ?? ''}${m[4] ?? ''}`, host: m[2] ?? '', date: m[3] ?? '' };
}

/** Whether the remote entry no longer holds the base's content; `known` are hashes of that content. */
function remoteDiffers(entry: RemoteEntry, base: BaseEntry, known: Hashes): boolean {
  if (entry.size !== base.size) return true;
  const cmp = commonHash(entry, known);
  if (cmp) return !cmp.matches;
  if (entry.version !== undefined && base.remoteVersion !== null) return entry.version !== base.remoteVersion;
  return false;
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/**
 * Pairs new paths with old ones (`candidates(n)`: the old paths holding n's content, in path order): each
 * at most once, the same file name first, then any. Returns new → old.
 */
function pairRenames(news: readonly string[], candidates: (n: string) => readonly string[]): Map<string, string> {
  const pairs = new Map<string, string>();
  const used = new Set<string>();
  for (const sameName of [true, false])
    for (const n of news) {
      if (pairs.has(n)) continue;
      const old = candidates(n).find((o) => !used.has(o) && (!sameName || baseName(o) === baseName(n)));
      if (old === undefined) continue;
      used.add(old);
      pairs.set(n, old);
    }
  return pairs;
}

const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sortKey = (a: TwoWayAction): string => ('path' in a ? a.path : a.from);

export function planTwoWay(input: TwoWayInput): TwoWayPlan {
  const { local, base, remote } = input;
  if (!remote) return { actions: [], problems: [{ path: '', message: 'destination could not be listed' }] };
  const platform = input.platform ?? process.platform;
  const uncaught = input.localUncaught ?? new Set<string>();
  const problems: Problem[] = [];
  const actions: TwoWayAction[] = [];

  // Remote names this folder cannot hold; only reported when the rule would otherwise sync them.
  const refused = new Set<string>();
  for (const p of [...remote.keys()].sort(byPath)) {
    if (input.excluded(p)) continue;
    // A path that would leave the folder is reported even when no glob of the rule could match it.
    const why = remotePathEscapes(p) ?? (local.has(p) || input.catches(p) ? remotePathProblem(p, platform) : undefined);
    if (why === undefined) continue;
    refused.add(p);
    problems.push({ path: p, message: `left alone: ${why}` });
  }

  const readable = (p: string): boolean => !input.localUnreadable.has(p) && !uncaught.has(p);
  /** Whether the local side of `p` is known: a readable file, or surely absent. */
  const localKnown = (p: string): boolean => readable(p) && (local.has(p) || input.localComplete);
  const inScope = (p: string): boolean =>
    !input.excluded(p) && !refused.has(p) && localKnown(p) && (local.has(p) || input.catches(p));
  /** Hashes of the base's content: all the local file's when it still holds it, else the SHA-256. */
  const baseContent = (p: string, b: BaseEntry): Hashes => {
    const l = local.get(p);
    return l && l.hashes.sha256 === b.sha256 ? l.hashes : { sha256: b.sha256 };
  };
  const remoteSame = (p: string, b: BaseEntry, r: RemoteEntry): boolean => !remoteDiffers(r, b, baseContent(p, b));

  const handled = new Set<string>();

  // Local renames: a new local path holding the content of a base entry gone locally, intact remotely.
  const goneLocally = new Map<string, string[]>();
  for (const [p, b] of [...base].sort(([x], [y]) => byPath(x, y))) {
    const r = remote.get(p);
    if (local.has(p) || !r || !inScope(p) || !remoteSame(p, b, r)) continue;
    const list = goneLocally.get(b.sha256);
    if (list) list.push(p);
    else goneLocally.set(b.sha256, [p]);
  }
  // A rename that changes which names are files and which folders on the side it is applied to (a file
  // moved into a folder of its own name, or to where a file must give way) is no rename: the table
  // uploads or downloads the new path and deletes the old one, in the order that makes room.
  const kindStays = (names: Iterable<string>) => {
    const files = new Set(names);
    const folders = new Set([...files].flatMap(parentsOf));
    return (p: string): boolean => !folders.has(p) && !parentsOf(p).some((d) => files.has(d));
  };
  const remoteKindStays = kindStays(remote.keys());
  const localKindStays = kindStays([...local.keys(), ...input.localUnreadable, ...uncaught]);
  const newLocal = [...local.keys()]
    .filter((p) => !base.has(p) && !remote.has(p) && inScope(p) && remoteKindStays(p))
    .sort(byPath);
  for (const [to, from] of pairRenames(newLocal, (n) => goneLocally.get(local.get(n)?.hashes.sha256 ?? '') ?? [])) {
    handled.add(to).add(from);
    actions.push({
      kind: 'move-remote',
      from,
      to,
      sha256: local.get(to)?.hashes.sha256 ?? '',
      reason: 'renamed locally',
    });
  }

  // Remote renames: a new remote path whose listed hash is the content of a base entry gone remotely and
  // intact locally (that local file's hashes describe the base's content, every kind of them).
  const goneRemotely = new Map<string, string[]>();
  for (const [p, b] of [...base].sort(([x], [y]) => byPath(x, y))) {
    const l = local.get(p);
    if (remote.has(p) || !l || l.hashes.sha256 !== b.sha256 || !inScope(p)) continue;
    for (const [kind, digest] of Object.entries(l.hashes)) {
      if (digest === undefined) continue;
      const key = `${kind}:${digest}`;
      const list = goneRemotely.get(key);
      if (list) list.push(p);
      else goneRemotely.set(key, [p]);
    }
  }
  // A new remote path whose local side is unknown or that this folder refuses still takes its old path
  // along (the pair is held), so that the old file is not deleted for want of the new one.
  const newRemote = [...remote.keys()]
    .filter((p) => !base.has(p) && !local.has(p) && !input.excluded(p) && input.catches(p) && localKindStays(p))
    .sort(byPath);
  const remoteCandidates = (n: string): string[] => {
    const r = remote.get(n);
    if (!r?.hashes) return [];
    const found = new Set<string>();
    for (const [kind, digest] of Object.entries(r.hashes))
      for (const o of goneRemotely.get(`${kind}:${digest}`) ?? []) found.add(o);
    return [...found]
      .filter((o) => {
        const l = local.get(o);
        return l !== undefined && l.size === r.size && commonHash(r, l.hashes)?.matches === true;
      })
      .sort(byPath);
  };
  for (const [to, from] of pairRenames(newRemote, remoteCandidates)) {
    handled.add(to).add(from);
    if (inScope(to)) actions.push({ kind: 'move-local', from, to, reason: 'renamed at the destination' });
  }

  const paths = new Set<string>([...local.keys(), ...remote.keys(), ...base.keys()]);
  const conflictTaken = new Set<string>();
  const foldAny = platform === 'win32' || platform === 'darwin' || input.remoteCaseInsensitive === true;
  const norm = (p: string): string => (foldAny ? p.toLowerCase() : p);
  const occupied = new Set<string>([...paths, ...input.localUnreadable, ...uncaught].map(norm));
  for (const p of [...paths].sort(byPath)) {
    if (handled.has(p)) continue;
    const l = local.get(p);
    const r = remote.get(p);
    const b = base.get(p);
    if (!l && !r) {
      // Gone on both sides: forgetting the base is safe whatever the rule catches now.
      if (b && !input.excluded(p) && localKnown(p)) actions.push({ kind: 'forget', path: p });
      continue;
    }
    if (!inScope(p)) continue;
    const localState = !l ? 'absent' : b && l.hashes.sha256 === b.sha256 ? 'same' : 'changed';
    const remoteState = !r ? 'absent' : b && remoteSame(p, b, r) ? 'same' : 'changed';
    const upload = (reason: string): void => {
      if (l) actions.push({ kind: 'upload', path: p, sha256: l.hashes.sha256, size: l.size, reason });
    };
    const download = (reason: string): void => {
      if (!r) return;
      actions.push({
        kind: 'download',
        path: p,
        size: r.size,
        remoteVersion: r.version ?? null,
        ...(r.hashes ? { expect: { ...r.hashes } } : {}),
        reason,
      });
    };
    switch (localState) {
      case 'absent':
        if (remoteState === 'same')
          actions.push({
            kind: 'delete-remote',
            path: p,
            remoteVersion: r?.version ?? null,
            reason: 'deleted locally',
          });
        else download(b ? 'changed at the destination, deleted locally: the change wins' : 'new at the destination');
        break;
      case 'same':
        if (remoteState === 'absent') {
          if (l)
            actions.push({
              kind: 'delete-local',
              path: p,
              sha256: l.hashes.sha256,
              reason: 'deleted at the destination',
            });
        } else if (remoteState === 'changed') download('changed at the destination');
        else if (b && r && (r.version ?? null) !== b.remoteVersion)
          // Same content under a new token: the base follows, or the next pass would compare again.
          actions.push({ kind: 'record', path: p, sha256: b.sha256, size: b.size, remoteVersion: r.version ?? null });
        break;
      case 'changed':
        if (remoteState === 'absent')
          upload(b ? 'changed locally, deleted at the destination: the change wins' : 'new locally');
        else if (remoteState === 'same') upload('changed locally');
        else if (l && r) {
          const cmp = commonHash(r, l.hashes);
          if (cmp?.matches === true && r.size === l.size) {
            actions.push({
              kind: 'record',
              path: p,
              sha256: l.hashes.sha256,
              size: l.size,
              remoteVersion: r.version ?? null,
            });
            break;
          }
          const both = b ? 'changed on both sides' : 'new on both sides';
          const conflictPath = conflictName(
            p,
            input.host,
            input.now,
            (c) => occupied.has(norm(c)) || conflictTaken.has(norm(c)),
          );
          conflictTaken.add(norm(conflictPath));
          actions.push({
            kind: 'conflict',
            path: p,
            conflictPath,
            localSha256: l.hashes.sha256,
            remoteVersion: r.version ?? null,
            reason: cmp ? `${both}, contents differ` : `${both}, the listing cannot tell whether they differ`,
          });
        }
        break;
    }
  }

  const resolved = resolveClashes(actions, {
    local,
    remote,
    localOthers: [...input.localUnreadable, ...uncaught],
    inScope,
    conflictPath: (p) => {
      const c = conflictName(p, input.host, input.now, (n) => occupied.has(norm(n)) || conflictTaken.has(norm(n)));
      conflictTaken.add(norm(c));
      return c;
    },
    problems,
  });
  resolved.sort((a, b) => byPath(sortKey(a), sortKey(b)));
  const guarded = guardCase(resolved, problems, {
    local:
      platform === 'win32' || platform === 'darwin'
        ? [...local.keys(), ...input.localUnreadable, ...uncaught]
        : undefined,
    remote: input.remoteCaseInsensitive === true ? [...remote.keys()] : undefined,
  });
  const plan: TwoWayPlan = { actions: guarded, problems };
  brake(plan, input, base.size);
  plan.problems.sort((a, b) => byPath(a.path, b.path));
  return plan;
}

/**
 * Drops writes to a new name that folds to another name the side holds (or that an earlier action writes)
 * on a side that cannot hold both; `names` undefined = that side tells case apart.
 */
function guardCase(
  actions: readonly TwoWayAction[],
  problems: Problem[],
  names: { local: readonly string[] | undefined; remote: readonly string[] | undefined },
): TwoWayAction[] {
  const index = (list: readonly string[] | undefined): Map<string, string[]> | undefined => {
    if (!list) return undefined;
    const m = new Map<string, string[]>();
    for (const p of list) {
      const k = p.toLowerCase();
      const l = m.get(k);
      if (l) l.push(p);
      else m.set(k, [p]);
    }
    return m;
  };
  const held = { local: index(names.local), remote: index(names.remote) };
  const written = { local: new Map<string, string>(), remote: new Map<string, string>() };
  const where = { local: 'this computer', remote: 'the destination' };
  const clash = (side: 'local' | 'remote', target: string, from?: string): boolean => {
    const m = held[side];
    if (!m) return false;
    const k = target.toLowerCase();
    const earlier = written[side].get(k);
    const other = m.get(k)?.find((p) => p !== target && p !== from) ?? (earlier !== target ? earlier : undefined);
    if (other === undefined) {
      written[side].set(k, target);
      return false;
    }
    problems.push({
      path: target,
      message: `left alone: differs only by case from "${other}", and ${where[side]} cannot hold both`,
    });
    return true;
  };
  return actions.filter((a) => {
    switch (a.kind) {
      case 'download':
        return !clash('local', a.path);
      case 'move-local':
        return !clash('local', a.to, a.from);
      case 'upload':
        return !clash('remote', a.path);
      case 'move-remote':
        return !clash('remote', a.to, a.from);
      default:
        return true;
    }
  });
}

/** The deletion brake, per side: drops that side's deletions and says so. */
function brake(plan: TwoWayPlan, input: TwoWayInput, of: number): void {
  for (const side of ['local', 'remote'] as const) {
    const kind = side === 'local' ? 'delete-local' : 'delete-remote';
    const deletes = plan.actions.filter((a) => a.kind === kind).length;
    if (input.confirmDeletes || deletes === 0 || deletes < input.minDeletes || of === 0) continue;
    const share = deletes / of;
    if (share <= input.maxDeleteShare) continue;
    plan.actions = plan.actions.filter((a) => a.kind !== kind);
    if (!plan.brake) plan.brake = { side, deletes, of, share };
    else
      plan.problems.push({
        path: '',
        message: `deletion brake: ${deletes} of ${of} files would be deleted ${side === 'local' ? 'locally' : 'at the destination'}; confirm to proceed`,
      });
  }
}
