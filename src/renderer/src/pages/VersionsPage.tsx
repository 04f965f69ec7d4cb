import { useMemo, useState } from 'react';
import type { RestoredItem, VersionFile, VersionItem } from '../../../shared/contract';
import { momentAt } from '../../../shared/versions';
import { EmptyState, ErrorNote, Field, PageHeader } from '../components/ui';
import { useConfig } from '../lib/config';
import { formatBytes, formatWhen, plural } from '../lib/format';
import { useAction, useRequest } from '../lib/query';
import { fromLocalInput, toLocalInput, versionsHref, versionsTarget } from './versions/versionsRoute';

const CAUSE: Record<VersionItem['cause'], string> = {
  replaced: 'replaced by a sync from this computer',
  deleted: 'deleted by a sync from this computer',
  restore: 'replaced by a restore',
};

type Outcome = { at: number; restored: RestoredItem[] } | { error: string; hint?: string | undefined };

/** What restoring `files` as they were at `at` would do, file by file (the engine decides the same way). */
function preview(files: readonly VersionFile[], at: number) {
  const seen = new Set<string>();
  return files.flatMap((f) => {
    if (seen.has(f.path)) return [];
    seen.add(f.path);
    const m = momentAt(f.versions, f.current, at);
    if (m.kind === 'absent') return [{ path: f.path, what: 'did not exist then: left as it is' }];
    if (m.kind === 'current') return [{ path: f.path, what: 'unchanged since: nothing to bring back' }];
    return [
      {
        path: f.path,
        what: `back to the version kept ${formatWhen(m.version.keptAt)} (${formatBytes(m.version.size)})`,
      },
    ];
  });
}

/**
 * A file's or a folder's timeline of kept versions (what mirror and two-way passes replaced or
 * deleted at the destinations), "restore this version", and "restore the folder as it was at…" with a
 * preview of what would change. Restores are verified by checksum and keep the current files first.
 */
