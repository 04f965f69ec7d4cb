import type { StatusResult } from '../../../shared/contract';
import type { FolderState, ServiceState } from '../../../shared/events';
import { parseBrakeSite } from '../../../shared/models';
import { EmptyState, ErrorNote, PageHeader, StatusBadge, type Health } from '../components/ui';
import { formatBytes, formatEta, formatRate, formatWhen, plural } from '../lib/format';
import { useThroughput } from '../lib/progress';
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

function verdict(s: StatusResult): Health {
  if (s.heldDeletions.length > 0) return 'error';
  if (s.destinations.some((d) => d.used && !d.ok) || s.folders.some((f) => f.state === 'error') || s.queue.failed > 0)
    return 'error';
  if (s.state === 'paused') return 'paused';
  if (s.queue.pending + s.queue.active > 0 || s.state === 'syncing' || s.state === 'starting') return 'busy';
  if (s.belowQuorum.count > 0) return 'warn';
  return 'ok';
}

function Figures({ s }: { s: StatusResult }) {
  const rate = useThroughput();
  const left = s.queue.pending + s.queue.active;
  return (
    <dl className="figures">
      <div className="figure">
        <dt>Throughput</dt>
        <dd>{formatRate(rate)}</dd>
      </div>
      <div className="figure">
        <dt>Time left</dt>
        <dd>{left === 0 ? '—' : formatEta(s.queue.bytesPending, rate)}</dd>
      </div>
      <div className="figure">
        <dt>Files left</dt>
        <dd>{left.toLocaleString()}</dd>
      </div>
      <div className="figure">
        <dt>Bytes left</dt>
        <dd>{formatBytes(s.queue.bytesPending)}</dd>
      </div>
    </dl>
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
      <section className={`verdict verdict--${verdict(s)}`} aria-live="polite" data-testid="status-summary">
        <p className="verdict__sentence">{s.summary}</p>
        <StatusBadge health={SERVICE_HEALTH[s.state]}>Engine {s.state}</StatusBadge>
      </section>
      {s.heldDeletions.length > 0 && <HeldDeletions held={s.heldDeletions} />}
      <Figures s={s} />
      <div className="grid">
        <section className="card" aria-labelledby="folders-health">
          <div className="card__title">
            <h2 id="folders-health">Folders</h2>
            <a href="#/folders">Manage</a>
          </div>
          <table className="table">
            <thead>
              <tr>
                <th>Folder</th>
                <th>State</th>
                <th className="num">Files</th>
                <th>Last scan</th>
              </tr>
            </thead>
            <tbody>
              {s.folders.map((f) => (
                <tr key={f.folder}>
                  <td>{f.folder}</td>
                  <td>
                    <StatusBadge health={FOLDER_HEALTH[f.state]}>
                      {f.error ? `${f.state}: ${f.error}` : f.state}
                    </StatusBadge>
                  </td>
                  <td className="num">{f.files.toLocaleString()}</td>
                  <td>{formatWhen(f.lastScanAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
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
      <RecentErrors />
    </>
  );
}
