import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import type { FerryConfig, FolderConfig } from '../../../../shared/config';
import { Field, Note } from '../../components/ui';
import { bridge, request } from '../../lib/bridge';
import { describeProblem, problemAt, problemsUnder, useSaveConfig, type Problem } from '../../lib/config';
import { useRequest } from '../../lib/query';
import { useDebounced } from '../../lib/useDebounced';
import { folderPlaceProblem } from './folderPlace';
import { IgnorePreview } from './IgnorePreview';

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');

/** Adds a folder, or edits one (`index`): its path checked and its ignore patterns previewed as they are typed. */
export function FolderForm({ config, index, onDone }: { config: FerryConfig; index?: number; onDone: () => void }) {
  const existing = index === undefined ? undefined : config.folders[index];
  const [id, setId] = useState(existing?.id ?? '');
  const [path, setPath] = useState(existing?.path ?? '');
  const [ignore, setIgnore] = useState((existing?.ignore ?? []).join('\n'));
  const [watch, setWatch] = useState<FolderConfig['watch']>(existing?.watch ?? 'auto');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [attempted, setAttempted] = useState(false);
  // A path Ferry cannot find now may be a disk that is not plugged in: saved only when the person says so.
  const [askMissing, setAskMissing] = useState<string | undefined>();
  const { save, saving } = useSaveConfig();
  const debouncedPath = useDebounced(path.trim(), 300);
  const check = useRequest(
    'folder:check',
    { path: debouncedPath },
    { enabled: debouncedPath !== '', placeholderData: keepPreviousData },
  );
  const at = index ?? config.folders.length;
  const others = config.folders.filter((_, i) => i !== index);
  const mine = problemsUnder(problems, `folders[${at}]`);
  const idProblem =
    problemAt(mine, 'id') ??
    (id.trim() === ''
      ? attempted
        ? 'type a short name for this folder, e.g. photos'
        : undefined
      : others.some((f) => f.id === id.trim())
        ? `another folder is already called "${id.trim()}": pick another name`
        : undefined);
  const checked = debouncedPath !== '' && path.trim() === debouncedPath ? check.data : undefined;
  const placeProblem = checked?.ok ? folderPlaceProblem(checked.resolved, others) : undefined;
  const pathProblem =
    problemAt(mine, 'path') ??
    (path.trim() === '' && attempted ? 'type the path of a folder on this computer' : undefined) ??
    (checked && !checked.ok ? checked.message : placeProblem);

  /** Clears the engine's verdict on a field once the person changes it: it is about the old value. */
  const edited = (field: string) => setProblems((ps) => ps.filter((p) => p.path !== `folders[${at}].${field}`));

  const submit = async (e: { preventDefault: () => void }, missingConfirmed = false) => {
    e.preventDefault();
    setAttempted(true);
    setAskMissing(undefined);
    if (id.trim() === '' || path.trim() === '' || (idProblem && !problemAt(mine, 'id'))) return;
    // Checked again now, not from the debounced answer: what is saved is what was checked.
    let now;
    try {
      now = await request('folder:check', { path: path.trim() });
    } catch (err) {
      setAskMissing((err as Error).message);
      return;
    }
    if (now.ok) {
      if (folderPlaceProblem(now.resolved, others)) return;
    } else if (!missingConfirmed) {
      setAskMissing(now.message);
      return;
    }
    const folder: FolderConfig = {
      id: id.trim(),
      path: path.trim(),
      ignore: lines(ignore),
      paused: existing?.paused ?? false,
      watch,
    };
    const folders = [...config.folders];
    if (index === undefined) folders.push(folder);
    else folders[index] = folder;
    // A renamed folder keeps its rules.
    const rules =
      existing && existing.id !== folder.id
        ? config.rules.map((r) => ({ ...r, from: r.from.map((f) => (f === existing.id ? folder.id : f)) }))
        : config.rules;
    const result = await save({ ...config, folders, rules });
    if (result.ok) onDone();
    else setProblems(result.problems);
  };

  const other = problems.filter((p) => !p.path.startsWith(`folders[${at}]`));
  const next = { ...config, folders: [...others.slice(0, at), { id, path } as FolderConfig, ...others.slice(at)] };
  return (
    <form
      className="card stack"
      noValidate
      onSubmit={(e) => void submit(e)}
      data-testid="folder-form"
      aria-label={existing ? `Edit folder ${existing.id}` : 'Add a folder'}
    >
      <h2>{existing ? `Edit folder ${existing.id}` : 'Add a folder'}</h2>
      {other.length > 0 && (
        <Note kind="error">
          {other.map((p) => (
            <div key={p.path + p.message}>{describeProblem(next, p)}</div>
          ))}
        </Note>
      )}
      {askMissing !== undefined && (
        <div className="note note--error" role="alert" data-testid="missing-folder-confirm">
          <strong>Not saved:</strong> {askMissing}.
          <div className="row">
            <button type="button" className="btn btn--small btn--danger" onClick={(e) => void submit(e, true)}>
              Save anyway
            </button>
            <span className="muted small">
              For a disk that is not plugged in: Ferry shows the folder as missing until it is there.
            </span>
          </div>
        </div>
      )}
      <div className="form-grid">
        <Field label="ID" help="A short name rules use to refer to this folder." error={idProblem}>
          {(p) => (
            <input
              {...p}
              type="text"
              value={id}
              onChange={(e) => {
                setId(e.target.value);
                edited('id');
              }}
              autoComplete="off"
            />
          )}
        </Field>
        <Field
          label="Path"
          help={
            checked?.ok && !pathProblem
              ? `✓ ${checked.resolved}: ${checked.message}`
              : 'The folder on this machine, e.g. ~/Pictures.'
          }
          error={pathProblem}
        >
          {(p) => (
            <div className="row row--nowrap">
              <input
                {...p}
                type="text"
                value={path}
                onChange={(e) => {
                  setPath(e.target.value);
                  setAskMissing(undefined);
                  edited('path');
                }}
                spellCheck={false}
              />
              {/* The desktop app's native picker; a browser types the path. */}
              {bridge?.pickFolder && (
                <button
                  type="button"
                  className="btn"
                  onClick={() => void bridge?.pickFolder?.().then((picked) => picked && setPath(picked))}
                >
                  Choose…
                </button>
              )}
            </div>
          )}
        </Field>
      </div>
      <Field
        label="Ignore patterns"
        help="One per line, in .gitignore syntax (e.g. *.tmp, node_modules/, !keep.log). A .ferryignore file in the folder adds more."
        error={problemAt(mine, 'ignore')}
      >
        {(p) => (
          <textarea
            {...p}
            value={ignore}
            onChange={(e) => {
              setIgnore(e.target.value);
              edited('ignore');
            }}
            spellCheck={false}
            rows={4}
          />
        )}
      </Field>
      <IgnorePreview path={debouncedPath} patterns={lines(ignore)} />
      <Field
        label="Noticing changes"
        help="Native events are instant; polling suits network drives that send no events."
      >
        {(p) => (
          <select {...p} value={watch} onChange={(e) => setWatch(e.target.value as FolderConfig['watch'])}>
            <option value="auto">Automatic</option>
            <option value="native">Native events</option>
            <option value="poll">Polling</option>
          </select>
        )}
      </Field>
      <div className="row">
        <button type="submit" className="btn btn--primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save folder'}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
