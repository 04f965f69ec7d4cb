import { useState } from 'react';
import type { RcloneImportOutcome, RcloneRemoteInfo } from '../../../../shared/contract';
import { ErrorNote, Field, Note } from '../../components/ui';
import { useAction } from '../../lib/query';

type Pick = { chosen: boolean; path: string };

/**
 * "Import from rclone": the remotes of an rclone config (where rclone keeps it, or a path typed), each
 * importable or with why not; the chosen ones become destinations, their secrets kept in the secret
 * store (the same as `ferry import-rclone`).
 */
export function RcloneImport({ onDone, onClose }: { onDone: (added: string[]) => void; onClose: () => void }) {
  const [path, setPath] = useState('');
  const [picks, setPicks] = useState<Record<string, Pick>>({});
  const [results, setResults] = useState<RcloneImportOutcome[] | undefined>();
  const look = useAction('rclone:remotes');
  const run = useAction('rclone:import', ['config:get', 'status:get']);
  const remotes: RcloneRemoteInfo[] = look.data?.remotes ?? [];

  const find = () => {
    setResults(undefined);
    look.mutate(path.trim() ? { path: path.trim() } : {}, {
      onSuccess: (r) =>
        setPicks(Object.fromEntries(r.remotes.map((x) => [x.name, { chosen: x.ok && !x.needsPath, path: '' }]))),
    });
  };
  const pickOf = (name: string): Pick => picks[name] ?? { chosen: false, path: '' };
  const set = (name: string, patch: Partial<Pick>) => setPicks({ ...picks, [name]: { ...pickOf(name), ...patch } });
  const chosen = remotes.filter((r) => pickOf(r.name).chosen);
  const missingPath = chosen.filter((r) => r.needsPath && pickOf(r.name).path.trim() === '');

  const submit = () => {
    const list = chosen.map((r) => (pickOf(r.name).path.trim() ? `${r.name}:${pickOf(r.name).path.trim()}` : r.name));
    run.mutate(
      { ...(path.trim() ? { path: path.trim() } : {}), remotes: list },
      {
        onSuccess: (r) => {
          setResults(r.outcomes);
          const added = r.outcomes.flatMap((o) => (o.ok ? [o.destination] : []));
          if (added.length > 0) onDone(added);
        },
      },
    );
  };

  return (
    <section className="card stack" aria-labelledby="rclone-import-title" data-testid="rclone-import">
      <h2 id="rclone-import-title">Import from rclone</h2>
      <p className="muted small">
        Your rclone remotes of the kinds Ferry has (S3 and compatibles, Google Cloud Storage, Dropbox, SFTP, FTP,
        WebDAV, local) become destinations. Passwords and keys move into Ferry&apos;s secret store; the config keeps
        only references.
      </p>
      <div className="row row--end">
        <Field label="rclone config" help="Empty: where rclone keeps it (rclone config file prints it).">
          {(p) => (
            <input
              {...p}
              type="text"
              className="mono"
              placeholder="~/.config/rclone/rclone.conf"
              value={path}
              onChange={(e) => setPath(e.target.value)}
            />
          )}
        </Field>
        <button type="button" className="btn" onClick={find} disabled={look.isPending}>
          {look.isPending ? 'Reading…' : 'Look for remotes'}
        </button>
      </div>
      <ErrorNote error={look.error} title="Cannot read the rclone config" />
      {look.data && remotes.length === 0 && <Note>{look.data.file} has no remotes.</Note>}
      {remotes.length > 0 && (
        <fieldset className="stack rclone-remotes">
          <legend className="field__label">Remotes in {look.data?.file}</legend>
          {remotes.map((r) => (
            <div key={r.name} className="rclone-remote" data-testid="rclone-remote">
              <label className="check">
                <input
                  type="checkbox"
                  disabled={!r.ok && !r.needsPath}
                  checked={pickOf(r.name).chosen}
                  onChange={(e) => set(r.name, { chosen: e.target.checked })}
                />
                <span>
                  <strong>{r.name}</strong> <span className="muted">({r.type})</span>
                  {r.ok ? ` → ${r.destinationType} destination` : ''}
                </span>
              </label>
              {!r.ok && !r.needsPath && <p className="small muted">Not imported: {r.reason}</p>}
              {r.needsPath && (
                <Field
                  label={r.type === 'local' ? `Folder for ${r.name}` : `Bucket (and folder) for ${r.name}`}
                  error={pickOf(r.name).chosen && pickOf(r.name).path.trim() === '' ? 'needed to import it' : undefined}
                >
                  {(p) => (
                    <input
                      {...p}
                      type="text"
                      className="mono"
                      placeholder={r.type === 'local' ? '/mnt/backup' : 'bucket/folder'}
                      value={pickOf(r.name).path}
                      onChange={(e) => set(r.name, { path: e.target.value })}
                    />
                  )}
                </Field>
              )}
              {r.ignored.length > 0 && (
                <ul className="small muted">
                  {r.ignored.map((i) => (
                    <li key={i.option}>
                      {i.option} is not taken: {i.reason}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          ))}
        </fieldset>
      )}
      <ErrorNote error={run.error} title="Import failed" />
      {results && (
        <ul className="stack small" aria-label="Import results" data-testid="rclone-results">
          {results.map((o) => (
            <li key={o.remote}>
              {o.ok
                ? `✓ ${o.remote} → destination “${o.destination}” (${o.destinationType})${o.secrets.length > 0 ? `, secrets kept as ${o.secrets.join(', ')}` : ''}`
                : `✗ ${o.remote}: ${o.reason}`}
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        {remotes.length > 0 && (
          <button
            type="button"
            className="btn btn--primary"
            disabled={chosen.length === 0 || missingPath.length > 0 || run.isPending}
            onClick={submit}
          >
            {run.isPending ? 'Importing…' : `Import ${chosen.length} remote${chosen.length === 1 ? '' : 's'}`}
          </button>
        )}
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}
