import { useEffect, useId, useRef, useState } from 'react';
import type { DestinationConfig } from '../../../../shared/config';
import type { StatusResult, UsageRow } from '../../../../shared/contract';
import { ErrorNote, Note, StatusBadge } from '../../components/ui';
import { formatBytes, formatWhen, plural } from '../../lib/format';
import { useAction } from '../../lib/query';
import { BrowsePanel } from './BrowsePanel';
import { whereItPoints } from './describe';
import { TYPE_INFO } from './schemaForm';
import { TestResult } from './TestResult';

type Health = StatusResult['destinations'][number];

type Props = {
  dest: DestinationConfig;
  /** Its line of status:get; undefined while the status loads (or before it knows the destination). */
  health: Health | undefined;
  statusLoaded: boolean;
  usage: UsageRow | undefined;
  /** Names of the rules that send here. */
  usedBy: readonly string[];
  /** Another destination is being edited or added: one form at a time, so no draft is lost. */
  locked: boolean;
  onEdit: () => void;
  /** Resolves to the engine's problems (worded for a person) when it refuses; empty when deleted. */
  onDelete: () => Promise<string[]>;
};

/** One destination: where it points, whether Ferry reaches it, what Ferry keeps there, and what to do with it. */
export function DestinationCard(props: Props): React.JSX.Element {
  const { dest, usedBy, locked } = props;
  const test = useAction('destination:test');
  const [browsing, setBrowsing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [refused, setRefused] = useState<string[]>([]);
  const browseId = useId();
  const keepButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const where = whereItPoints(dest);

  useEffect(() => {
    if (confirming) keepButton.current?.focus();
  }, [confirming]);

  const cancelDelete = () => {
    setConfirming(false);
    setRefused([]);
    deleteButton.current?.focus();
  };

  const confirmDelete = async () => {
    setDeleting(true);
    try {
      setRefused(await props.onDelete());
    } finally {
      setDeleting(false);
    }
  };

  return (
    <article className="card dest-card" data-testid="destination-card" aria-labelledby={`${browseId}-title`}>
      <div className="dest-card__head">
        <div className="dest-card__name">
          <h2 id={`${browseId}-title`} className="mono">
            {dest.id}
          </h2>
          <span className="dest-card__type">{TYPE_INFO[dest.type].label}</span>
        </div>
        <HealthBadge {...props} />
      </div>

      <p className="dest-card__where mono truncate" title={where}>
        {where}
      </p>
      {props.health?.error && <p className="dest-card__error">{props.health.error}</p>}

      <dl className="dest-card__facts">
        <div>
          <dt>Held by Ferry</dt>
          <dd>
            {props.usage && props.usage.files > 0
              ? `${plural(props.usage.files, 'file')} · ${formatBytes(props.usage.bytes)}`
              : 'Nothing shipped yet'}
          </dd>
        </div>
        <div>
          <dt>Last shipped</dt>
          <dd>{formatWhen(props.usage?.lastShippedAt)}</dd>
        </div>
        <div>
          <dt>Used by</dt>
          <dd>{usedBy.length === 0 ? 'no rule yet' : usedBy.map((r) => `“${r}”`).join(', ')}</dd>
        </div>
      </dl>

      <div className="row dest-card__actions">
        <button
          type="button"
          className="btn btn--small"
          aria-label={`Edit ${dest.id}`}
          disabled={locked}
          title={locked ? 'Finish or cancel the open form first' : undefined}
          onClick={props.onEdit}
        >
          Edit
        </button>
        <button
          type="button"
          className="btn btn--small"
          aria-label={`Test connection of ${dest.id}`}
          disabled={test.isPending}
          onClick={() => test.mutate({ destination: dest })}
        >
          Test connection
        </button>
        {dest.type !== 'http' && (
          <button
            type="button"
            className="btn btn--small"
            aria-label={`Browse ${dest.id}`}
            aria-expanded={browsing}
            aria-controls={browsing ? browseId : undefined}
            onClick={() => setBrowsing((b) => !b)}
          >
            {browsing ? 'Close browser' : 'Browse'}
          </button>
        )}
        <span className="spacer" />
        <button
          ref={deleteButton}
          type="button"
          className="btn btn--small btn--danger"
          aria-label={`Delete ${dest.id}`}
          aria-expanded={confirming}
          disabled={locked}
          onClick={() => (confirming ? cancelDelete() : setConfirming(true))}
        >
          Delete
        </button>
      </div>

      {confirming && (
        <div className="dest-confirm" role="group" aria-label={`Delete ${dest.id}?`}>
          <p>
            Delete <strong>{dest.id}</strong>? Files already there are not touched: Ferry only stops sending to it.
          </p>
          {usedBy.length > 0 && refused.length === 0 && (
            <Note kind="warn">
              {usedBy.length === 1 ? 'Rule' : 'Rules'} {usedBy.map((r) => `“${r}”`).join(', ')} still{' '}
              {usedBy.length === 1 ? 'sends' : 'send'} files here: Ferry refuses to delete a destination a rule uses.
              Take it out of {usedBy.length === 1 ? 'that rule' : 'those rules'} on the Rules page first.
            </Note>
          )}
          {refused.length > 0 && (
            <Note kind="error">
              <strong>Ferry kept {dest.id}:</strong>
              <ul className="dest-problems">
                {refused.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Note>
          )}
          <div className="row">
            <button
              type="button"
              className="btn btn--small btn--danger"
              aria-label={`Yes, delete ${dest.id}`}
              disabled={deleting}
              aria-busy={deleting}
              onClick={() => void confirmDelete()}
            >
              Yes, delete
            </button>
            <button
              ref={keepButton}
              type="button"
              className="btn btn--small"
              aria-label={`Keep ${dest.id}`}
              onClick={cancelDelete}
            >
              Keep it
            </button>
          </div>
        </div>
      )}

      <ErrorNote error={test.error} title="The test did not run" />
      <TestResult result={test.data} type={dest.type} pending={test.isPending} />

      {browsing && <BrowsePanel destination={dest.id} id={browseId} />}
    </article>
  );
}

/** Whether Ferry reaches it, in words as well as colour. */
function HealthBadge({ health, statusLoaded, usedBy }: Props): React.JSX.Element {
  if (!health) return <StatusBadge health="off">{statusLoaded ? 'Not checked yet' : 'Checking…'}</StatusBadge>;
  if (health.ok) return <StatusBadge health="ok">Connected</StatusBadge>;
  if (health.error) return <StatusBadge health="error">Cannot connect</StatusBadge>;
  if (usedBy.length === 0) return <StatusBadge health="off">Not in use</StatusBadge>;
  return <StatusBadge health="busy">Connecting…</StatusBadge>;
}
