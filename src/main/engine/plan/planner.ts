import type { Action, LocalFile } from '../../../shared/models';
import type { RemoteEntry } from '../providers/types';
import { remotePathOf } from '../rules/pathTemplate';
import type { CompiledRule } from '../rules/ruleMatcher';
import type { ShippedRecord } from '../store/shippedStore';

export type FolderState = { files: ReadonlyMap<string, LocalFile>; unreadable: ReadonlySet<string>; complete: boolean };

export type DestinationState = {
  shipped: readonly ShippedRecord[];
  /** The destination's listing; undefined when it could not be listed (then the index is trusted). */
  remote: ReadonlyMap<string, RemoteEntry> | undefined;
  canMove: boolean;
  canCopy: boolean;
};

export type PlanInput = {
  rules: readonly CompiledRule[];
  folders: ReadonlyMap<string, FolderState>;
  destinations: ReadonlyMap<string, DestinationState>;
  maxDeleteShare: number;
  confirmDeletes: boolean;
};

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
  | { kind: 'delete-brake'; rule: string; destination: string; deletes: number; total: number }
  | { kind: 'deletes-withheld'; rule: string; folder: string; reason: string };

export type Plan = { actions: Action[]; problems: PlanProblem[]; inSync: number; unmatched: number };

const BRAKE_MIN_FILES = 5;

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
  const matched = new Set<string>();
  for (const rule of input.rules) {
    for (const folderId of rule.from) {
      const folder = input.folders.get(folderId);
      if (!folder) continue;
      for (const file of folder.files.values()) {
        if (!rule.matches(file.path)) continue;
        matched.add(`${folderId}\u0000${file.path}`);
        let remotePath: string;
        try {
          remotePath = remotePathOf(rule.path, file, rule.name);
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
        for (const dest of rule.to) {
          if (!input.destinations.has(dest)) continue;
          let targets = targetsByDest.get(dest);
          if (!targets) targetsByDest.set(dest, (targets = new Map()));
          const taken = targets.get(remotePath);
          if (taken) {
            if (taken.file !== file)
              problems.push({
                kind: 'collision',
                rule: rule.name,
                destination: dest,
                remotePath,
                folder: folderId,
                path: file.path,
                takenBy: `${taken.file.folder}/${taken.file.path} (rule "${taken.rule.name}")`,
              });
            continue;
          }
          targets.set(remotePath, { rule, file, remotePath });
        }
      }
    }
  }

  const withheldReported = new Set<string>();

  // Pass 2: per destination, what each wanted path needs; renames found by content.
  for (const [destId, dest] of input.destinations) {
    const targets = targetsByDest.get(destId) ?? new Map<string, Target>();
    const shippedAt = new Map(dest.shipped.map((r) => [r.remotePath, r]));
    const present = (r: ShippedRecord): boolean => {
      if (!dest.remote) return true;
      const e = dest.remote.get(r.remotePath);
      return (
        e !== undefined &&
        !e.partial &&
        e.size === r.size &&
        (e.version === undefined || r.remoteVersion === null || e.version === r.remoteVersion)
      );
    };
    // Content that sits at a path nobody wants any more: a candidate source for a server-side rename.
    const orphansByHash = new Map<string, ShippedRecord[]>();
    for (const r of dest.shipped)
      if (!targets.has(r.remotePath) && present(r)) {
        const list = orphansByHash.get(r.sha256) ?? [];
        list.push(r);
        orphansByHash.set(r.sha256, list);
      }
    const consumed = new Set<string>();

    for (const { rule, file, remotePath } of targets.values()) {
      const rec = shippedAt.get(remotePath);
      const remoteEntry = dest.remote?.get(remotePath);
      const base = {
        rule: rule.name,
        destination: destId,
        folder: file.folder,
        path: file.path,
        remotePath,
        size: file.size,
        sha256: file.hashes.sha256,
      };
      if (rec && rec.sha256 === file.hashes.sha256 && present(rec)) {
        inSync++;
        continue;
      }
      // Only a mirror may take content away from its old path; backup and move keep what they delivered.
      const renames = rule.mode === 'mirror';
      const orphan = (orphansByHash.get(file.hashes.sha256) ?? []).find((r) => !consumed.has(r.remotePath));
      if (orphan && (renames ? dest.canMove : dest.canCopy)) {
        consumed.add(orphan.remotePath);
        actions.push({
          ...base,
          kind: renames ? 'move-remote' : 'copy-remote',
          fromRemotePath: orphan.remotePath,
          reason: `${renames ? 'renamed' : 'copied'} from ${orphan.remotePath} (same content)`,
        });
        continue;
      }
      actions.push({
        ...base,
        kind: 'upload',
        reason: !rec
          ? remoteEntry
            ? 'differs at the destination'
            : 'new'
          : rec.sha256 !== file.hashes.sha256
            ? 'changed'
            : 'missing or altered at the destination',
      });
    }

    // Pass 3: mirror deletions, only on the strength of a complete scan, braked when too many.
    for (const rule of input.rules) {
      if (rule.mode !== 'mirror' || !rule.to.includes(destId)) continue;
      const mine = dest.shipped.filter((r) => r.rule === rule.name && rule.from.includes(r.folder));
      const doomed: ShippedRecord[] = [];
      for (const r of mine) {
        if (targets.has(r.remotePath) || consumed.has(r.remotePath)) continue;
        const folder = input.folders.get(r.folder);
        if (!folder || !folder.complete) continue;
        if (folder.unreadable.has(r.path)) continue;
        doomed.push(r);
      }
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
      if (
        doomed.length >= BRAKE_MIN_FILES &&
        doomed.length > input.maxDeleteShare * mine.length &&
        !input.confirmDeletes
      ) {
        problems.push({
          kind: 'delete-brake',
          rule: rule.name,
          destination: destId,
          deletes: doomed.length,
          total: mine.length,
        });
        continue;
      }
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
        });
    }
  }

  // Pass 4: move mode removes the local file once every destination of every move rule that catches
  // it holds a verified copy (checked again, against all those rules, when the job runs).
  const toRemove = new Set<string>();
  for (const rule of input.rules) {
    if (rule.mode !== 'move') continue;
    for (const folderId of rule.from) {
      const folder = input.folders.get(folderId);
      for (const file of folder?.files.values() ?? []) {
        const key = `${folderId}\u0000${file.path}`;
        if (!rule.matches(file.path) || toRemove.has(key)) continue;
        toRemove.add(key);
        actions.push({
          kind: 'delete-local',
          rule: rule.name,
          folder: folderId,
          path: file.path,
          size: file.size,
          sha256: file.hashes.sha256,
          reason: 'moved: the destinations hold verified copies',
        });
      }
    }
  }

  let unmatched = 0;
  for (const [folderId, folder] of input.folders)
    for (const file of folder.files.values()) if (!matched.has(`${folderId}\u0000${file.path}`)) unmatched++;

  return { actions, problems, inSync, unmatched };
}