export function VersionsPage(): React.JSX.Element {
  const config = useConfig();
  const initial = useMemo(versionsTarget, []);
  const folders = config.data?.folders ?? [];
  const [folder, setFolder] = useState(initial.folder ?? '');
  const [path, setPath] = useState(initial.path);
  const [shown, setShown] = useState({ folder: initial.folder ?? '', path: initial.path });
  const chosen = shown.folder || folders[0]?.id || '';
  const list = useRequest('versions:list', { folder: chosen, path: shown.path }, { enabled: chosen !== '' });
  const restore = useAction('versions:restore', ['versions:list', 'history:query']);
  const [at, setAt] = useState(() => toLocalInput(Date.now() - 3_600_000));
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const files = list.data?.items ?? [];
  const atMs = fromLocalInput(at);

  const run = (paths: string[], when: number) => {
    setOutcome(null);
    restore.mutate(
      { folder: chosen, paths, at: when },
      {
        onSuccess: (r) => setOutcome(r),
        onError: (err) => setOutcome({ error: err.message, hint: err.hint }),
      },
    );
  };

  return (
    <>
      <PageHeader
        title="Versions"
        lead="What mirror and two-way rules replaced or deleted at their destinations, kept there: bring a file or a folder back as it was."
      />
      <form
        className="card versions-pick"
        aria-label="Which file or folder"
        onSubmit={(e) => {
          e.preventDefault();
          window.history.replaceState(null, '', versionsHref(folder || chosen, path));
          setShown({ folder: folder || chosen, path });
        }}
      >
        <Field label="Folder">
          {(p) => (
            <select {...p} value={folder || chosen} onChange={(e) => setFolder(e.target.value)}>
              {folders.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.id}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="File or folder inside it" help="Empty for the whole folder">
          {(p) => <input {...p} className="mono" value={path} onChange={(e) => setPath(e.target.value)} />}
        </Field>
        <button type="submit" className="btn">
          Show versions
        </button>
      </form>
      <ErrorNote error={list.error} title="The versions could not be listed" />
      {outcome &&
        ('error' in outcome ? (
          <div className="note note--error" role="alert" data-testid="restore-result">
            Nothing was restored: {outcome.error}
            {outcome.hint && <div className="note__hint">{outcome.hint}</div>}
          </div>
        ) : (
          <div className="note note--ok" role="status" data-testid="restore-result">
            Restored {plural(outcome.restored.filter((r) => !r.unchanged).length, 'file')} as they were{' '}
            {formatWhen(outcome.at)}, each verified by its SHA-256
            {outcome.restored.some((r) => r.keptCurrent) ? '; the files they replaced are kept as versions' : ''}.
            <ul className="versions-restored">
              {outcome.restored.map((r) => (
                <li key={r.path} className="mono">
                  {r.path} {r.unchanged ? '(already so)' : `← ${r.from}`}
                </li>
              ))}
            </ul>
          </div>
        ))}
      {restore.isPending && (
        <p className="muted" role="status">
          Restoring: downloading and checking each file…
        </p>
      )}
      {list.isPending && chosen !== '' ? (
        <p className="muted" role="status">
          Looking for versions…
        </p>
      ) : files.length === 0 ? (
        !list.error && (
          <div className="card">
            <EmptyState title="No versions here">
              Nothing below this path was shipped to a destination that keeps versions, or nothing was replaced or
              deleted yet.
            </EmptyState>
          </div>
        )
      ) : (
        <>
          <section className="card" aria-label="Restore as it was at a moment">
            <h2>Restore {shown.path ? shown.path : `folder ${chosen}`} as it was at…</h2>
            <div className="row">
              <Field label="Moment">
                {(p) => (
                  <input {...p} type="datetime-local" step={1} value={at} onChange={(e) => setAt(e.target.value)} />
                )}
              </Field>
            </div>
            {atMs !== undefined && (
              <ul className="versions-preview" aria-label="What would change" data-testid="restore-preview">
                {preview(files, atMs).map((p) => (
                  <li key={p.path}>
                    <span className="mono">{p.path}</span>: {p.what}
                  </li>
                ))}
              </ul>
            )}
            <button
              type="button"
              className="btn btn--primary"
              disabled={atMs === undefined || restore.isPending}
              onClick={() => atMs !== undefined && run([shown.path], atMs)}
            >
              Restore as it was then
            </button>
          </section>
          {files.map((f) => (
            <section
              key={`${f.path}\u0000${f.destination}`}
              className="card"
              data-testid="version-file"
              aria-label={`Versions of ${f.path}`}
            >
              <div className="card__title">
                <h2 className="mono truncate">{f.path}</h2>
                <span className="muted">at {f.destination}</span>
              </div>
              <ol className="versions-timeline">
                {f.current && (
                  <li>
                    <span>Now, since {formatWhen(f.current.shippedAt)}</span>
                    <span className="muted">{formatBytes(f.current.size)}</span>
                    <span className="mono muted">{f.current.sha256.slice(0, 12)}</span>
                  </li>
                )}
                {f.versions.map((v) => (
                  <li key={v.location} data-testid="version">
                    <span>
                      {formatWhen(v.keptAt)} · {CAUSE[v.cause]}
                    </span>
                    <span className="muted">{formatBytes(v.size)}</span>
                    <span className="mono muted">{v.sha256 ? v.sha256.slice(0, 12) : 'hash unknown'}</span>
                    <button
                      type="button"
                      className="btn btn--small"
                      disabled={restore.isPending}
                      aria-label={`Restore this version of ${f.path}, kept ${formatWhen(v.keptAt)}`}
                      onClick={() => run([f.path], v.keptAt - 1)}
                    >
                      Restore this version
                    </button>
                  </li>
                ))}
              </ol>
            </section>
          ))}
        </>
      )}
    </>
  );
}
