import { useId } from 'react';
import { Field } from '../../components/ui';
import type { FieldValue, FormField } from './schemaForm';

type Props = {
  field: FormField;
  value: FieldValue | undefined;
  error: string | undefined;
  onChange: (value: FieldValue) => void;
  onBlur: () => void;
};

/** One generated field of the destination form: text, URL, number, choice or switch (see schemaForm.ts). */
export function SchemaField({ field, value, error, onChange, onBlur }: Props): React.JSX.Element {
  if (field.kind === 'boolean')
    return <CheckboxField field={field} checked={value === true} error={error} onChange={onChange} onBlur={onBlur} />;
  const text = typeof value === 'string' ? value : '';
  const label = field.required ? field.label : `${field.label} (optional)`;
  if (field.kind === 'enum')
    return (
      <Field label={label} help={field.help} error={error}>
        {(p) => (
          <select {...p} value={text} onChange={(e) => onChange(e.target.value)} onBlur={onBlur}>
            {field.default === undefined && <option value="">Default</option>}
            {(field.options ?? []).map((o) => (
              <option key={o} value={o}>
                {o === field.default ? `${o} (default)` : o}
              </option>
            ))}
          </select>
        )}
      </Field>
    );
  const range =
    field.kind === 'number' && field.min !== undefined && field.max !== undefined
      ? `${field.min}–${field.max}`
      : undefined;
  const help = [field.help, range && `From ${range}.`].filter(Boolean).join(' ') || undefined;
  return (
    <Field label={label} help={help} error={error}>
      {(p) => (
        <input
          {...p}
          type={field.kind === 'number' ? 'number' : field.kind === 'url' ? 'url' : 'text'}
          inputMode={field.kind === 'number' ? 'numeric' : undefined}
          min={field.min}
          max={field.max}
          step={field.integer ? 1 : undefined}
          required={field.required}
          value={text}
          placeholder={field.placeholder}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          className={field.kind === 'url' || field.name === 'id' ? 'mono' : undefined}
          onChange={(e) => onChange(e.target.value)}
          onBlur={onBlur}
        />
      )}
    </Field>
  );
}

function CheckboxField({
  field,
  checked,
  error,
  onChange,
  onBlur,
}: {
  field: FormField;
  checked: boolean;
  error: string | undefined;
  onChange: (value: boolean) => void;
  onBlur: () => void;
}): React.JSX.Element {
  const id = useId();
  const describedBy = [field.help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label className="check" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={checked}
          aria-describedby={describedBy || undefined}
          aria-invalid={error ? true : undefined}
          onChange={(e) => onChange(e.target.checked)}
          onBlur={onBlur}
        />
        <span className="field__label">{field.label}</span>
      </label>
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
    </div>
  );
}
