import { keptAsideActions } from './keptAside';
import type { TwoWayOutcome } from './twoWayStep';
import { type Action, type Encoding, ENCODING_SUFFIX, type LocalFile } from '../../../shared/models';
import type { RemoteEntry } from '../providers/types';
import { remotePathOf } from '../rules/pathTemplate';
import type { Dispatcher } from '../rules/dispatch';
import type { CompiledRule } from '../rules/ruleMatcher';
import type { ShippedRecord } from '../store/shippedStore';

export type FolderState = { files: ReadonlyMap<string, LocalFile>; unreadable: ReadonlySet<string>; complete: boolean };

export type DestinationState = {
  shipped: readonly ShippedRecord[];
  /** The destination's listing; undefined when it could not be listed (then the index is trusted). */
  remote: ReadonlyMap<string, RemoteEntry> | undefined;
  canMove: boolean;
  canCopy: boolean;
  /** Names differing only by case are one file there (Dropbox, most Windows and macOS shares). */
  caseInsensitive?: boolean;
  /**
   * A file and a folder of one name can both be there (S3 and GCS, whose folders are key prefixes), or
   * it cannot be known (an upload-only endpoint): kept copies never move aside for a new name there.
   */
  fileAndFolderCoexist?: boolean;
  /** A folder stays when its last file leaves (Dropbox): see keptAside.ts. */
  emptyFoldersStay?: boolean;
};

/** Whose deletions beyond the brake a person confirmed: every rule's (`--confirm-deletes`), or some rules'. */
export type DeleteConsent = boolean | ReadonlySet<string>;

export function consents(c: DeleteConsent, rule: string): boolean {
  return typeof c === 'boolean' ? c : c.has(rule);
}

export type PlanInput = {
  dispatcher: Dispatcher;
  folders: ReadonlyMap<string, FolderState>;
  destinations: ReadonlyMap<string, DestinationState>;
  maxDeleteShare: number;
  /** Deletions beyond the brake confirmed: for every rule, or for the rules named. */
  confirmDeletes: DeleteConsent;
  /**
   * Rules whose copies left behind by a rules change the person asked to remove (or every rule's, with
   * `confirmDeletes`). Only a copy whose file is still in the folder with the recorded content goes.
   */
  cleanLeftBehind?: ReadonlySet<string>;
  /** The instant age conditions are judged at (ms since the epoch). */
  now: number;
  /**
   * Per mirror rule and destination (`brakeKey`), the number of real files it held at the state the
   * person last confirmed (see BrakeBaseline); none yet: the brake counts against this pass's total.
   */
  brakeBaselines?: ReadonlyMap<string, number>;
};

/** The deletion brake's memory for one mirror rule and destination (kept in the state database). */
export type BrakeBaseline = { rule: string; destination: string; files: number };

export const brakeKey = (rule: string, destination: string): string => `${rule}\u0000${destination}`;

export type PlanProblem =
  | {
      kind: 'collision';
      rule: string;
      destination: string;
      remotePath: string;
      folder: string;
      path: string;
      takenBy: string;
    }
  /**
   * `deletes` of this pass held, because with the `earlier` deletions made since the person last
   * confirmed (when any) they would take more than the allowed share of the `total` real files then.
   */
  | { kind: 'delete-brake'; rule: string; destination: string; deletes: number; total: number; earlier?: number }
  | { kind: 'deletes-withheld'; rule: string; folder: string; reason: string }
  /** A mirror's copies of files that still exist but that the rule no longer sends there: kept until confirmed. */
  | { kind: 'left-behind'; rule: string; destination: string; count: number; sample: string[] }
  /** Two-way: a file that cannot be synced as it is (a name this side cannot hold, a case clash …). */
  | { kind: 'two-way'; rule: string; path: string; message: string };

/** Whether a problem means the destinations do not hold what the rules say (warnings do not). */
export function isBlockingProblem(p: PlanProblem): boolean {
  return p.kind === 'collision' || p.kind === 'delete-brake' || p.kind === 'two-way';
}

/** The rules that caught each file of a folder: `lists[i]` for the i-th file of `files`, in its order. */
export type FolderDispatch = { files: ReadonlyMap<string, LocalFile>; lists: (readonly CompiledRule[])[] };

/** A file a rule wants held by `needed` destinations, with fewer verified copies so far. */
export type BelowQuorum = {
  rule: string;
  folder: string;
  path: string;
  copies: number;
  needed: number;
  /** Where the copies go, and what they must be: to count them again once transfers ran. */
  remotePath: string;
  sha256: string;
  encoding: Encoding;
  destinations: string[];
};

