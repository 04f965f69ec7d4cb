import { useId, type ReactNode } from 'react';

export type ChecklistItem = { id: string; detail?: string | undefined };

/**
 * Checkboxes for folder or destination ids, each labelled by its id alone (what the config and the
 * tests name it by); a detail such as the folder's path sits beside the label. Ids the rule names but
 * the config does not know any more stay listed, so that they can be unchecked.
 */
export function IdChecklist({
  legend,
  items,
  value,
  onChange,
  help,
  error,
  empty,
}: {
  legend: string;
  items: readonly ChecklistItem[];
  value: readonly string[];
  onChange: (next: string[]) => void;
  help?: ReactNode;
  error?: string | undefined;
  empty: ReactNode;
}) {
  const base = useId();
  const known = new Set(items.map((i) => i.id));
  const all: ChecklistItem[] = [
    ...items,
    ...value.filter((v) => !known.has(v)).map((id) => ({ id, detail: 'not in the configuration' })),
  ];
  const describedBy = [help !== undefined ? `${base}-help` : '', error ? `${base}-error` : '']
    .filter(Boolean)
    .join(' ');
  const toggle = (id: string, on: boolean) =>
    // Keep the rule's order; a newly chosen id goes last.
    onChange(on ? [...value.filter((v) => v !== id), id] : value.filter((v) => v !== id));
  return (
    <fieldset
      className={`field rule-checklist${error ? ' field--invalid' : ''}`}
      aria-describedby={describedBy || undefined}
    >
      <legend className="field__label">{legend}</legend>
      {all.length === 0 ? (
        <p className="muted small rule-checklist__empty">{empty}</p>
      ) : (
        <ul className="rule-checklist__items">
          {all.map((item, i) => {
            const id = `${base}-${i}`;
            const checked = value.includes(item.id);
            return (
              <li key={item.id} className={`rule-checklist__item${checked ? ' rule-checklist__item--on' : ''}`}>
                <input
                  id={id}
                  type="checkbox"
                  checked={checked}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={item.detail ? `${id}-detail` : undefined}
                  onChange={(e) => toggle(item.id, e.target.checked)}
                />
                <label htmlFor={id} className="rule-checklist__id">
                  {item.id}
                </label>
                {item.detail && (
                  <span id={`${id}-detail`} className="rule-checklist__detail truncate" title={item.detail}>
                    {item.detail}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {help !== undefined && (
        <div className="field__help" id={`${base}-help`}>
          {help}
        </div>
      )}
      {error && (
        <div className="field__error" id={`${base}-error`} role="alert">
          {error}
        </div>
      )}
    </fieldset>
  );
}
