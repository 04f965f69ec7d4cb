import type { HistoryEntry, StatusResult } from '../../../shared/contract';
import type { FolderState, ServiceState } from '../../../shared/events';
import type { HealthLevel } from '../../../shared/health';
import { parseBrakeSite } from '../../../shared/models';
import type { FolderProgress } from '../../../shared/progress';
import { OverallProgress } from '../components/OverallProgress';
import { EmptyState, ErrorNote, PageHeader, StatusBadge, type Health } from '../components/ui';
import { formatBytes, formatWhen, plural } from '../lib/format';
import { useOverallProgress } from '../lib/progress';
import { versionsHref } from './versions/versionsRoute';
import { useAction, useRequest } from '../lib/query';

const SERVICE_HEALTH: Record<ServiceState, Health> = {
  starting: 'busy',
  idle: 'ok',
  syncing: 'busy',
  paused: 'paused',
  error: 'error',
  stopped: 'off',
};
const FOLDER_HEALTH: Record<FolderState, Health> = {
  scanning: 'busy',
  watching: 'ok',
  syncing: 'busy',
  paused: 'paused',
  error: 'error',
};

const LEVEL_HEALTH: Record<HealthLevel, Health> = {
  attention: 'error',
  paused: 'paused',
  busy: 'busy',
  warn: 'warn',
  ok: 'ok',
};

/** Everything that waits for the person, when the sentence cannot name it all. */
function Needs({ needs }: { needs: StatusResult['needs'] }) {
  if (needs.length < 2) return null;
  return (
    <ul className="needs-list" data-testid="needs">
      {needs.map((n) => (
        <li key={`${n.kind}\u0000${n.subject}`}>
          {n.text} — <a href={n.href}>open</a>
        </li>
      ))}
    </ul>
  );
}

/** Where held deletions would happen, as a person reads it. */
function place(where: string): string {
  const site = parseBrakeSite(where);
  return site.kind === 'folder' ? `in folder "${site.id}"` : `at destination "${site.id}"`;
}

/**
 * Deletions the brake holds: nothing is deleted until the person says so here. Undoing the deletions
 * on the other side (putting the files back) clears the hold by itself.
 */
