import { dirname } from 'node:path';
import type { DestinationConfig, FerryConfig } from '../../../shared/config';
import {
  isRequestName,
  type ApiError,
  requestSchemas,
  type AppInfo,
  type ConfigUpdateResult,
  type DestinationTestResult,
  type FerryApi,
  type QueueItem,
  type RequestName,
  type StatusResult,
} from '../../../shared/contract';
import { ConfigError, configFromObject, pathToString } from '../config/loadConfig';
import { readIfThere } from '../config/configFile';
import { updateConfigText } from '../config/configWriter';
import { defaultRcloneConf } from '../rclone/rcloneConf';
import { describeRemotes, importIntoConfig, readRcloneRemotes } from '../rclone/importIntoConfig';
import { writeFileAtomically } from '../files/atomicWrite';
import { FerryError } from '../../../shared/errors';
import { levelOf, needsOf, sentenceOf } from '../../../shared/health';
import { FERRY_VERSION } from '../../../shared/version';
import { draftSecretProblem } from '../secrets/draftSecrets';
import { canShare } from '../providers/types';
import { keychainNames, type Keychain } from '../secrets/secrets';
import { transferRef, type Job } from '../store/jobStore';
import { browseDestination } from '../window/browse';
import type { DropboxConnections } from '../window/dropboxConnect';
import { listConflicts, resolveConflict } from '../window/conflicts';
import { processClock } from '../versions/clock';
import { listVersions, restoreVersions } from '../versions/versionsApi';
import { checkFolder, previewIgnore } from '../window/folderCheck';
import type { Store } from '../store/store';
import type { SyncService } from '../sync/syncService';

/** What the API needs from the face that hosts the engine (the daemon, or Electron's main process). */
export type ApiHost = {
  store: Store;
  service: () => SyncService;
  config: () => FerryConfig;
  /** The config file the person edits; updates are written there, atomically. */
  configPath: string;
  /** Re-applies a new configuration without a restart of the process. */
  apply: (cfg: FerryConfig) => Promise<void>;
  /** Connects to a destination and runs its check (see destinationTest.ts). */
  testDestination: (dc: DestinationConfig) => Promise<DestinationTestResult>;
  /** Where `keychain:` secrets entered in the window are kept. */
  keychain: Keychain;
  /** "Connect to Dropbox" attempts in progress; the host stops them when it stops. */
  dropbox: DropboxConnections;
  info: { face: AppInfo['face']; stateDir: string };
};

