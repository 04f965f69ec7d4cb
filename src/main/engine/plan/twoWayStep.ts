import picomatch from 'picomatch';
import type { FerryConfig, RuleConfig } from '../../../shared/config';
import type { Action, LocalFile } from '../../../shared/models';
import type { RemoteEntry } from '../providers/types';
import { TRASH_DIR } from '../scan/ignoreRules';
import type { BaseEntry } from '../store/baseStore';
import { consents, type DeleteConsent, type DestinationState, type FolderDispatch, type FolderState } from './planner';
import { planTwoWay, type TwoWayAction } from './twoWay';

/** What a pass of two-way planning decided besides queued jobs: base updates, brakes, problems. */
export type TwoWayOutcome = {
  /** Both sides already agree (or are both gone): only the base changes, at once. */
  baseUpdates: ({ rule: string } & ({ kind: 'record'; entry: BaseEntry } | { kind: 'forget'; path: string }))[];
  brakes: { rule: string; side: 'local' | 'remote'; deletes: number; of: number }[];
  problems: { rule: string; path: string; message: string }[];
};

const BRAKE_MIN_FILES = 5;

function toAction(
  rule: RuleConfig,
  a: TwoWayAction,
  local: ReadonlyMap<string, LocalFile>,
  remote: ReadonlyMap<string, RemoteEntry> | undefined,
): Action | undefined {
  const folder = rule.from[0] as string;
  const destination = rule.to[0] as string;
  const base = { rule: rule.name, folder, destination };
  switch (a.kind) {
    case 'upload':
      return {
        ...base,
        kind: 'upload',
        path: a.path,
        remotePath: a.path,
        size: a.size,
        sha256: a.sha256,
        reason: a.reason,
        // The upload replaces exactly what the plan saw there (or creates the file).
        detail: { remoteVersion: remote?.get(a.path)?.version ?? null, remoteSize: remote?.get(a.path)?.size ?? null },
      };
    case 'download':
      return {
        ...base,
        kind: 'download',
        path: a.path,
        remotePath: a.path,
        size: a.size,
        reason: a.reason,
        detail: {
          replaces: local.get(a.path)?.hashes.sha256 ?? null,
          remoteVersion: a.remoteVersion,
          expect: { size: a.size, ...(a.expect ? { hashes: a.expect } : {}) },
        },
      };
    case 'conflict':
      return {
        ...base,
        kind: 'conflict',
        path: a.path,
        remotePath: a.path,
        size: local.get(a.path)?.size ?? 0,
        sha256: a.localSha256,
        reason: a.reason,
        detail: { conflictPath: a.conflictPath, replaces: a.localSha256, remoteVersion: a.remoteVersion },
      };
    case 'delete-local':
      return {
        ...base,
        kind: 'trash-local',
        path: a.path,
        size: 0,
        sha256: a.sha256,
        reason: a.reason,
        ...(a.clearsWay ? { detail: { clearsWay: true } } : {}),
      };
    case 'delete-remote':
      return {
        ...base,
        kind: 'delete-remote',
        path: a.path,
        remotePath: a.path,
        size: 0,
        reason: a.reason,
        detail: { remoteVersion: a.remoteVersion, ...(a.clearsWay ? { clearsWay: true } : {}) },
      };
    case 'set-aside':
      return {
        ...base,
        kind: 'set-aside',
        path: a.path,
        remotePath: a.path,
        size: local.get(a.path)?.size ?? remote?.get(a.path)?.size ?? 0,
        ...(a.sha256 !== null ? { sha256: a.sha256 } : {}),
        reason: a.reason,
        detail: { conflictPath: a.to, aside: a.side, remoteVersion: a.remoteVersion },
      };
    case 'move-remote':
      return {
        ...base,
        kind: 'move-remote',
        path: a.to,
        remotePath: a.to,
        fromRemotePath: a.from,
        size: local.get(a.to)?.size ?? 0,
        sha256: a.sha256,
        reason: a.reason,
        // What is moved must still be the base's content the plan saw there.
        detail: { fromVersion: remote?.get(a.from)?.version ?? null },
      };
    case 'move-local':
      return {
        ...base,
        kind: 'move-local',
        path: a.to,
        remotePath: a.to,
        fromRemotePath: a.from,
        size: 0,
        reason: a.reason,
      };
    case 'record':
    case 'forget':
      return undefined;
  }
}

