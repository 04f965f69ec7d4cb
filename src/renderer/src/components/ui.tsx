import { useId, type ReactNode } from 'react';
import type { BridgeError } from '../../../shared/bridge';

export function PageHeader({ title, lead, actions }: { title: string; lead?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1 className="page-header__title">{title}</h1>
        {lead !== undefined && <p className="page-header__lead">{lead}</p>}
      </div>
      {actions !== undefined && <div className="page-header__actions">{actions}</div>}
    </header>
  );
}

/** What to do next when there is nothing to show yet. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <p className="empty__title">{title}</p>
      {children !== undefined && <p className="empty__body">{children}</p>}
      {action !== undefined && <div className="empty__action">{action}</div>}
    </div>
  );
}

/** A failed request: what happened and, when the engine knows, what to do about it. */
export function ErrorNote({ error, title }: { error: BridgeError | Error | null | undefined; title?: string }) {
  if (!error) return null;
  const hint = 'hint' in error ? error.hint : undefined;
  return (
    <div className="note note--error" role="alert">
      {title !== undefined && <strong>{title}: </strong>}
      {error.message}
      {hint && <div className="note__hint">{hint}</div>}
    </div>
  );
}

export function Note({ kind = 'info', children }: { kind?: 'info' | 'ok' | 'warn' | 'error'; children: ReactNode }) {
  return (
    <div className={`note note--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export type Health = 'ok' | 'busy' | 'paused' | 'warn' | 'error' | 'off';

/** A coloured dot that is never the only carrier of meaning: the label says it too. */
export function StatusBadge({ health, children }: { health: Health; children: ReactNode }) {
  return (
    <span className={`badge badge--${health}`}>
      <span className="badge__dot" aria-hidden="true" />
      {children}
    </span>
  );
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={value}
    >
      <div className="progress__fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

/** A labelled form field with its help text and its validation message wired for screen readers. */
export function Field({
  label,
  help,
  error,
  children,
}: {
  label: string;
  help?: ReactNode;
  error?: string | undefined;
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [help !== undefined ? helpId : '', error ? errorId : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {children({
        id,
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
        ...(error ? { 'aria-invalid': true } : {}),
      })}
      {help !== undefined && (
        <div className="field__help" id={helpId}>
          {help}
        </div>
      )}
      {error && (
        <div className="field__error" id={errorId} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

/** Accessible tabs (arrow keys move between them, as ARIA's tabs pattern says). */
export function Tabs<T extends string>({
  label,
  tabs,
  value,
  onChange,
}: {
  label: string;
  tabs: { id: T; label: ReactNode }[];
  value: T;
  onChange: (id: T) => void;
}) {
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t, i) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === value}
          tabIndex={t.id === value ? 0 : -1}
          className={`tabs__tab${t.id === value ? ' tabs__tab--active' : ''}`}
          onClick={() => onChange(t.id)}
          onKeyDown={(e) => {
            const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
            if (step === 0) return;
            e.preventDefault();
            const next = tabs[(i + step + tabs.length) % tabs.length];
            if (next) {
              onChange(next.id);
              document.getElementById(`tab-${next.id}`)?.focus();
            }
          }}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
