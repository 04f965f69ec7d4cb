import { useState } from 'react';
import type { FolderStatus } from '../../../shared/events';
import { EmptyState, ErrorNote, Note, PageHeader, StatusBadge, type Health } from '../components/ui';
import { describeProblem, useConfig, useSaveConfig, type Problem } from '../lib/config';
import { formatWhen } from '../lib/format';
import { useAction, useRequest } from '../lib/query';
import { versionsHref } from './versions/versionsRoute';
import { FolderForm } from './folders/FolderForm';

const HEALTH: Record<FolderStatus['state'], Health> = {
  scanning: 'busy',
  watching: 'ok',
  syncing: 'busy',
  paused: 'paused',
  error: 'error',
};
const WATCHER: Record<NonNullable<FolderStatus['watcher']>, string> = {
  native: 'native events',
  'fs-events': "Node's watcher",
  poll: 'polling',
};

export function FoldersPage(): React.JSX.Element {
  const config = useConfig();
  const status = useRequest('status:get', {});
  const [editing, setEditing] = useState<number | 'new' | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const [problems, setProblems] = useState<Problem[]>([]);
  const { save, saving } = useSaveConfig();
  const pause = useAction('sync:pause', ['status:get']);
  const resume = useAction('sync:resume', ['status:get']);
  const cfg = config.data;

  const remove = async (id: string) => {
    if (!cfg) return;
    const result = await save({ ...cfg, folders: cfg.folders.filter((f) => f.id !== id) });
    setConfirming(undefined);
    setProblems(result.ok ? [] : result.problems);
  };

  return (
    <>
      <PageHeader
        title="Folders"
        lead="The folders Ferry watches. Rules say where their files go."
        actions={
          <button
            type="button"
            className="btn btn--primary"
            onClick={() => setEditing('new')}
            disabled={!cfg || editing !== undefined}
          >
            Add folder
          </button>
        }
      />
      <ErrorNote error={config.error ?? pause.error ?? resume.error} />
      {problems.length > 0 && (
        <Note kind="error">
          {problems.map((p) => (
            <div key={p.path + p.message}>
              {cfg ? describeProblem(cfg, p) : p.message}
              {/^rules\[\d+\]\.from/.test(p.path) && ' — remove the folder from that rule first (Rules page).'}
            </div>
          ))}
        </Note>
      )}
      {cfg && editing !== undefined && (
        <FolderForm
          config={cfg}
          {...(editing === 'new' ? {} : { index: editing })}
          onDone={() => setEditing(undefined)}
        />
      )}
      {cfg && cfg.folders.length === 0 && editing === undefined && (
        <EmptyState
          title="No folder yet"
          action={
            <button type="button" className="btn btn--primary" onClick={() => setEditing('new')}>
              Add folder
            </button>
          }
        >
          Add the folder you want Ferry to ship from — your photos, a project, a scanner&apos;s drop folder.
        </EmptyState>
      )}
      <div className="stack folder-list">
        {cfg?.folders.map((f, i) => {
          const st = status.data?.folders.find((s) => s.folder === f.id);
          const paused = st?.state === 'paused' || f.paused;
          return (
            <section key={f.id} className="card" data-testid="folder-card" aria-label={`Folder ${f.id}`}>
              <div className="card__title">
                <div className="stack folder-head">
                  <h2>{f.id}</h2>
                  <span className="mono muted truncate">{f.path}</span>
                </div>
                <div className="row">
                  <button
                    type="button"
                    className="btn btn--small"
                    aria-label={`${paused ? 'Resume' : 'Pause'} folder ${f.id}`}
                    onClick={() => (paused ? resume : pause).mutate({ folder: f.id })}
                  >
                    {paused ? 'Resume' : 'Pause'}
                  </button>
                  <a className="btn btn--small" href={versionsHref(f.id)} aria-label={`Versions of folder ${f.id}`}>
                    Versions
                  </a>
                  <button
                    type="button"
                    className="btn btn--small"
                    aria-label={`Edit folder ${f.id}`}
                    onClick={() => setEditing(i)}
                  >
                    Edit
                  </button>
                  {confirming === f.id ? (
                    <>
                      <button
                        type="button"
                        className="btn btn--small btn--danger"
                        disabled={saving}
                        onClick={() => void remove(f.id)}
                      >
                        Remove {f.id}
                      </button>
                      <button type="button" className="btn btn--small" onClick={() => setConfirming(undefined)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      className="btn btn--small btn--danger"
                      aria-label={`Remove folder ${f.id}`}
                      onClick={() => setConfirming(f.id)}
                    >
                      Remove
                    </button>
                  )}
                </div>
              </div>
              {confirming === f.id && (
                <p className="small">Ferry stops watching it; nothing is deleted, here or at the destinations.</p>
              )}
              <dl className="facts">
                <div>
                  <dt>State</dt>
                  <dd>
                    <StatusBadge health={st ? HEALTH[st.state] : 'off'}>
                      {st ? (st.error ? `${st.state}: ${st.error}` : st.state) : 'not started'}
                    </StatusBadge>
                  </dd>
                </div>
                <div>
                  <dt>Files</dt>
                  <dd>{st ? st.files.toLocaleString() : '—'}</dd>
                </div>
                <div>
                  <dt>Last scan</dt>
                  <dd>{formatWhen(st?.lastScanAt)}</dd>
                </div>
                <div>
                  <dt>Changes noticed by</dt>
                  <dd>{st?.watcher ? WATCHER[st.watcher] : '—'}</dd>
                </div>
                <div>
                  <dt>Ignored</dt>
                  <dd>{f.ignore.length === 0 ? 'only what .ferryignore files say' : f.ignore.join(', ')}</dd>
                </div>
                <div>
                  <dt>Rules</dt>
                  <dd>
                    {cfg.rules
                      .filter((r) => r.from.includes(f.id))
                      .map((r) => r.name)
                      .join(', ') || 'none yet'}
                  </dd>
                </div>
              </dl>
            </section>
          );
        })}
      </div>
    </>
  );
}
