import { useId } from 'react';
import type { FormField, Pair } from './schemaForm';

/** A name → value map (HTTP headers): one row per entry, each input labelled for screen readers. */
export function RecordField({
  field,
  pairs,
  error,
  onChange,
}: {
  field: FormField;
  pairs: Pair[];
  error: string | undefined;
  onChange: (pairs: Pair[]) => void;
}): React.JSX.Element {
  const id = useId();
  const noun = field.name === 'headers' ? 'header' : 'entry';
  const set = (i: number, patch: Partial<Pair>) => onChange(pairs.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  const describedBy = [field.help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <fieldset
      className={`field dest-record${error ? ' field--invalid' : ''}`}
      aria-describedby={describedBy || undefined}
    >
      <legend className="field__label">{field.required ? field.label : `${field.label} (optional)`}</legend>
      {pairs.length > 0 && (
        <div className="dest-record__rows">
          {pairs.map((p, i) => (
            <div className="dest-record__row" key={i}>
              <input
                type="text"
                className="mono"
                aria-label={`${noun} ${i + 1} name`}
                placeholder="Name"
                spellCheck={false}
                value={p.key}
                onChange={(e) => set(i, { key: e.target.value })}
              />
              <input
                type="text"
                className="mono"
                aria-label={`${noun} ${i + 1} value`}
                placeholder="Value"
                spellCheck={false}
                value={p.value}
                onChange={(e) => set(i, { value: e.target.value })}
              />
              <button
                type="button"
                className="btn btn--small"
                aria-label={`Remove ${noun} ${i + 1}${p.key ? ` (${p.key})` : ''}`}
                onClick={() => onChange(pairs.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </div>
          ))}
        </div>
      )}
      <div>
        <button type="button" className="btn btn--small" onClick={() => onChange([...pairs, { key: '', value: '' }])}>
          Add {noun}
        </button>
      </div>
      {field.help && (
        <div className="field__help" id={`${id}-help`}>
          {field.help}
        </div>
      )}
      {error && (
        <div className="field__error" id={`${id}-error`} role="alert">
          {error}
        </div>
      )}
    </fieldset>
  );
}