function HeldDeletions({ held }: { held: StatusResult['heldDeletions'] }) {
  const confirm = useAction('sync:confirmDeletes', ['status:get']);
  return (
    <section className="card card--alert" aria-labelledby="held-deletions" data-testid="held-deletions">
      <h2 id="held-deletions">Deletions waiting for you</h2>
      <ul className="error-list">
        {held.map((h) => (
          <li key={`${h.rule}\u0000${h.where}`}>
            <div className="error-list__message">
              Rule <strong>{h.rule}</strong> would delete {plural(h.deletes, 'file')} of {h.total.toLocaleString()}{' '}
              {place(h.where)}. That is more than the deletion brake lets through without asking.
            </div>
            <div className="error-list__fix">
              If the files were removed on purpose, let the deletions go ahead. If not, put them back where they were
              deleted: the hold clears on its own and nothing is lost.
            </div>
            <div className="row">
              <button
                type="button"
                className="btn btn--danger"
                disabled={confirm.isPending}
                onClick={() => confirm.mutate({ rule: h.rule })}
              >
                Delete {plural(h.deletes, 'file')}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * Copies a mirror rule shipped of files that are still in the folder but that it no longer sends there
 * (its rules changed): they stay until the person removes them here. Only a copy whose file still holds
 * the same content goes (the engine reads the file again first), so no copy that is the only one is lost.
 */
function LeftBehind({ items }: { items: StatusResult['leftBehind'] }) {
  const clean = useAction('sync:cleanLeftBehind', ['status:get']);
  const byRule = new Map<string, StatusResult['leftBehind']>();
  for (const l of items) byRule.set(l.rule, [...(byRule.get(l.rule) ?? []), l]);
  return (
    <section className="card card--alert" aria-labelledby="left-behind" data-testid="left-behind">
      <h2 id="left-behind">Copies left behind by a rules change</h2>
      <ul className="error-list">
        {[...byRule].map(([rule, list]) => {
          const count = list.reduce((n, l) => n + l.count, 0);
          const shown = list.reduce((n, l) => n + l.sample.length, 0);
          return (
            <li key={rule}>
              <div className="error-list__message">
                Rule <strong>{rule}</strong> no longer sends {plural(count, 'file')} it sent before to{' '}
                {list.map((l) => `"${l.destination}"`).join(', ')}. The files are still in your folder; their copies
                there are kept until you remove them.
              </div>
              <details>
                <summary className="small">Which copies</summary>
                <ul className="mono small">
                  {list.flatMap((l) =>
                    l.sample.map((p) => (
                      <li key={`${l.destination}\u0000${p}`}>
                        {l.destination}: {p}
                      </li>
                    )),
                  )}
                  {count > shown && <li>and {plural(count - shown, 'more')}</li>}
                </ul>
              </details>
              <div className="error-list__fix">
                Removing them deletes only copies whose file is still in your folder with the same content; a copy of a
                file changed since stays.
              </div>
              <div className="row">
                <button
                  type="button"
                  className="btn btn--danger"
                  disabled={clean.isPending}
                  onClick={() => clean.mutate({ rule })}
                >
                  Remove {plural(count, 'copy', 'copies')}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      <ErrorNote error={clean.error} />
    </section>
  );
}

const CHANGE: Record<HistoryEntry['kind'], string> = {
  upload: 'sent',
  'move-remote': 'renamed',
  'copy-remote': 'copied',
  'delete-remote': 'deleted at the destination',
  'delete-local': 'removed here (moved)',
  download: 'brought home',
  conflict: 'kept both versions',
  'move-local': 'renamed here',
  'trash-local': 'moved to the trash here',
  'set-aside': 'kept both: a file moved aside for a folder of its name',
};

/** The last files shipped, newest first (History has them all). */
function RecentChanges() {
  const recent = useRequest('history:query', { offset: 0, limit: 8, outcome: 'done' });
  const items = recent.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="recent-changes" data-testid="recent-changes">
      <div className="card__title">
        <h2 id="recent-changes">Recent changes</h2>
        <a href="#/history">All history</a>
      </div>
      {items.length === 0 ? (
        <p className="muted">Nothing shipped yet.</p>
      ) : (
        <ul className="recent-list">
          {items.map((e) => (
            <li key={e.id} data-testid="recent-change">
              <a
                className="mono truncate"
                href={versionsHref(e.folder, e.path)}
                title={`Versions of ${e.folder}/${e.path}`}
              >
                {e.path}
              </a>
              <span className="muted small">{formatWhen(e.at)}</span>
              <span className="muted small">
                {CHANGE[e.kind]}
                {e.destination ? ` → ${e.destination}` : ''}
                {e.remotePath && e.remotePath !== e.path ? ` as ${e.remotePath}` : ''}
                {e.kind === 'upload' ? ` · ${formatBytes(e.bytes)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A folder's share of the queued work: "42 % · 3 files, 1.2 MB left", as Syncthing shows it. */
function FolderProgressCell({ p }: { p: FolderProgress | undefined }) {
  if (!p) return <span className="muted small">up to date</span>;
  return (
    <span className="small num" data-testid="folder-progress">
      {p.percent ?? 0} % · {plural(p.filesLeft, 'file')}, {formatBytes(p.bytesLeft)} left
    </span>
  );
}

function Folders({ folders }: { folders: StatusResult['folders'] }) {
  const overall = useOverallProgress();
  const rescan = useAction('folder:rescan', ['status:get']);
  return (
    <section className="card" aria-labelledby="folders-health">
      <div className="card__title">
        <h2 id="folders-health">Folders</h2>
        <a href="#/folders">Manage</a>
      </div>
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th>Folder</th>
              <th>State</th>
              <th>Progress</th>
              <th className="num">Files</th>
              <th>Last scan</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {folders.map((f) => (
              <tr key={f.folder} data-testid={`folder-row-${f.folder}`}>
                <td>{f.folder}</td>
                <td>
                  {!f.used && !f.error ? (
                    <StatusBadge health="off">not synced: no rule reads it</StatusBadge>
                  ) : (
                    <StatusBadge health={FOLDER_HEALTH[f.state]}>
                      {f.error ? `${f.state}: ${f.error}` : f.state}
                    </StatusBadge>
                  )}
                </td>
                <td>
                  <FolderProgressCell p={overall.folders.find((p) => p.folder === f.folder)} />
                </td>
                <td className="num">{f.files.toLocaleString()}</td>
                <td>{formatWhen(f.lastScanAt)}</td>
                <td>
                  {f.used && (
                    <button
                      type="button"
                      className="btn btn--small"
                      aria-label={`Rescan ${f.folder}`}
                      disabled={rescan.isPending || f.state === 'scanning'}
                      onClick={() => rescan.mutate({ folder: f.folder })}
                    >
                      Rescan
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorNote error={rescan.error} />
    </section>
  );
}

/** Transfers failing now (not ones fixed since), newest problems first, each with what to do. */
function RecentErrors() {
  const failed = useRequest('queue:list', { state: 'failed', limit: 5, offset: 0 });
  const items = failed.data?.items ?? [];
  const total = failed.data?.total ?? 0;
  return (
    <section className="card" aria-labelledby="recent-errors">
      <div className="card__title">
        <h2 id="recent-errors">Errors</h2>
        <a href="#/queue/failed">
          {total > items.length ? `All ${total.toLocaleString()} in the queue` : 'Open the queue'}
        </a>
      </div>
      {items.length === 0 ? (
        <p className="muted">No transfer is failing.</p>
      ) : (
        <ul className="error-list">
          {items.map((e) => (
            <li key={e.id} data-testid="recent-error">
              <div className="row">
                <span className="mono truncate">{e.path}</span>
                <span className="muted small">
                  → {e.destination ?? 'source'} · {e.attempts} attempt{e.attempts === 1 ? '' : 's'}
                </span>
              </div>
              <div className="error-list__message">{e.lastError?.message ?? 'failed'}</div>
              <div className="error-list__fix">
                <strong>Fix: </strong>
                {e.lastError?.hint ?? 'check the destination, then retry it from the queue'}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function StatusPage(): React.JSX.Element {
  const status = useRequest('status:get', {}, { refetchInterval: 5_000 });
  const config = useRequest('config:get', {});
  const s = status.data;
  if (status.error) return <ErrorNote error={status.error} title="Ferry does not answer" />;
  if (!s) return <PageHeader title="Status" lead=" " />;
  if (config.data && config.data.folders.length === 0)
    return (
      <>
        <PageHeader title="Status" />
        <EmptyState
          title="Ferry is not watching any folder yet"
          action={
            <a className="btn btn--primary" href="#/folders">
              Add a folder
            </a>
          }
        >
          Pick a folder, connect a destination and write a rule that says what goes where: Ferry then ships every
          change, verified.
        </EmptyState>
      </>
    );
  return (
    <>
      <PageHeader title="Status" />
      <section className={`verdict verdict--${LEVEL_HEALTH[s.level]}`} aria-live="polite" data-testid="status-summary">
        <div>
          <p className="verdict__sentence">{s.summary}</p>
          <Needs needs={s.needs} />
        </div>
        <StatusBadge health={SERVICE_HEALTH[s.state]}>Engine {s.state}</StatusBadge>
      </section>
      {s.heldDeletions.length > 0 && <HeldDeletions held={s.heldDeletions} />}
      {s.leftBehind.length > 0 && <LeftBehind items={s.leftBehind} />}
      <OverallProgress />
      <Folders folders={s.folders} />
      <div className="grid">
        <section className="card" aria-labelledby="destinations-health">
          <div className="card__title">
            <h2 id="destinations-health">Destinations</h2>
            <a href="#/destinations">Manage</a>
          </div>
          {s.destinations.length === 0 ? (
            <p className="muted">
              No destination yet: <a href="#/destinations">connect one</a>.
            </p>
          ) : (
            <ul className="health-list">
              {s.destinations.map((d) => (
                <li key={d.id}>
                  <StatusBadge health={!d.used ? 'off' : d.ok ? 'ok' : 'error'}>
                    <strong>{d.id}</strong>{' '}
                    {!d.used
                      ? 'not used by any rule yet'
                      : d.ok
                        ? 'connected'
                        : `unavailable — ${d.error ?? 'not connected'}`}
                  </StatusBadge>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      {(s.belowQuorum.count > 0 || s.uncaught > 0) && (
        <section className="card" aria-labelledby="attention">
          <h2 id="attention">Worth a look</h2>
          <ul>
            {s.belowQuorum.count > 0 && (
              <li>
                {plural(s.belowQuorum.count, 'file')} have fewer verified copies than their rule asks for; they stay in
                place until enough destinations hold them.
              </li>
            )}
            {s.uncaught > 0 && (
              <li>
                {plural(s.uncaught, 'file')} in your folders{' '}
                {s.uncaught === 1 ? 'is caught by no rule and goes' : 'are caught by no rule and go'} nowhere:{' '}
                <a href="#/rules">review the rules</a>.
              </li>
            )}
          </ul>
        </section>
      )}
      <RecentChanges />
      <RecentErrors />
    </>
  );
}
