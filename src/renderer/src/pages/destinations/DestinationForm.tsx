import { useEffect, useId, useRef, useState } from 'react';
import { BridgeError } from '../../../../shared/bridge';
import type { DestinationConfig, DestinationType } from '../../../../shared/config';
import type { DestinationTestResult } from '../../../../shared/contract';
import { ErrorNote, Field, Note } from '../../components/ui';
import { request } from '../../lib/bridge';
import type { Problem } from '../../lib/config';
import { RecordField } from './RecordField';
import { SchemaField } from './SchemaField';
import {
  DESTINATION_TYPES,
  TYPE_INFO,
  changeType,
  fieldOfPath,
  fieldsFor,
  initialValues,
  isDestinationType,
  offeredHostKey,
  secretName,
  validateValues,
  valuesFromDestination,
} from './schemaForm';
import type { FieldValue, FormField, FormValues, Pair } from './schemaForm';
import { DropboxConnect } from './DropboxConnect';
import { SecretField } from './SecretField';
import type { SecretMode } from './SecretField';
import { storeSecrets } from './secrets';
import { TestResult } from './TestResult';

/** What the page answers when the form asks it to save: the engine's problems, sorted for the form. */
export type SaveOutcome =
  | { ok: true }
  | {
      ok: false;
      /** Problems under this destination, their paths relative to it (`bucket`, `headers.X`, ``). */
      fieldProblems: Problem[];
      /** Problems elsewhere in the configuration, already worded for a person. */
      otherProblems: string[];
    };

type Props = {
  /** The saved destination being edited; undefined when adding one. */
  initial: DestinationConfig | undefined;
  /** The other destinations' ids (an id must be unique). */
  takenIds: readonly string[];
  /** Names of the rules that send to the destination being edited. */
  usedBy: readonly string[];
  onSave: (dest: DestinationConfig, opts: { renameInRules: boolean }) => Promise<SaveOutcome>;
  onCancel: () => void;
};

function secretModes(type: DestinationType | undefined, values: FormValues): Record<string, SecretMode> {
  const modes: Record<string, SecretMode> = {};
  if (type)
    for (const f of fieldsFor(type)) if (f.kind === 'secret') modes[f.name] = values[f.name] ? 'stored' : 'value';
  return modes;
}

const str = (v: FieldValue | undefined) => (typeof v === 'string' ? v.trim() : '');

/**
 * Add or edit one destination: choose the type, then fill the fields the config schema gives it.
 * Typed secrets go to the keychain (only references reach the config); the engine's verdict on
 * save lands on the field it is about; the draft survives any failure.
 */