export type Plan = {
  actions: Action[];
  problems: PlanProblem[];
  inSync: number;
  unmatched: number;
  /** Files no rule catches: listed, never silently dropped. */
  uncaught: { folder: string; path: string }[];
  belowQuorum: BelowQuorum[];
  /** Which rules caught each file, for previews that reuse this plan's work. */
  caught: Map<string, FolderDispatch>;
  /** Two-way rules' base updates (applied once the plan is queued), brakes and problems. */
  twoWay?: TwoWayOutcome;
  /** The brake baselines to keep once this pass completes (see applyBrakeBaselines). */
  brakeBaselines: BrakeBaseline[];
};

/** Fewer deletions than this never trip the brake, whatever the share. */
export const BRAKE_MIN_FILES = 5;
const SAMPLE = 20;

/** The folders each destination's wanted paths need (every proper prefix), computed once per plan. */
const folderCache = new WeakMap<ReadonlyMap<string, unknown>, Set<string>>();

/**
 * Whether deleting `remotePath` makes room for a wanted path: a file where one needs a folder (a file
 * replaced by a folder of its name), or a file inside a folder whose name a wanted file takes.
 */
function clearsWayFor(remotePath: string, targets: ReadonlyMap<string, unknown>): boolean {
  let folders = folderCache.get(targets);
  if (!folders) {
    folders = new Set<string>();
    for (const t of targets.keys())
      for (let i = t.indexOf('/'); i !== -1; i = t.indexOf('/', i + 1)) folders.add(t.slice(0, i));
    folderCache.set(targets, folders);
  }
  if (folders.has(remotePath)) return true;
  for (let i = remotePath.indexOf('/'); i !== -1; i = remotePath.indexOf('/', i + 1))
    if (targets.has(remotePath.slice(0, i))) return true;
  return false;
}

type TargetActionKind = 'upload' | 'move-remote' | 'copy-remote';

/**
 * One literal of one shape per action: built by spreading a base, each of 300,000 actions got a map
 * (hidden class) of its own, some 300 bytes apiece (heap snapshot).
 */
function targetAction(
  t: { rule: CompiledRule; file: LocalFile; remotePath: string },
  destination: string,
  encoding: Encoding,
  kind: TargetActionKind,
  reason: string,
  fromRemotePath?: string,
): Action {
  const a: Action = {
    kind,
    rule: t.rule.name,
    destination,
    folder: t.file.folder,
    path: t.file.path,
    remotePath: t.remotePath,
    size: t.file.size,
    sha256: t.file.hashes.sha256,
    reason,
  };
  if (fromRemotePath !== undefined) a.fromRemotePath = fromRemotePath;
  if (encoding !== 'identity') a.encoding = encoding;
  return a;
}

/** The remote name a rule gives a file: its template expanded, plus the compression suffix. */
export function targetPathOf(rule: CompiledRule, file: LocalFile): string {
  const encoding: Encoding = rule.compress ?? 'identity';
  return remotePathOf(rule.path, file, rule.name) + ENCODING_SUFFIX[encoding];
}

/**
 * The key under which a case-insensitive destination (Dropbox, Windows and macOS volumes) holds a path:
 * such stores also treat the NFC and NFD forms of one name as one name.
 */
export function foldName(remotePath: string): string {
  return remotePath.normalize('NFC').toLowerCase();
}

