import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useRef, useState } from 'react';
import type { RuleConfig } from '../../../../shared/config';
import { describeCondition, describeQuorum } from './ruleSummary';

/**
 * One rule in the ordered list: what it sends where and how, a drag handle (pointer or keyboard),
 * move buttons, edit, and delete behind a small inline confirmation.
 */
export function RuleCard({
  rule,
  index,
  count,
  busy,
  onEdit,
  onDelete,
  onMove,
}: {
  rule: RuleConfig;
  index: number;
  count: number;
  /** A save is under way: the order cannot change until it is done. */
  busy: boolean;
  onEdit: () => void;
  onDelete: () => void;
  onMove: (step: -1 | 1) => void;
}) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({
    id: rule.name,
    disabled: busy,
  });
  const [confirming, setConfirming] = useState(false);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const name = rule.name;
  const cancelDelete = () => {
    setConfirming(false);
    deleteButton.current?.focus();
  };
  const quorum = describeQuorum(rule);
  const customMatch = !(rule.match.length === 1 && rule.match[0] === '**');
  const twoWay = rule.mode === 'two-way';
  // Move buttons stay focusable while a save runs (a disabled button would drop the focus): they wait instead.
  const move = (step: -1 | 1) => {
    if (!busy) onMove(step);
  };

  return (
    <li
      ref={setNodeRef}
      style={{ transform: CSS.Translate.toString(transform), transition }}
      className={`card rule-card${isDragging ? ' rule-card--dragging' : ''}`}
      data-testid="rule-card"
      data-rule={name}
    >
      <button
        ref={setActivatorNodeRef}
        type="button"
        className="rule-card__handle"
        aria-label={`Reorder rule ${name}`}
        title="Drag to reorder (or focus and press Space, then the arrow keys)"
        {...attributes}
        {...listeners}
      >
        <span aria-hidden="true">⠿</span>
      </button>

      <div className="rule-card__main">
        <div className="rule-card__title">
          <span className="rule-card__order" title={`Tried ${ordinal(index + 1)}`}>
            <span className="visually-hidden">Rule </span>
            {index + 1}
            <span className="visually-hidden"> of {count}:</span>
          </span>
          <h2 className="rule-card__name">{name}</h2>
          <span className={`rule-badge rule-badge--${rule.mode}`}>{rule.mode}</span>
          {rule.stop && (
            <span className="rule-badge rule-badge--stop" title="Files caught here are not offered to the rules below">
              stop
            </span>
          )}
        </div>

        <p className="rule-card__route">
          <span className="visually-hidden">From </span>
          {rule.from.map((f) => (
            <span key={f} className="rule-chip rule-chip--folder">
              {f}
            </span>
          ))}
          <span className="rule-card__arrow" aria-hidden="true" title={twoWay ? 'Both ways' : undefined}>
            {twoWay ? '⇄' : '→'}
          </span>
          <span className="visually-hidden">{twoWay ? ' kept equal with ' : ' to '}</span>
          {rule.to.map((d) => (
            <span key={d} className="rule-chip rule-chip--dest">
              {d}
            </span>
          ))}
        </p>

        <dl className="rule-card__facts">
          <div>
            <dt>Path</dt>
            <dd>
              <code>{rule.path}</code>
            </dd>
          </div>
          {customMatch && (
            <div>
              <dt>Match</dt>
              <dd>{rule.match.join(', ')}</dd>
            </div>
          )}
          {rule.exclude.length > 0 && (
            <div>
              <dt>Exclude</dt>
              <dd>{rule.exclude.join(', ')}</dd>
            </div>
          )}
          {rule.when && (
            <div>
              <dt>When</dt>
              <dd>{describeCondition(rule.when)}</dd>
            </div>
          )}
          {rule.remote_exclude.length > 0 && (
            <div>
              <dt>Not brought home</dt>
              <dd className="rule-card__tags" title="Selective sync: these stay at the destination">
                {rule.remote_exclude.map((g) => (
                  <code key={g}>{g}</code>
                ))}
              </dd>
            </div>
          )}
          {rule.compress && (
            <div>
              <dt>Compress</dt>
              <dd>{rule.compress}</dd>
            </div>
          )}
          {quorum && (
            <div>
              <dt>Quorum</dt>
              <dd>{quorum}</dd>
            </div>
          )}
          {rule.tags.length > 0 && (
            <div>
              <dt>Tags</dt>
              <dd className="rule-card__tags">
                {rule.tags.map((t) => (
                  <span key={t} className="rule-tag rule-tag--static">
                    {t}
                  </span>
                ))}
              </dd>
            </div>
          )}
        </dl>
      </div>

      <div className="rule-card__actions">
        <div className="rule-card__moves">
          <button
            type="button"
            className="btn btn--small"
            data-move="up"
            aria-label={`Move rule ${name} up`}
            title="Move up"
            disabled={index === 0}
            aria-disabled={busy || undefined}
            onClick={() => move(-1)}
          >
            ↑
          </button>
          <button
            type="button"
            className="btn btn--small"
            data-move="down"
            aria-label={`Move rule ${name} down`}
            title="Move down"
            disabled={index === count - 1}
            aria-disabled={busy || undefined}
            onClick={() => move(1)}
          >
            ↓
          </button>
        </div>
        <button
          type="button"
          className="btn btn--small"
          data-action="edit"
          aria-label={`Edit rule ${name}`}
          onClick={onEdit}
        >
          Edit
        </button>
        <button
          ref={deleteButton}
          type="button"
          className="btn btn--small btn--danger"
          aria-label={`Delete rule ${name}`}
          disabled={busy}
          onClick={() => setConfirming(true)}
        >
          Delete
        </button>
      </div>

      {confirming && (
        <div
          className="rule-card__confirm"
          role="group"
          aria-label={`Confirm deleting rule ${name}`}
          onKeyDown={(e) => {
            if (e.key === 'Escape') cancelDelete();
          }}
        >
          <span>
            Delete rule <strong>{name}</strong>? Files it already shipped stay where they are.
          </span>
          <span className="spacer" />
          <button
            type="button"
            className="btn btn--small btn--danger"
            disabled={busy}
            onClick={() => {
              setConfirming(false);
              onDelete();
            }}
          >
            Yes, delete
          </button>
          <button type="button" className="btn btn--small" autoFocus onClick={cancelDelete}>
            Cancel
          </button>
        </div>
      )}
    </li>
  );
}

const ordinal = (n: number) => {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
};