export function DestinationForm({ initial, takenIds, usedBy, onSave, onCancel }: Props): React.JSX.Element {
  const titleId = useId();
  const formRef = useRef<HTMLFormElement>(null);
  const firstInput = useRef<HTMLSelectElement>(null);
  const [type, setType] = useState<DestinationType | undefined>(initial?.type);
  const [values, setValues] = useState<FormValues>(() => (initial ? valuesFromDestination(initial) : {}));
  const [pending, setPending] = useState<Record<string, string>>({});
  const [modes, setModes] = useState<Record<string, SecretMode>>(() => secretModes(type, values));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [otherProblems, setOtherProblems] = useState<string[]>([]);
  const [failure, setFailure] = useState<{ error: BridgeError; title: string } | null>(null);
  const [busy, setBusy] = useState<'save' | 'test' | null>(null);
  const [test, setTest] = useState<DestinationTestResult | undefined>();
  // The draft the last test ran on: a failed test holds a save of that same draft until the person confirms.
  const [testedWith, setTestedWith] = useState<string | undefined>();
  const [askFailedTest, setAskFailedTest] = useState(false);
  const [renameInRules, setRenameInRules] = useState(true);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [focusRequest, setFocusRequest] = useState(0);

  const editing = initial !== undefined;
  useEffect(() => {
    // Adding starts at the type chooser; editing at the first field.
    if (editing) formRef.current?.querySelector<HTMLInputElement>('input')?.focus();
    else firstInput.current?.focus();
  }, [editing]);

  const fields = type ? fieldsFor(type) : [];
  /** Fields whose value was typed in this session and will be stored before saving or testing. */
  const typedSecrets = Object.keys(pending).filter((k) => pending[k] !== '' && modes[k] === 'value');
  // Cheap (one safeParse of a small object): checked on every change for instant messages.
  const validation = type ? validateValues(type, values, { pendingSecrets: typedSecrets, takenIds }) : undefined;
  const errorOf = (name: string): string | undefined =>
    serverErrors[name] ?? (touched.has(name) || submitted ? validation?.errors[name] : undefined);

  const id = str(values.id);
  const renamed = initial !== undefined && id !== '' && id !== initial.id;

  const edit = (name: string, value: FieldValue) => {
    setValues((v) => ({ ...v, [name]: value }));
    setServerErrors(({ [name]: _, ...rest }) => rest);
  };
  const touch = (name: string) => setTouched((t) => (t.has(name) ? t : new Set(t).add(name)));

  const chooseType = (next: string) => {
    if (!isDestinationType(next)) return;
    const nextValues = type ? changeType(values, type, next) : { ...initialValues(next), id: values.id ?? '' };
    setType(next);
    setValues(nextValues);
    setModes(secretModes(next, nextValues));
    setPending({});
    setTest(undefined);
    setServerErrors({});
  };

  /** Moves focus to the first field with a message (opening "More options" if it is in there). */
  const focusFirstProblem = (names: string[]) => {
    if (fields.some((f) => f.advanced && names.includes(f.name))) setAdvancedOpen(true);
    setFocusRequest((n) => n + 1);
  };
  useEffect(() => {
    // After the render that shows the messages: the first of them, or the note above the form.
    if (focusRequest === 0) return;
    const el = formRef.current?.querySelector<HTMLElement>('.note--error, [aria-invalid="true"]');
    if (!el) return;
    if (!el.matches('input, select, textarea, button')) el.setAttribute('tabindex', '-1');
    el.focus();
  }, [focusRequest]);

  /**
   * The draft as a config object, once it is valid and its typed secrets are stored (their values are
   * then dropped from the form: only the references remain).
   */
  const prepare = async (): Promise<DestinationConfig | undefined> => {
    setSubmitted(true);
    setFailure(null);
    if (!type || !validation?.config) {
      focusFirstProblem(Object.keys(validation?.errors ?? {}));
      return undefined;
    }
    const refs: Record<string, string> = {};
    const toStore = Object.fromEntries(typedSecrets.map((k) => [k, pending[k] ?? '']));
    try {
      await storeSecrets(id, toStore, (field, ref) => {
        refs[field] = ref;
        setValues((v) => ({ ...v, [field]: ref }));
        setPending(({ [field]: _, ...rest }) => rest);
        setModes((m) => ({ ...m, [field]: 'stored' }));
      });
    } catch (err) {
      setFailure({ error: BridgeError.from(err), title: 'The secret was not stored' });
      focusFirstProblem([]);
      return undefined;
    }
    return validateValues(type, { ...values, ...refs }, { takenIds }).config;
  };

  const save = async (confirmed = false) => {
    if (busy) return;
    setBusy('save');
    setOtherProblems([]);
    setAskFailedTest(false);
    try {
      const dest = await prepare();
      if (!dest) return;
      if (!confirmed && test && !test.ok && testedWith === JSON.stringify(dest)) {
        setAskFailedTest(true);
        focusFirstProblem([]);
        return;
      }
      const outcome = await onSave(dest, { renameInRules: renamed && renameInRules });
      if (outcome.ok) return;
      const known = new Set(fields.map((f) => f.name));
      const onFields: Record<string, string> = {};
      const elsewhere: string[] = [];
      for (const p of outcome.fieldProblems) {
        const name = fieldOfPath(p.path);
        if (known.has(name)) onFields[name] ??= p.message;
        else elsewhere.push(p.path ? `${p.path}: ${p.message}` : p.message);
      }
      setServerErrors(onFields);
      setOtherProblems([...elsewhere, ...outcome.otherProblems]);
      focusFirstProblem(Object.keys(onFields));
    } catch (err) {
      setFailure({ error: BridgeError.from(err), title: 'Not saved' });
      focusFirstProblem([]);
    } finally {
      setBusy(null);
    }
  };

  const runTest = async () => {
    if (busy) return;
    setBusy('test');
    setTest(undefined);
    setAskFailedTest(false);
    try {
      const dest = await prepare();
      if (dest) {
        setTest(await request('destination:test', { destination: dest }));
        setTestedWith(JSON.stringify(dest));
      }
    } catch (err) {
      setFailure({ error: BridgeError.from(err), title: 'The test did not run' });
    } finally {
      setBusy(null);
    }
  };

  const hostKey = test && type === 'sftp' && str(values.host_key) === '' ? offeredHostKey(test.message) : undefined;
  const main = fields.filter((f) => !f.advanced);
  const advanced = fields.filter((f) => f.advanced);
  const advancedErrors = advanced.filter((f) => errorOf(f.name)).length;

  const renderField = (f: FormField) => {
    const wide = f.kind === 'record' || f.kind === 'secret' || f.name === 'url' || f.name === 'path';
    let input: React.JSX.Element;
    const secretField = () => (
      <SecretField
        field={f}
        mode={modes[f.name] ?? 'value'}
        reference={str(values[f.name])}
        pending={pending[f.name] ?? ''}
        error={errorOf(f.name)}
        onMode={(m) => setModes((s) => ({ ...s, [f.name]: m }))}
        onReference={(ref) => edit(f.name, ref)}
        onPending={(value) => {
          setPending((p) => ({ ...p, [f.name]: value }));
          setServerErrors(({ [f.name]: _, ...rest }) => rest);
        }}
        onBlur={() => touch(f.name)}
      />
    );
    if (f.kind === 'secret' && type === 'dropbox' && f.name === 'refresh_token')
      input = (
        <div className="stack">
          <DropboxConnect
            appKey={str(values.app_key)}
            endpoint={str(values.endpoint)}
            secret={id === '' ? '' : secretName(id, f.name)}
            connected={str(values[f.name]) !== ''}
            onConnected={(ref) => {
              edit(f.name, ref);
              setPending(({ [f.name]: _, ...rest }) => rest);
              setModes((m) => ({ ...m, [f.name]: 'stored' }));
            }}
          />
          {secretField()}
        </div>
      );
    else if (f.kind === 'secret') input = secretField();
    else if (f.kind === 'record')
      input = (
        <RecordField
          field={f}
          pairs={Array.isArray(values[f.name]) ? (values[f.name] as Pair[]) : []}
          error={errorOf(f.name)}
          onChange={(pairs) => edit(f.name, pairs)}
        />
      );
    else
      input = (
        <SchemaField
          field={f}
          value={values[f.name]}
          error={errorOf(f.name)}
          onChange={(v) => edit(f.name, v)}
          onBlur={() => touch(f.name)}
        />
      );
    return (
      <div key={f.name} className={wide ? 'dest-form__wide' : undefined}>
        {input}
      </div>
    );
  };

  return (
    <form
      ref={formRef}
      className="card dest-form"
      data-testid="destination-form"
      aria-labelledby={titleId}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <div className="card__title">
        <h2 id={titleId}>{initial ? `Edit “${initial.id}”` : 'Add a destination'}</h2>
      </div>

      <div className="stack">
        {failure && <ErrorNote error={failure.error} title={failure.title} />}
        {otherProblems.length > 0 && (
          <Note kind="error">
            <strong>Ferry did not save this:</strong>
            <ul className="dest-problems">
              {otherProblems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </Note>
        )}
        {errorOf('') && <Note kind="error">{errorOf('')}</Note>}
        {askFailedTest && test && !test.ok && (
          <div className="note note--error" role="alert" data-testid="failed-test-confirm">
            <strong>Not saved: the connection test failed.</strong> {test.message}
            {test.hint && <div className="note__hint">{test.hint}</div>}
            <div className="row">
              <button type="button" className="btn btn--small btn--danger" onClick={() => void save(true)}>
                Save anyway
              </button>
              <span className="muted small">Ferry will keep trying it and show it as failing until it answers.</span>
            </div>
          </div>
        )}

        <div className="dest-form__type">
          <Field
            label="Type"
            help={type ? `${TYPE_INFO[type].label}: ${TYPE_INFO[type].blurb}` : 'Where should Ferry send files?'}
          >
            {(p) => (
              <select {...p} ref={firstInput} value={type ?? ''} onChange={(e) => chooseType(e.target.value)}>
                {!type && <option value="">Choose a type…</option>}
                {DESTINATION_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {TYPE_INFO[t].label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>

        {type && (
          <>
            <div className="dest-form__fields">{main.map(renderField)}</div>

            {renamed && usedBy.length > 0 && (
              <Note kind="warn">
                <label className="check">
                  <input type="checkbox" checked={renameInRules} onChange={(e) => setRenameInRules(e.target.checked)} />
                  Also rename it in the {usedBy.length === 1 ? 'rule' : `${usedBy.length} rules`} that send here (
                  {usedBy.map((r) => `“${r}”`).join(', ')})
                </label>
                {!renameInRules && (
                  <div className="note__hint">
                    Those rules still name “{initial?.id}”: Ferry will refuse the change until they are updated.
                  </div>
                )}
              </Note>
            )}

            {advanced.length > 0 && (
              <details
                className="dest-form__more"
                open={advancedOpen}
                onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}
              >
                <summary>
                  More options
                  {advancedErrors > 0 && (
                    <span className="dest-form__more-errors">
                      {' '}
                      ({advancedErrors} {advancedErrors === 1 ? 'problem' : 'problems'})
                    </span>
                  )}
                </summary>
                <div className="dest-form__fields">{advanced.map(renderField)}</div>
              </details>
            )}

            <TestResult
              result={test}
              type={type}
              pending={busy === 'test'}
              action={
                hostKey && (
                  <div className="row">
                    <button type="button" className="btn btn--small" onClick={() => edit('host_key', hostKey)}>
                      Trust this host key
                    </button>
                    <span className="muted small">
                      Only if it matches the server’s own fingerprint; then test again.
                    </span>
                  </div>
                )
              }
            />
          </>
        )}

        <div
          className="row dest-form__actions"
          // A press here must not blur the field being typed in: its message would appear on blur, push
          // these buttons down before the button is released, and the click would be lost.
          onMouseDown={(e) => {
            if ((e.target as HTMLElement).closest('button')) e.preventDefault();
          }}
        >
          <button
            type="submit"
            className="btn btn--primary"
            disabled={!type || busy !== null}
            aria-busy={busy === 'save'}
          >
            {busy === 'save' && <span className="dest-spinner" aria-hidden="true" />}
            Save destination
          </button>
          <button type="button" className="btn" disabled={!type || busy !== null} onClick={() => void runTest()}>
            Test connection
          </button>
          <span className="spacer" />
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
    </form>
  );
}
