import type { Action, Encoding, LocalFile } from '../../../shared/models';
import {
  BRAKE_MIN_FILES,
  brakeKey,
  targetPathOf,
  type BelowQuorum,
  type BrakeBaseline,
  type DestinationState,
} from '../plan/planner';
import type { Dispatcher } from '../rules/dispatch';
import type { CompiledRule } from '../rules/ruleMatcher';
import { jobKey } from '../store/jobStore';
import type { ShippedRecord } from '../store/shippedStore';
import type { Store } from '../store/store';
import type { PathScan } from './scanPaths';

export type ChangeInput = {
  folder: string;
  scan: PathScan;
  dispatcher: Dispatcher;
  /** The connected destinations (what the planner's destination states say of them, shipped rows aside). */
  destinations: ReadonlyMap<string, DestFeatures>;
  store: Pick<Store, 'shipped' | 'jobs' | 'index' | 'brakes'>;
  now: number;
  /** Targets (`destination\0remotePath`) two files wanted at the last full plan: their keeper is its to choose. */
  contested: ReadonlySet<string>;
};

export type ChangePlan = {
  actions: Action[];
  /** The source paths whose pending jobs these actions replace (every path the scan looked at). */
  sources: { folder: string; path: string }[];
  /** The mirror brake baselines the full plan would keep for the rules touched, once the pass completes. */
  baselines: BrakeBaseline[];
  belowQuorum: BelowQuorum[];
  /** Changed paths no rule catches. */
  uncaught: string[];
  inSync: number;
};

/** Why the change must go through the full plan instead. */
export type Fallback = { fallback: string };

type DestFeatures = Pick<DestinationState, 'canMove' | 'canCopy' | 'caseInsensitive' | 'fileAndFolderCoexist'>;
type Target = { rule: CompiledRule; file: LocalFile; remotePath: string; destination: string; dest: DestFeatures };

const keyOf = (destination: string, remotePath: string): string => `${destination}\u0000${remotePath}`;

/**
 * Plans the changed paths of one folder against their own rows only (the shipped records at their
 * targets and of their sources, candidates for a rename by content, the jobs at their targets), with
 * the full planner's decisions (planner.ts, passes 1–4) for them. Whatever a decision would need the
 * rest of the folder for — two files wanting one target, a target holding another file's copy, a
 * case-insensitive destination, deletions that reach the brake — returns a fallback: the full plan
 * decides those, exactly as before.
 */