/** Orders two claimants of one path by folder, then path, then rule (code unit order: locale-free). */
function sourceOrder(a: { rule: CompiledRule; file: LocalFile }, b: { rule: CompiledRule; file: LocalFile }): number {
  const ka = [a.file.folder, a.file.path, a.rule.name];
  const kb = [b.file.folder, b.file.path, b.rule.name];
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i] as string;
    const y = kb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The pure planner: (local files, destinations' state, what was shipped, rules) → actions.
 * Written down in docs/sync-logic.md; every branch there has a test.
 */
export function plan(input: PlanInput): Plan {
  const actions: Action[] = [];
  const problems: PlanProblem[] = [];
  let inSync = 0;

  // Pass 1: every (destination, remote path) that some rule wants, and by which file.
  type Target = { rule: CompiledRule; file: LocalFile; remotePath: string };
  const targetsByDest = new Map<string, Map<string, Target>>();
  // Case-insensitive destinations: the wanted paths by their lower-case form, to find case clashes.
  const foldedByDest = new Map<string, Map<string, Target>>();
  const caught = new Map<string, FolderDispatch>();
  const uncaught: { folder: string; path: string }[] = [];
  const quorumChecks: Target[] = [];
  const movedOut: { rule: CompiledRule; file: LocalFile }[] = [];
  // Files another file's copy stands in for somewhere: never removed by a move.
  const collided = new Set<LocalFile>();
  for (const [folderId, folder] of input.folders) {
    const lists: (readonly CompiledRule[])[] = [];
    caught.set(folderId, { files: folder.files, lists });
    for (const file of folder.files.values()) {
      const rules = input.dispatcher.catching(folderId, file, input.now);
      lists.push(rules);
      if (rules.length === 0) {
        uncaught.push({ folder: folderId, path: file.path });
        continue;
      }
      let mover: CompiledRule | undefined;
      for (const rule of rules) {
        // Two-way rules are planned against their base (twoWayStep.ts), not here.
        if (rule.mode === 'two-way') continue;
        if (rule.mode === 'move') mover ??= rule;
        let remotePath: string;
        try {
          remotePath = targetPathOf(rule, file);
        } catch {
          problems.push({
            kind: 'collision',
            rule: rule.name,
            destination: '*',
            remotePath: rule.path,
            folder: folderId,
            path: file.path,
            takenBy: 'outside the destination root',
          });
          continue;
        }
        if (rule.mode === 'move' || rule.safe_when !== undefined) quorumChecks.push({ rule, file, remotePath });
        for (const dest of rule.to) {
          if (!input.destinations.has(dest)) continue;
          let targets = targetsByDest.get(dest);
          if (!targets) targetsByDest.set(dest, (targets = new Map()));
          const caseless = input.destinations.get(dest)?.caseInsensitive === true;
          let folded: Map<string, Target> | undefined;
          if (caseless) {
            folded = foldedByDest.get(dest);
            if (!folded) foldedByDest.set(dest, (folded = new Map()));
          }
          const key = caseless ? foldName(remotePath) : remotePath;
          const taken = targets.get(remotePath) ?? folded?.get(key);
          if (taken) {
            if (taken.file === file) continue;
            // One path, two files: the first by folder and path keeps it, whatever order the scan
            // listed them in (so the destination never flips between them); the other is reported.
            const [keeper, loser] =
              sourceOrder(taken, { rule, file }) <= 0 ? [taken, { rule, file }] : [{ rule, file }, taken];
            if (keeper !== taken) {
              targets.delete(taken.remotePath);
              targets.set(remotePath, { rule, file, remotePath });
              folded?.set(key, { rule, file, remotePath });
            }
            collided.add(loser.file);
            problems.push({
              kind: 'collision',
              rule: loser.rule.name,
              destination: dest,
              remotePath,
              folder: loser.file.folder,
              path: loser.file.path,
              takenBy: `${keeper.file.folder}/${keeper.file.path} (rule "${keeper.rule.name}")`,
            });
            continue;
          }
          targets.set(remotePath, { rule, file, remotePath });
          folded?.set(key, { rule, file, remotePath });
        }
      }
      if (mover) movedOut.push({ rule: mover, file });
    }
  }

  const ruleByName = new Map(input.dispatcher.rules.map((r) => [r.name, r]));
  const sourceHere = (r: ShippedRecord): boolean => input.folders.get(r.folder)?.files.has(r.path) === true;
  const withheldReported = new Set<string>();
  const brakeBaselines: BrakeBaseline[] = [];

  // Pass 2: per destination, what each wanted path needs; renames found by content.
  const verifiedAt = new Map<string, (remotePath: string, file: LocalFile, rule: CompiledRule) => boolean>();
  for (const [destId, dest] of input.destinations) {
    const targets = targetsByDest.get(destId) ?? new Map<string, Target>();
    const shippedAt = new Map(dest.shipped.map((r) => [r.remotePath, r]));
    // A case-insensitive destination may list a path under another case than we sent it with (a
    // folder that already existed as "Docs" when we sent "docs/a"): it is the same file.
    let listedCaseless: Map<string, RemoteEntry> | undefined;
    const listed = (path: string): RemoteEntry | undefined => {
      const exact = dest.remote?.get(path);
      if (exact || !dest.caseInsensitive || !dest.remote) return exact;
      listedCaseless ??= new Map([...dest.remote].map(([k, v]) => [foldName(k), v]));
      return listedCaseless.get(foldName(path));
    };
    const present = (r: ShippedRecord): boolean => {
      if (!dest.remote) return true;
      const e = listed(r.remotePath);
      return (
        e !== undefined &&
        !e.partial &&
        e.size === r.size &&
        (e.version === undefined || r.remoteVersion === null || e.version === r.remoteVersion)
      );
    };
    const holds = (rec: ShippedRecord | undefined, file: LocalFile, encoding: Encoding): boolean =>
      rec !== undefined && rec.sha256 === file.hashes.sha256 && rec.encoding === encoding && present(rec);
    verifiedAt.set(destId, (remotePath, file, rule) =>
      holds(shippedAt.get(remotePath), file, rule.compress ?? 'identity'),
    );
    // Content that sits at a path nobody wants any more: a candidate source for a server-side rename.
    const orphansByHash = new Map<string, ShippedRecord[]>();
    for (const r of dest.shipped)
      if (!targets.has(r.remotePath) && present(r)) {
        const key = `${r.encoding}:${r.sha256}`;
        const list = orphansByHash.get(key) ?? [];
        list.push(r);
        orphansByHash.set(key, list);
      }
    const consumed = new Set<string>();
    // Paths written where the destination holds nothing: a kept copy may stand in their way (keptAside.ts).
    const newPaths: string[] = [];
    for (const { rule, file, remotePath } of targets.values()) {
      const rec = shippedAt.get(remotePath);
      const remoteEntry = dest.remote?.get(remotePath);
      const encoding: Encoding = rule.compress ?? 'identity';
      if (holds(rec, file, encoding)) {
        inSync++;
        continue;
      }
      const action = (kind: TargetActionKind, reason: string, fromRemotePath?: string) =>
        targetAction({ rule, file, remotePath }, destId, encoding, kind, reason, fromRemotePath);
      // Backup and move keep what they delivered: a copy whose source is gone (moved, deleted) may be
      // its only copy, and another file that now maps to its path must not overwrite it.
      if (
        rec &&
        rule.mode !== 'mirror' &&
        (rec.folder !== file.folder || rec.path !== file.path) &&
        !input.folders.get(rec.folder)?.files.has(rec.path)
      ) {
        collided.add(file);
        problems.push({
          kind: 'collision',
          rule: rule.name,
          destination: destId,
          remotePath,
          folder: file.folder,
          path: file.path,
          takenBy: `${rec.folder}/${rec.path} (shipped there before; its source is gone, so that copy may be its only one)`,
        });
        continue;
      }
      // Only a mirror may take content away from its old path; backup and move keep what they delivered.
      const renames = rule.mode === 'mirror';
      const orphan = (orphansByHash.get(`${encoding}:${file.hashes.sha256}`) ?? []).find(
        (r) => !consumed.has(r.remotePath),
      );
      if (!rec && !remoteEntry) newPaths.push(remotePath);
      if (orphan && (renames ? dest.canMove : dest.canCopy)) {
        consumed.add(orphan.remotePath);
        actions.push(
          action(
            renames ? 'move-remote' : 'copy-remote',
            `${renames ? 'renamed' : 'copied'} from ${orphan.remotePath} (same content)`,
            orphan.remotePath,
          ),
        );
        continue;
      }
      actions.push(
        action(
          'upload',
          !rec
            ? remoteEntry
              ? 'differs at the destination'
              : 'new'
            : rec.sha256 !== file.hashes.sha256
              ? 'changed'
              : rec.encoding !== encoding
                ? `now sent ${encoding === 'identity' ? 'uncompressed' : `as ${encoding}`}`
                : 'missing or altered at the destination',
        ),
      );
    }

    if (newPaths.length > 0 && !dest.fileAndFolderCoexist)
      actions.push(
        ...keptAsideActions({
          destination: destId,
          shippedAt,
          newPaths,
          isKept: (r) => {
            const mode = ruleByName.get(r.rule)?.mode;
            return mode !== 'mirror' && mode !== 'two-way' && !targets.has(r.remotePath) && !sourceHere(r);
          },
          emptyFoldersStay: dest.emptyFoldersStay === true,
          known: () => (dest.remote ? [...dest.remote.keys(), ...shippedAt.keys()] : shippedAt.keys()),
          now: input.now,
        }),
      );

    // Pass 3: mirror deletions, only on the strength of a complete scan, braked when too many.
    for (const rule of input.dispatcher.rules) {
      if (rule.mode !== 'mirror' || !rule.to.includes(destId)) continue;
      const mine = dest.shipped.filter((r) => r.rule === rule.name && rule.from.includes(r.folder));
      const doomed: ShippedRecord[] = [];
      const leftBehind: ShippedRecord[] = [];
      // Left-behind copies the person asked to remove: the file is still here with that very content.
      const cleaned: ShippedRecord[] = [];
      const cleaning = consents(input.confirmDeletes, rule.name) || input.cleanLeftBehind?.has(rule.name) === true;
      for (const r of mine) {
        if (targets.has(r.remotePath) || consumed.has(r.remotePath)) continue;
        const folder = input.folders.get(r.folder);
        if (!folder || !folder.complete) continue;
        if (folder.unreadable.has(r.path)) continue;
        // The file is still there: the rules changed, not the folder. That is no reason to delete.
        const local = folder.files.get(r.path);
        if (!local) doomed.push(r);
        // A copy of content the folder no longer holds may be that content's only copy: it stays.
        else if (cleaning && local.hashes.sha256 === r.sha256) cleaned.push(r);
        else leftBehind.push(r);
      }
      if (leftBehind.length > 0)
        problems.push({
          kind: 'left-behind',
          rule: rule.name,
          destination: destId,
          count: leftBehind.length,
          sample: leftBehind.slice(0, SAMPLE).map((r) => r.remotePath),
        });
      // Reported once per rule and folder, however many destinations the rule has.
      for (const f of rule.from) {
        const key = `${rule.name}\u0000${f}`;
        if (input.folders.get(f)?.complete || withheldReported.has(key)) continue;
        withheldReported.add(key);
        problems.push({
          kind: 'deletes-withheld',
          rule: rule.name,
          folder: f,
          reason: 'the folder could not be scanned completely',
        });
      }
      // The brake counts against the state the person last confirmed, so that deletions spread over
      // passes add up. The baseline counts every copy the rule keeps there (copies left behind by a rules
      // change included, as they stay); the share is taken of real files only, so that such copies
      // cannot dilute it.
      // Removing left-behind copies takes nothing real away: it lowers the baseline, not the share.
      const copies = leftBehind.length;
      const confirmed = (input.brakeBaselines?.get(brakeKey(rule.name, destId)) ?? mine.length) - cleaned.length;
      const lost = confirmed - (mine.length - cleaned.length - doomed.length);
      const real = Math.max(confirmed - copies, 0);
      const consented = consents(input.confirmDeletes, rule.name);
      if (doomed.length > 0 && lost >= BRAKE_MIN_FILES && lost > input.maxDeleteShare * real && !consented) {
        problems.push({
          kind: 'delete-brake',
          rule: rule.name,
          destination: destId,
          deletes: doomed.length,
          total: real,
          ...(lost > doomed.length ? { earlier: lost - doomed.length } : {}),
        });
        continue;
      }
      // What the rule keeps there once this pass is done: every file it sends there, and the copies left
      // behind. Growth needs no confirmation; a loss is forgotten only once the person confirmed it.
      let kept = copies;
      for (const t of targets.values()) if (t.rule === rule) kept++;
      brakeBaselines.push({
        rule: rule.name,
        destination: destId,
        files: consented ? kept : Math.max(confirmed, kept),
      });
      for (const r of doomed)
        actions.push({
          kind: 'delete-remote',
          rule: rule.name,
          destination: destId,
          folder: r.folder,
          path: r.path,
          remotePath: r.remotePath,
          size: r.size,
          sha256: r.sha256,
          reason: 'deleted locally',
          // A file replaced by a folder of its name (or the reverse): the old one goes before the new is sent.
          ...(clearsWayFor(r.remotePath, targets) ? { detail: { clearsWay: true } } : {}),
        });
      for (const r of cleaned)
        actions.push({
          kind: 'delete-remote',
          rule: rule.name,
          destination: destId,
          folder: r.folder,
          path: r.path,
          remotePath: r.remotePath,
          size: r.size,
          sha256: r.sha256,
          reason: 'left behind by a rules change; the file is still in the folder',
          detail: { leftBehind: true },
        });
    }
  }

  // Pass 4: move mode removes the local file once the destinations hold verified copies: all of them,
  // or `safe_when` of them (checked again, against every move rule that catches it, when the job runs).
  for (const { rule, file } of movedOut) {
    if (collided.has(file)) continue;
    actions.push({
      kind: 'delete-local',
      rule: rule.name,
      folder: file.folder,
      path: file.path,
      size: file.size,
      sha256: file.hashes.sha256,
      reason: 'moved: the destinations hold verified copies',
    });
  }

  const belowQuorum: BelowQuorum[] = [];
  for (const { rule, file, remotePath } of quorumChecks) {
    const needed = rule.safe_when ?? rule.to.length;
    const copies = rule.to.filter((d) => verifiedAt.get(d)?.(remotePath, file, rule) ?? false).length;
    if (copies < needed)
      belowQuorum.push({
        rule: rule.name,
        folder: file.folder,
        path: file.path,
        copies,
        needed,
        remotePath,
        sha256: file.hashes.sha256,
        encoding: rule.compress ?? 'identity',
        destinations: [...rule.to],
      });
  }

  return { actions, problems, inSync, unmatched: uncaught.length, uncaught, belowQuorum, caught, brakeBaselines };
}
