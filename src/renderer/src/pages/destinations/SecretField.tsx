import { useId } from 'react';
import { Field } from '../../components/ui';
import { LockIcon } from './icons';
import type { FormField } from './schemaForm';

/**
 * How a secret field is being filled: showing the reference already stored, taking a value typed once
 * (stored in the keychain on save, then forgotten), or taking a reference typed by hand (env:/file:).
 */
export type SecretMode = 'stored' | 'value' | 'ref';

type Props = {
  field: FormField;
  mode: SecretMode;
  /** The reference the config holds (or will hold), '' when none. */
  reference: string;
  /** The value typed in this session, not stored yet. Never comes from the engine. */
  pending: string;
  error: string | undefined;
  onMode: (mode: SecretMode) => void;
  onReference: (ref: string) => void;
  onPending: (value: string) => void;
  onBlur: () => void;
};

/** "Access key ID" → "access key ID", for use inside a sentence. */
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export function SecretField(props: Props): React.JSX.Element {
  const { field, mode, reference } = props;
  if (mode === 'stored' && reference !== '') return <StoredSecret {...props} />;
  const label = field.required ? field.label : `${field.label} (optional)`;
  if (mode === 'ref')
    return (
      <div className="dest-secret">
        <Field
          label={label}
          help="A reference: env:VARIABLE, file:/path/to/secret or keychain:NAME."
          error={props.error}
        >
          {(p) => (
            <input
              {...p}
              type="text"
              className="mono"
              value={reference}
              placeholder="env:MY_SECRET"
              spellCheck={false}
              autoComplete="off"
              onChange={(e) => props.onReference(e.target.value)}
              onBlur={props.onBlur}
            />
          )}
        </Field>
        <button type="button" className="btn btn--link small" onClick={() => props.onMode('value')}>
          Type the {lowerFirst(field.label)} itself instead
        </button>
      </div>
    );
  const replacing = reference !== '';
  const help = replacing
    ? `Leave it empty to keep the stored one (${reference}).`
    : [field.help, 'Kept in the keychain when you save or test; the configuration holds only a reference to it.']
        .filter(Boolean)
        .join(' ');
  return (
    <div className="dest-secret">
      <Field label={label} help={help} error={props.error}>
        {(p) =>
          field.multiline ? (
            <textarea
              {...p}
              className="dest-secret__masked"
              value={props.pending}
              spellCheck={false}
              autoComplete="off"
              placeholder={replacing ? 'Paste the new value' : 'Paste it here'}
              onChange={(e) => props.onPending(e.target.value)}
              onBlur={props.onBlur}
            />
          ) : (
            <input
              {...p}
              type="password"
              value={props.pending}
              autoComplete="new-password"
              placeholder={replacing ? 'Type the new value' : undefined}
              onChange={(e) => props.onPending(e.target.value)}
              onBlur={props.onBlur}
            />
          )
        }
      </Field>
      <div className="row">
        {replacing && (
          <button
            type="button"
            className="btn btn--link small"
            onClick={() => {
              props.onPending('');
              props.onMode('stored');
            }}
          >
            Keep the stored {lowerFirst(field.label)}
          </button>
        )}
        <button
          type="button"
          className="btn btn--link small"
          onClick={() => {
            props.onPending('');
            props.onMode('ref');
          }}
        >
          Use a reference instead (env:VAR, file:/path)
        </button>
      </div>
    </div>
  );
}

/** A secret already kept somewhere: only its reference is shown, never a value. */
function StoredSecret({ field, reference, error, onMode, onReference }: Props): React.JSX.Element {
  const id = useId();
  const where = reference.startsWith('keychain:') ? 'Stored' : 'Read from';
  return (
    <div
      className={`field${error ? ' field--invalid' : ''}`}
      role="group"
      aria-labelledby={`${id}-label`}
      aria-describedby={error ? `${id}-error` : undefined}
    >
      <span className="field__label" id={`${id}-label`}>
        {field.required ? field.label : `${field.label} (optional)`}
      </span>
      <div className="dest-secret__stored">
        <LockIcon />
        <span className="dest-secret__ref">
          {where} (<code>{reference}</code>)
        </span>
        <span className="spacer" />
        <button
          type="button"
          className="btn btn--small"
          aria-label={`Replace ${lowerFirst(field.label)}`}
          onClick={() => onMode('value')}
        >
          Replace
        </button>
        {!field.required && (
          <button
            type="button"
            className="btn btn--small"
            aria-label={`Remove ${lowerFirst(field.label)}`}
            onClick={() => {
              onReference('');
              onMode('value');
            }}
          >
            Remove
          </button>
        )}
      </div>
      {error && (
        <div className="field__error" id={`${id}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