export function planChanges(input: ChangeInput): ChangePlan | Fallback {
  const { folder, scan, dispatcher, destinations, store, now } = input;
  const sourcePaths = new Set<string>([...scan.present.keys(), ...scan.gone, ...scan.unreadable]);
  const sources = [...sourcePaths].map((path) => ({ folder, path }));
  const uncaught: string[] = [];

  // Pass 1: what each changed file wants, by destination and remote path.
  const targets = new Map<string, Target>();
  const quorumChecks: Pick<Target, 'rule' | 'file' | 'remotePath'>[] = [];
  const movedOut: { rule: CompiledRule; file: LocalFile }[] = [];
  const present = [...scan.present.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of present) {
    const rules = dispatcher.catching(folder, file, now);
    if (rules.length === 0) {
      uncaught.push(file.path);
      continue;
    }
    let mover: CompiledRule | undefined;
    for (const rule of rules) {
      if (rule.mode === 'two-way') return { fallback: 'a two-way rule catches the file' };
      if (rule.mode === 'move') mover ??= rule;
      let remotePath: string;
      try {
        remotePath = targetPathOf(rule, file);
      } catch {
        return { fallback: `${file.path} maps outside the destination root` };
      }
      if (rule.mode === 'move' || rule.safe_when !== undefined) quorumChecks.push({ rule, file, remotePath });
      for (const destination of rule.to) {
        const dest = destinations.get(destination);
        if (!dest) continue;
        if (dest.caseInsensitive) return { fallback: `${destination} folds names: case clashes span the folder` };
        const key = keyOf(destination, remotePath);
        const taken = targets.get(key);
        if (taken && taken.file !== file) return { fallback: `two changed files want ${remotePath}` };
        if (taken) continue;
        if (input.contested.has(key)) return { fallback: `${remotePath} was contested at the last plan` };
        targets.set(key, { rule, file, remotePath, destination, dest });
      }
    }
    if (mover) movedOut.push({ rule: mover, file });
  }

  // Another file's job at a target: that file wants it too (or removes it), which only the full plan weighs.
  const foreignJob = (destination: string, remotePath: string): boolean => {
    const job = store.jobs.atKey(jobKey({ kind: 'upload', destination, remotePath, folder, path: '' }));
    return job !== undefined && !(job.folder === folder && sourcePaths.has(job.path));
  };
  const recordAt = new Map<string, ShippedRecord | undefined>();
  const shippedAt = (destination: string, remotePath: string): ShippedRecord | undefined => {
    const key = keyOf(destination, remotePath);
    if (!recordAt.has(key)) recordAt.set(key, store.shipped.get(destination, remotePath));
    return recordAt.get(key);
  };
  // Without a listing (the live path never lists) a record is trusted to be there, as in the full plan.
  const holds = (rec: ShippedRecord | undefined, file: LocalFile, encoding: Encoding): boolean =>
    rec !== undefined && rec.sha256 === file.hashes.sha256 && rec.encoding === encoding;

  // Pass 2: per target, in sync, a rename or copy of content already there, or an upload.
  const actions: Action[] = [];
  const consumed = new Set<string>();
  type Touched = { rule: CompiledRule; destination: string; doomed: ShippedRecord[]; added: number };
  const touched = new Map<string, Touched>();
  const touch = (rule: CompiledRule, destination: string): Touched => {
    const bk = brakeKey(rule.name, destination);
    let t = touched.get(bk);
    if (!t) touched.set(bk, (t = { rule, destination, doomed: [], added: 0 }));
    return t;
  };
  let inSync = 0;
  for (const { rule, file, remotePath, destination, dest } of targets.values()) {
    const rec = shippedAt(destination, remotePath);
    if (rec && (rec.folder !== folder || rec.path !== file.path))
      return { fallback: `${remotePath} holds the copy of ${rec.folder}/${rec.path}` };
    if (foreignJob(destination, remotePath)) return { fallback: `another file's job targets ${remotePath}` };
    const encoding: Encoding = rule.compress ?? 'identity';
    if (holds(rec, file, encoding)) {
      inSync++;
      continue;
    }
    // A new name where a copy may stand with the other kind (a file where a folder is needed, or the
    // reverse): kept copies move aside and mirror deletions clear the way in the full plan (keptAside.ts).
    if (!rec && !dest.fileAndFolderCoexist && kindClash(destination, remotePath))
      return { fallback: `${remotePath} changed from file to folder or back at ${destination}` };
    const base = {
      rule: rule.name,
      destination,
      folder,
      path: file.path,
      remotePath,
      size: file.size,
      sha256: file.hashes.sha256,
      ...(encoding === 'identity' ? {} : { encoding }),
    };
    const renames = rule.mode === 'mirror';
    const orphan = (renames ? dest.canMove : dest.canCopy)
      ? store.shipped
          .withContent(destination, file.hashes.sha256)
          .find((r) => r.encoding === encoding && !consumed.has(keyOf(destination, r.remotePath)) && unwanted(r))
      : undefined;
    if (orphan) {
      consumed.add(keyOf(destination, orphan.remotePath));
      actions.push({
        ...base,
        kind: renames ? 'move-remote' : 'copy-remote',
        fromRemotePath: orphan.remotePath,
        reason: `${renames ? 'renamed' : 'copied'} from ${orphan.remotePath} (same content)`,
      });
      continue;
    }
    if (!rec && rule.mode === 'mirror') touch(rule, destination).added++;
    actions.push({
      ...base,
      kind: 'upload',
      reason: !rec
        ? 'new'
        : rec.sha256 !== file.hashes.sha256
          ? 'changed'
          : `now sent ${encoding === 'identity' ? 'uncompressed' : `as ${encoding}`}`,
    });
  }

  /**
   * A record nobody wants any more (the full plan's orphan): its source is one of the changed paths and
   * no changed file targets it, or its source left the index before; and no other file's job targets it.
   */
  function unwanted(r: ShippedRecord): boolean {
    if (targets.has(keyOf(r.destination, r.remotePath))) return false;
    const inBatch = r.folder === folder && sourcePaths.has(r.path);
    if (!inBatch && store.index.get(r.folder, r.path) !== undefined) return false;
    return !foreignJob(r.destination, r.remotePath);
  }

  /** Whether the destination's records hold a file at a folder of `remotePath`, or files below it. */
  function kindClash(destination: string, remotePath: string): boolean {
    for (let i = remotePath.indexOf('/'); i !== -1; i = remotePath.indexOf('/', i + 1))
      if (shippedAt(destination, remotePath.slice(0, i))) return true;
    return store.shipped.anyBelow(destination, remotePath);
  }

  /** Whether deleting `remotePath` makes room for a changed file's target (planner.ts, clearsWayFor). */
  function clearsWay(destination: string, remotePath: string): boolean {
    for (const t of targets.values()) {
      if (t.destination !== destination) continue;
      if (t.remotePath.startsWith(`${remotePath}/`) || remotePath.startsWith(`${t.remotePath}/`)) return true;
    }
    return false;
  }

  // Pass 3: a mirror's copies of the files confirmed gone, unless renamed away or wanted again.
  if (scan.complete)
    for (const path of scan.gone)
      for (const r of store.shipped.forSource(folder, path)) {
        const rule = dispatcher.rule(r.rule);
        if (!rule || rule.mode !== 'mirror' || !rule.from.includes(folder) || !rule.to.includes(r.destination))
          continue;
        if (!destinations.has(r.destination)) continue;
        const key = keyOf(r.destination, r.remotePath);
        if (targets.has(key) || consumed.has(key) || foreignJob(r.destination, r.remotePath)) continue;
        touch(rule, r.destination).doomed.push(r);
      }
  const baselines: BrakeBaseline[] = [];
  for (const { rule, destination, doomed, added } of touched.values()) {
    // The brake's arithmetic (planner.ts, pass 3) with the rule's count from the database. Below its
    // threshold the brake cannot trip; at or beyond it the full plan weighs the share and may hold them.
    const baseline = store.brakes.get(rule.name, destination);
    // No baseline and nothing deleted: the brake will count what is there, as the full plan's would.
    if (baseline === undefined && doomed.length === 0) continue;
    const mine = store.shipped.countOf(destination, rule.name, rule.from);
    const confirmed = baseline ?? mine;
    const lost = confirmed - (mine - doomed.length);
    if (doomed.length > 0 && lost >= BRAKE_MIN_FILES)
      return { fallback: `${lost} deletions for rule "${rule.name}" reach the brake` };
    baselines.push({ rule: rule.name, destination, files: Math.max(confirmed, mine - doomed.length + added) });
    for (const r of doomed)
      actions.push({
        kind: 'delete-remote',
        rule: rule.name,
        destination,
        folder,
        path: r.path,
        remotePath: r.remotePath,
        size: r.size,
        sha256: r.sha256,
        reason: 'deleted locally',
        // A file replaced by a folder of its name (or the reverse): the old one goes before the new is sent.
        ...(clearsWay(destination, r.remotePath) ? { detail: { clearsWay: true } } : {}),
      });
  }

  // Pass 4: move mode removes the local file once the destinations hold verified copies.
  for (const { rule, file } of movedOut)
    actions.push({
      kind: 'delete-local',
      rule: rule.name,
      folder,
      path: file.path,
      size: file.size,
      sha256: file.hashes.sha256,
      reason: 'moved: the destinations hold verified copies',
    });

  const belowQuorum: BelowQuorum[] = [];
  for (const { rule, file, remotePath } of quorumChecks) {
    const needed = rule.safe_when ?? rule.to.length;
    const encoding: Encoding = rule.compress ?? 'identity';
    const copies = rule.to.filter((d) => destinations.has(d) && holds(shippedAt(d, remotePath), file, encoding)).length;
    if (copies < needed)
      belowQuorum.push({
        rule: rule.name,
        folder,
        path: file.path,
        copies,
        needed,
        remotePath,
        sha256: file.hashes.sha256,
        encoding,
        destinations: [...rule.to],
      });
  }

  return { actions, sources, baselines, belowQuorum, uncaught, inSync };
}