/**
 * Two-way rules, each against its base (see twoWay.ts): the files the rule catches in its folder, the
 * destination's listing, and what both sides last agreed on. One-way rules are planned by planner.ts.
 */
export function planTwoWayRules(input: {
  cfg: FerryConfig;
  folders: ReadonlyMap<string, FolderState>;
  caught: ReadonlyMap<string, FolderDispatch>;
  destinations: ReadonlyMap<string, DestinationState>;
  base: (rule: string) => ReadonlyMap<string, BaseEntry>;
  confirmDeletes: DeleteConsent;
  now: Date;
  /** The name conflicted copies carry: this computer's (the planner asks nothing of the machine). */
  host: string;
  /** Whose file-name rules remote paths must meet: this computer's OS. */
  platform: NodeJS.Platform;
}): { actions: Action[]; outcome: TwoWayOutcome } {
  const actions: Action[] = [];
  const outcome: TwoWayOutcome = { baseUpdates: [], brakes: [], problems: [] };
  for (const rule of input.cfg.rules) {
    if (rule.mode !== 'two-way') continue;
    const folderId = rule.from[0] as string;
    const destId = rule.to[0] as string;
    const folder = input.folders.get(folderId);
    const dispatch = input.caught.get(folderId);
    const dest = input.destinations.get(destId);
    // A paused folder, or a destination not connected: nothing is known well enough to act on.
    if (!folder || !dispatch || !dest) continue;
    const local = new Map<string, LocalFile>();
    const uncaught = new Set<string>();
    let i = 0;
    for (const file of dispatch.files.values()) {
      if ((dispatch.lists[i++] ?? []).some((r) => r.name === rule.name)) local.set(file.path, file);
      else uncaught.add(file.path);
    }
    const remote =
      dest.remote && new Map<string, RemoteEntry>([...dest.remote].filter(([p]) => !p.startsWith(`${TRASH_DIR}/`)));
    const glob = { dot: true };
    const excluded = rule.remote_exclude.length > 0 ? picomatch(rule.remote_exclude, glob) : () => false;
    const include = picomatch(rule.match, glob);
    const exclude = rule.exclude.length > 0 ? picomatch(rule.exclude, glob) : () => false;
    const plan = planTwoWay({
      rule: rule.name,
      folder: folderId,
      destination: destId,
      local,
      localUnreadable: folder.unreadable,
      localUncaught: uncaught,
      localComplete: folder.complete,
      remote,
      base: input.base(rule.name),
      excluded: (p) => p === TRASH_DIR || p.startsWith(`${TRASH_DIR}/`) || excluded(p),
      catches: (p) => include(p) && !exclude(p),
      host: input.host,
      platform: input.platform,
      now: input.now,
      maxDeleteShare: input.cfg.settings.max_delete_share,
      minDeletes: BRAKE_MIN_FILES,
      confirmDeletes: consents(input.confirmDeletes, rule.name),
      remoteCaseInsensitive: dest.caseInsensitive === true,
    });
    for (const a of plan.actions) {
      if (a.kind === 'record')
        outcome.baseUpdates.push({
          rule: rule.name,
          kind: 'record',
          entry: { path: a.path, sha256: a.sha256, size: a.size, remoteVersion: a.remoteVersion },
        });
      else if (a.kind === 'forget') outcome.baseUpdates.push({ rule: rule.name, kind: 'forget', path: a.path });
      else {
        const action = toAction(rule, a, local, remote);
        if (action) actions.push(action);
      }
    }
    if (plan.brake)
      outcome.brakes.push({ rule: rule.name, side: plan.brake.side, deletes: plan.brake.deletes, of: plan.brake.of });
    for (const p of plan.problems) outcome.problems.push({ rule: rule.name, ...p });
  }
  return { actions, outcome };
}