export class ApiInputError extends Error {
  constructor(
    readonly code: 'unknown-request' | 'invalid-input',
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

function queueItem(job: Job, state: QueueItem['state']): QueueItem {
  const { jobId, ...ref } = transferRef(job);
  return { id: jobId, ...ref, reason: job.reason, attempts: job.attempts, lastError: job.lastError, state };
}

/** The contract's implementation, shared by every face. Inputs arrive validated (see `call`). */
export function createApi(host: ApiHost): FerryApi {
  /** Keychain entries whose value came in through this API since the config was last saved (see draftSecrets.ts). */
  const typedThisSession = new Set<string>();
  const status = (): StatusResult => {
    const s = host.service().status();
    const active = host.service().activeJobs().length;
    const queue = {
      pending: Math.max(0, s.queue.pending - active),
      active,
      failed: s.queue.failed,
      bytesPending: s.queue.bytesPending,
    };
    const belowQuorum = {
      count: s.belowQuorum.length,
      sample: s.belowQuorum.slice(0, 100).map(({ rule, folder, path, copies, needed }) => ({
        rule,
        folder,
        path,
        copies,
        needed,
      })),
    };
    const base = {
      state: s.state,
      folders: s.folders,
      destinations: s.destinations,
      queue,
      belowQuorum,
      uncaught: s.uncaught,
      heldDeletions: s.heldDeletions,
      leftBehind: s.leftBehind,
      hold: s.hold,
    };
    const needs = needsOf(base);
    return {
      ...base,
      summary: sentenceOf(base, needs),
      level: levelOf(base, needs),
      needs,
      progress: s.progress,
      bandwidth: s.bandwidth,
    };
  };
  const connected = (id: string) => {
    if (!host.config().destinations.some((d) => d.id === id))
      throw new FerryError('not-found', 'unknown-destination', `there is no destination "${id}"`);
    const dest = host.service().connected(id);
    if (!dest)
      throw new FerryError(
        'not-found',
        'not-connected',
        `destination "${id}" is not connected: no rule uses it yet, or its connection test failed (see its status)`,
      );
    return dest;
  };
  return {
    'status:get': async () => status(),
    'queue:list': async ({ state, offset, limit }) => {
      const active = host.service().activeJobs();
      if (state === 'active')
        return { total: active.length, items: active.slice(offset, offset + limit).map((j) => queueItem(j, 'active')) };
      if (state === 'failed') {
        const page = host.store.jobs.page('failed', offset, limit);
        return { total: page.total, items: page.items.map((j) => queueItem(j, 'failed')) };
      }
      const running = new Set(active.map((j) => j.id));
      const page = host.store.jobs.page('pending', offset, limit + running.size);
      const items = page.items.filter((j) => !running.has(j.id)).slice(0, limit);
      return { total: Math.max(0, page.total - running.size), items: items.map((j) => queueItem(j, 'pending')) };
    },
    'transfer:retry': async ({ id }) => {
      const job = host.store.jobs.get(id);
      const ok = host.store.jobs.retryFailed(id) > 0;
      if (ok && job) host.service().requestRescan(job.folder);
      return { ok };
    },
    'transfer:retryAll': async () => {
      const retried = host.store.jobs.retryFailed();
      if (retried > 0) host.service().requestRescan();
      return { retried };
    },
    'transfer:cancel': async ({ id }) => ({ ok: host.service().cancel(id) }),
    'sync:pause': async ({ folder }) => {
      host.service().pause(folder);
      return status();
    },
    'sync:confirmDeletes': async ({ rule }) => ({ ok: host.service().confirmDeletes(rule) }),
    'sync:cleanLeftBehind': async ({ rule }) => ({ ok: host.service().cleanLeftBehind(rule) }),
    'folder:rescan': async ({ folder }) => {
      if (!host.config().folders.some((f) => f.id === folder))
        throw new FerryError('not-found', 'unknown-folder', `there is no folder "${folder}"`);
      return { ok: host.service().rescanFolder(folder) };
    },
    'sync:resume': async ({ folder }) => {
      host.service().resume(folder);
      return status();
    },
    'config:get': async () => host.config(),
    'config:update': async ({ config }): Promise<ConfigUpdateResult> => {
      let cfg: FerryConfig;
      try {
        cfg = configFromObject(config, host.configPath, dirname(host.configPath));
      } catch (err) {
        if (err instanceof ConfigError)
          return { ok: false, problems: err.problems.map(({ path, message }) => ({ path, message })) };
        throw err;
      }
      const before = keychainNames(host.config());
      writeFileAtomically(
        host.configPath,
        updateConfigText(readIfThere(host.configPath), config, host.configPath, dirname(host.configPath)),
      );
      await host.apply(cfg);
      // Saved, the secrets belong to their destinations: from now on a draft uses them only where those do.
      typedThisSession.clear();
      // Secrets kept for what the config no longer refers to (a removed destination) are forgotten.
      const after = keychainNames(cfg);
      for (const name of before)
        if (!after.has(name))
          try {
            host.keychain.delete(name);
          } catch {
            // The secret store cannot be written now: the entry stays, unused, which harms nothing.
          }
      return { ok: true };
    },
    'destination:test': async ({ destination }) =>
      draftSecretProblem(destination, host.config(), typedThisSession) ?? host.testDestination(destination),
    'rules:preview': async ({ rule, limit }) => host.service().preview(rule, limit),
    'history:query': async (q) => host.store.history.query(q),
    'activity:aggregate': async ({ bucket, from, to, utcOffsetMinutes }) =>
      host.store.history.activity(bucket, from, to, utcOffsetMinutes),
    'app:info': async () => ({
      version: FERRY_VERSION,
      platform: process.platform,
      face: host.info.face,
      configPath: host.configPath,
      stateDir: host.info.stateDir,
      secretStore: host.keychain.where,
    }),
    'folder:check': async ({ path }) => checkFolder(path),
    'folder:ignorePreview': async ({ path, ignore, limit }) => previewIgnore(path, ignore, limit),
    'dropbox:authorize': async ({ app_key, endpoint, name }) => host.dropbox.start({ appKey: app_key, endpoint, name }),
    'dropbox:finish': async ({ attempt }) => {
      const answer = await host.dropbox.finish(attempt);
      typedThisSession.add(answer.ref.slice('keychain:'.length));
      return answer;
    },
    'secret:set': async ({ name, value }) => {
      host.keychain.set(name, value);
      typedThisSession.add(name);
      return { ref: `keychain:${name}` };
    },
    'destination:browse': async ({ destination, prefix }) => browseDestination(connected(destination), prefix),
    'destination:shareLink': async ({ destination, path, expiresSec }) => {
      const dest = connected(destination);
      if (!canShare(dest))
        throw new FerryError(
          'permanent',
          'unsupported',
          `destination "${destination}" (${dest.type}) does not make share links`,
        );
      const url = await dest.shareLink(path, expiresSec);
      return { url, expiresAt: url.startsWith('file:') ? null : Date.now() + expiresSec * 1000 };
    },
    'destination:usage': async () => host.store.shipped.usage(),
    'conflicts:list': async () => ({
      items: listConflicts(host.config(), (folder) => host.service().filesOf(folder)),
    }),
    'rclone:remotes': async ({ path }) => {
      const file = path ?? defaultRcloneConf();
      return { file, remotes: describeRemotes(readRcloneRemotes(file)) };
    },
    'rclone:import': async ({ path, remotes }) => {
      const { outcomes, config } = importIntoConfig(
        readRcloneRemotes(path ?? defaultRcloneConf()),
        remotes,
        host.configPath,
        host.keychain,
      );
      if (config) await host.apply(config);
      return { outcomes };
    },
    'conflicts:resolve': async ({ folder, copy, keep }) => {
      const message = resolveConflict(host.config(), folder, copy, keep);
      host.service().requestRescan(folder);
      return { ok: true, message };
    },
    'versions:list': async (q) => listVersions(host.config(), host.store, (id) => host.service().connected(id), q),
    'versions:restore': async (q) => {
      const done = await restoreVersions(
        host.config(),
        host.store,
        (id) => host.service().connected(id),
        processClock(),
        q,
        new AbortController().signal,
      );
      if (q.to === undefined) host.service().requestRescan(q.folder);
      return done;
    },
  };
}

/** The answer a face gives for a failed request: an HTTP-like status and the error's wire form. */
export function toApiError(err: unknown): { status: number; body: ApiError } {
  if (err instanceof ApiInputError)
    return {
      status: err.code === 'unknown-request' ? 404 : 400,
      body: { error: { code: err.code, message: err.message, issues: err.issues } },
    };
  if (err instanceof FerryError)
    return {
      status: err.kind === 'not-found' ? 404 : 422,
      body: { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } },
    };
  return { status: 500, body: { error: { code: 'internal', message: (err as Error).message ?? String(err) } } };
}

/** Validates a request's name and input at the boundary, then calls the API. */
export async function call(api: FerryApi, name: string, input: unknown): Promise<unknown> {
  if (!isRequestName(name)) throw new ApiInputError('unknown-request', `unknown request "${name}"`);
  const parsed = requestSchemas[name].safeParse(input ?? {});
  if (!parsed.success)
    throw new ApiInputError(
      'invalid-input',
      `invalid input for ${name}`,
      parsed.error.issues.map((i) => ({ path: pathToString(i.path), message: i.message })),
    );
  const method = api[name] as (args: unknown) => Promise<unknown>;
  return method(parsed.data);
}

export type { RequestName };
