import { useRef, useState } from 'react';
import type { DestinationConfig, FerryConfig } from '../../../shared/config';
import { EmptyState, ErrorNote, Note, PageHeader } from '../components/ui';
import { problemsUnder, useConfig, useSaveConfig } from '../lib/config';
import { useRequest } from '../lib/query';
import { DestinationCard } from './destinations/DestinationCard';
import { DestinationForm } from './destinations/DestinationForm';
import { RcloneImport } from './destinations/RcloneImport';
import type { SaveOutcome } from './destinations/DestinationForm';
import { describeProblem, rulesUsing } from './destinations/describe';

type Editing = { kind: 'add' } | { kind: 'edit'; id: string } | { kind: 'rclone' } | null;

const isUnder = (path: string, prefix: string) =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/** Where Ferry sends files: every destination with its health, what Ferry keeps there, and its editor. */
export function DestinationsPage(): React.JSX.Element {
  const config = useConfig();
  const status = useRequest('status:get', {});
  const usage = useRequest('destination:usage', {});
  const { save } = useSaveConfig();
  const [editing, setEditing] = useState<Editing>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  const cfg = config.data;
  const destinations = cfg?.destinations ?? [];

  const open = (next: Editing) => {
    setNotice(null);
    setEditing(next);
  };
  const close = () => {
    setEditing(null);
    // Back to where the person started (the button that opened the form is gone or disabled meanwhile).
    window.setTimeout(() => addButton.current?.focus(), 0);
  };

  /** Puts the destination in place (or at the end), renaming it in rules if asked, and saves the whole config. */
  const saveDestination = async (
    current: FerryConfig,
    dest: DestinationConfig,
    replacing: string | undefined,
    renameInRules: boolean,
  ): Promise<SaveOutcome> => {
    const list = [...current.destinations];
    const found = replacing === undefined ? -1 : list.findIndex((d) => d.id === replacing);
    const index = found >= 0 ? found : list.length;
    list[index] = dest;
    const rename = renameInRules && replacing !== undefined && replacing !== dest.id;
    const rules = rename
      ? current.rules.map((r) =>
          r.to.includes(replacing) ? { ...r, to: r.to.map((t) => (t === replacing ? dest.id : t)) } : r,
        )
      : current.rules;
    const next: FerryConfig = { ...current, destinations: list, rules };
    const result = await save(next);
    if (result.ok) {
      setNotice(`Saved “${dest.id}”. Ferry uses it from now on.`);
      close();
      return { ok: true };
    }
    const prefix = `destinations[${index}]`;
    return {
      ok: false,
      fieldProblems: problemsUnder(result.problems, prefix),
      otherProblems: result.problems.filter((p) => !isUnder(p.path, prefix)).map((p) => describeProblem(next, p)),
    };
  };

  const deleteDestination = async (current: FerryConfig, id: string): Promise<string[]> => {
    const next: FerryConfig = { ...current, destinations: current.destinations.filter((d) => d.id !== id) };
    try {
      const result = await save(next);
      if (!result.ok) return result.problems.map((p) => describeProblem(next, p));
    } catch (err) {
      return [(err as Error).message];
    }
    setNotice(`Deleted “${id}”. Files already there were left as they are.`);
    window.setTimeout(() => addButton.current?.focus(), 0);
    return [];
  };

  const form = (initial: DestinationConfig | undefined) =>
    cfg && (
      <DestinationForm
        key={initial?.id ?? 'new'}
        initial={initial}
        takenIds={destinations.filter((d) => d.id !== initial?.id).map((d) => d.id)}
        usedBy={initial ? rulesUsing(cfg, initial.id) : []}
        onSave={(dest, { renameInRules }) => saveDestination(cfg, dest, initial?.id, renameInRules)}
        onCancel={close}
      />
    );

  return (
    <div className="dest-page">
      <PageHeader
        title="Destinations"
        lead="Where Ferry sends files: folders on this machine or a NAS, cloud buckets, servers. Rules pick them by ID."
        actions={
          <div className="row">
            <button
              type="button"
              className="btn"
              disabled={!cfg || editing !== null}
              onClick={() => open({ kind: 'rclone' })}
            >
              Import from rclone
            </button>
            <button
              ref={addButton}
              type="button"
              className="btn btn--primary"
              disabled={!cfg || editing !== null}
              title={editing ? 'Finish or cancel the open form first' : undefined}
              onClick={() => open({ kind: 'add' })}
            >
              Add destination
            </button>
          </div>
        }
      />

      <div className="stack">
        {notice && <Note kind="ok">{notice}</Note>}
        <ErrorNote error={config.error} title="Cannot read the configuration" />
        <ErrorNote error={status.error} title="Health unknown" />
        <ErrorNote error={usage.error} title="Usage unknown" />
        {config.isPending && (
          <p className="muted" role="status">
            Loading destinations…
          </p>
        )}

        {editing?.kind === 'add' && form(undefined)}
        {editing?.kind === 'rclone' && (
          <RcloneImport
            onDone={(added) =>
              setNotice(
                `Added ${added.map((a) => `“${a}”`).join(', ')} from rclone. Test ${added.length === 1 ? 'it' : 'each'} below before a rule sends files there.`,
              )
            }
            onClose={close}
          />
        )}

        {cfg && destinations.length === 0 && editing === null && (
          <div className="card">
            <EmptyState
              title="No destinations yet"
              action={
                <button type="button" className="btn btn--primary" onClick={() => open({ kind: 'add' })}>
                  Add a destination
                </button>
              }
            >
              Add a destination: a folder on this machine, a NAS, S3 or an S3-compatible store, Google Cloud Storage,
              Dropbox, an SFTP, FTP or WebDAV server, or an HTTP upload endpoint. Then a rule can send files there.
            </EmptyState>
          </div>
        )}

        {cfg && destinations.length > 0 && (
          <div className="dest-list">
            {destinations.map((d) =>
              editing?.kind === 'edit' && editing.id === d.id ? (
                <div key={d.id}>{form(d)}</div>
              ) : (
                <DestinationCard
                  key={d.id}
                  dest={d}
                  health={status.data?.destinations.find((s) => s.id === d.id)}
                  statusLoaded={status.data !== undefined}
                  usage={usage.data?.find((u) => u.destination === d.id)}
                  usedBy={rulesUsing(cfg, d.id)}
                  locked={editing !== null}
                  onEdit={() => open({ kind: 'edit', id: d.id })}
                  onDelete={() => deleteDestination(cfg, d.id)}
                />
              ),
            )}
          </div>
        )}
      </div>
    </div>
  );
}
