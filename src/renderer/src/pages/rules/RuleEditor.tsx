import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { templateProblem } from '../../../../shared/config';
import type { FerryConfig, RuleConfig } from '../../../../shared/config';
import type { SyncMode } from '../../../../shared/models';
import { Field } from '../../components/ui';
import { describeProblem, problemsUnder, useSaveConfig } from '../../lib/config';
import { dropDraft, keepDraft, loadDraft } from '../../lib/drafts';
import { hrefOf } from '../../lib/route';
import { ConditionEditor } from './ConditionEditor';
import { IdChecklist } from './IdChecklist';
import { RulePreview } from './RulePreview';
import {
  assignProblems,
  emptyForm,
  fieldOf,
  formFromRule,
  formToRule,
  validateForm,
  withMode,
  type FieldKey,
  type LockedByTwoWay,
  type Problem,
  type RuleContext,
  type RuleForm,
} from './ruleModel';
import { MODE_WORDS } from './ruleSummary';
import { TagInput } from './TagInput';
import { TemplateField } from './TemplateField';
import { useDebounced } from '../../lib/useDebounced';

/** The rule being written, kept across pages until it is saved or discarded. */
export const RULE_DRAFT = 'rule';
export type RuleDraft = { original: string | null; form: RuleForm; kept: LockedByTwoWay | null };

const messages = (ps: readonly Problem[]): string | undefined =>
  ps.length > 0 ? [...new Set(ps.map((p) => p.message))].join('\n') : undefined;

const isUnder = (path: string, prefix: string) =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/**
 * Adds or edits one rule: the form on one side, what the draft would catch on the other. Messages show
 * on a field once it is edited (all of them after a save attempt); the engine's answer to a save is
 * mapped to the same fields. The draft is only left behind on a successful save or a confirmed cancel.
 */
export function RuleEditor({
  config,
  original,
  onDone,
}: {
  config: FerryConfig;
  /** The rule being edited; undefined for a new one (it goes last). */
  original: RuleConfig | undefined;
  /** Called with the saved rule's name, or undefined when the person cancelled. */
  onDone: (saved: string | undefined) => void;
}) {
  const headingId = useId();
  const folderIds = useMemo(() => config.folders.map((f) => f.id), [config.folders]);
  const destIds = useMemo(() => config.destinations.map((d) => d.id), [config.destinations]);
  const ctx = useMemo<RuleContext>(
    () => ({
      otherNames: config.rules.filter((r) => r.name !== original?.name).map((r) => r.name),
      folders: folderIds,
      destinations: destIds,
    }),
    [config.rules, original, folderIds, destIds],
  );

  const [initial] = useState(() => (original ? formFromRule(original) : emptyForm(folderIds, destIds)));
  // A draft of this same rule left on another page comes back as it was.
  const [restored] = useState(() => {
    const draft = loadDraft<RuleDraft>(RULE_DRAFT);
    return draft && draft.original === (original?.name ?? null) ? draft : undefined;
  });
  const [form, setForm] = useState<RuleForm>(restored?.form ?? initial);
  const [touched, setTouched] = useState<ReadonlySet<FieldKey>>(() => new Set());
  const [attempted, setAttempted] = useState(false);
  const [server, setServer] = useState<{ rule: Problem[]; other: Problem[] }>({ rule: [], other: [] });
  const [saveError, setSaveError] = useState<Error | null>(null);
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  // What choosing two-way put aside (a template, compression, safe_when), given back when another mode is chosen.
  const [kept, setKept] = useState<LockedByTwoWay | null>(restored?.kept ?? null);
  const { save, saving } = useSaveConfig();
  const finish = (saved: string | undefined) => {
    dropDraft(RULE_DRAFT);
    onDone(saved);
  };

  const validation = useMemo(() => validateForm(form, ctx), [form, ctx]);
  const client = useMemo(() => assignProblems(validation.problems, form), [validation, form]);
  const fromServer = useMemo(() => assignProblems(server.rule, form), [server.rule, form]);
  const dirty = useMemo(
    () => JSON.stringify(formToRule(form)) !== JSON.stringify(formToRule(initial)),
    [form, initial],
  );
  useEffect(() => {
    if (dirty) keepDraft<RuleDraft>(RULE_DRAFT, { original: original?.name ?? null, form, kept });
    else dropDraft(RULE_DRAFT);
  }, [dirty, form, kept, original]);

  // The preview follows the draft 300 ms behind. An existing rule is previewed under its saved name,
  // so that it takes its own place in the order even while being renamed.
  const settled = useDebounced(form, 300);
  const previewCheck = useMemo(
    () => validateForm({ ...settled, name: original?.name ?? (settled.name.trim() || 'new rule') }, ctx),
    [settled, original, ctx],
  );

  const problemsOf = (key: FieldKey): Problem[] => [
    ...(attempted || touched.has(key) ? (client.fields.get(key) ?? []) : []),
    ...(fromServer.fields.get(key) ?? []),
  ];
  const errorOf = (key: FieldKey) => messages(problemsOf(key));
  const top = [...(attempted ? client.rest : []), ...fromServer.rest, ...server.other];

  /** Applies an edit; the fields named show their messages from now on, and lose the engine's stale ones. */
  const change = (keys: FieldKey[], fn: (f: RuleForm) => RuleForm) => {
    setForm(fn);
    setTouched((t) => new Set([...t, ...keys]));
    setConfirmDiscard(false);
    const condEdit = keys.some((k) => k === 'when' || k.startsWith('cond:'));
    if (server.rule.length > 0)
      setServer((s) => ({
        ...s,
        rule: s.rule.filter((p) => {
          const at = fieldOf(p.path, form)?.field;
          return at === undefined || !(keys.includes(at) || (condEdit && (at === 'when' || at.startsWith('cond:'))));
        }),
      }));
  };

  const pickMode = (mode: SyncMode) => {
    const next = withMode(form, mode, kept);
    setKept(next.kept);
    // Two-way wants one folder and one destination: say so at once if more are chosen.
    const shown: FieldKey[] = mode === 'two-way' ? ['from', 'to'] : [];
    change(['mode', 'path', 'compress', 'safe_when', 'remote_exclude', ...shown], () => next.form);
  };

  // After a refused save, focus goes to the first field that says why (or to the note above the form).
  const formRef = useRef<HTMLFormElement>(null);
  const topRef = useRef<HTMLDivElement>(null);
  const [focusTick, setFocusTick] = useState(0);
  useEffect(() => {
    if (focusTick === 0) return;
    const field = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"], .rule-cond--invalid select');
    (topRef.current ?? field)?.focus();
    if (!topRef.current) field?.scrollIntoView({ block: 'center' });
  }, [focusTick]);

  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (saving) return;
    setAttempted(true);
    setSaveError(null);
    setServer({ rule: [], other: [] });
    const rule = validation.parsed;
    if (!rule) {
      setFocusTick((t) => t + 1);
      return;
    }
    const rules = [...config.rules];
    const at = original ? rules.findIndex((r) => r.name === original.name) : -1;
    const index = at === -1 ? rules.length : at;
    rules.splice(index, at === -1 ? 0 : 1, rule);
    try {
      const result = await save({ ...config, rules });
      if (result.ok) {
        finish(rule.name);
        return;
      }
      const prefix = `rules[${index}]`;
      setServer({
        rule: problemsUnder(result.problems, prefix),
        other: result.problems.filter((p) => !isUnder(p.path, prefix)),
      });
    } catch (err) {
      setSaveError(err instanceof Error ? err : new Error(String(err)));
    }
    setFocusTick((t) => t + 1);
  };

  // The template is checked as it is typed, whether or not the field was left yet.
  const liveTemplate = form.path.trim() ? templateProblem(form.path.trim()) : undefined;
  const templateError = messages([
    ...problemsOf('path'),
    ...(liveTemplate ? [{ path: '', message: liveTemplate }] : []),
  ]);
  const toChosen = form.to.length;
  const safeWhen = Number(form.safeWhen);
  const title = original ? `Edit rule “${original.name}”` : 'New rule';
  // Two-way locks the template to {path}, without compression or safe_when: those fields only show when they
  // hold something the mode refuses (so that it can be cleared), as selective sync shows outside two-way.
  const twoWay = form.mode === 'two-way';
  const showTemplate = !twoWay || !['', '{path}'].includes(form.path.trim());
  const showCompress = !twoWay || form.compress !== '';
  const showSafeWhen = !twoWay || form.safeWhen !== '';
  const showRemoteExclude = twoWay || form.remoteExclude.trim() !== '';

  return (
    <section className="rule-editor" aria-labelledby={headingId}>
      <div className="rule-editor__head">
        <h2 id={headingId} ref={headingRef} tabIndex={-1} className="rule-editor__title">
          {title}
        </h2>
        {!original && <span className="muted small">A new rule goes last; reorder it in the list afterwards.</span>}
        {restored && (
          <span className="muted small" role="status" data-testid="draft-restored">
            Your unsaved changes are back, as you left them.
          </span>
        )}
      </div>
      <div className="rule-editor__body">
        <form
          ref={formRef}
          className="card rule-form"
          data-testid="rule-form"
          aria-labelledby={headingId}
          noValidate
          onSubmit={(e) => void submit(e)}
        >
          {(top.length > 0 || saveError) && (
            <div className="note note--error rule-form__problems" role="alert" tabIndex={-1} ref={topRef}>
              {saveError ? (
                <>
                  <strong>The rule was not saved: </strong>
                  {saveError.message}
                  {'hint' in saveError && typeof saveError.hint === 'string' && (
                    <div className="note__hint">{saveError.hint}</div>
                  )}
                </>
              ) : (
                <strong>The rule was not saved:</strong>
              )}
              {top.length > 0 && (
                <ul className="rule-form__problem-list">
                  {top.map((p) => (
                    <li key={`${p.path}\n${p.message}`}>
                      {/^(rules|folders|destinations|settings)\b/.test(p.path) ? describeProblem(config, p) : p.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}

          <div className="rule-form__section">
            <Field label="Name" error={errorOf('name')} help="Unique; history and “ferry plan --rule” use it.">
              {(p) => (
                <input
                  {...p}
                  type="text"
                  value={form.name}
                  maxLength={120}
                  autoComplete="off"
                  placeholder="scanned invoices"
                  onChange={(e) => change(['name'], (f) => ({ ...f, name: e.target.value }))}
                />
              )}
            </Field>
            <IdChecklist
              legend="From folders"
              items={config.folders.map((f) => ({ id: f.id, detail: f.path }))}
              value={form.from}
              onChange={(from) => change(['from'], (f) => ({ ...f, from }))}
              error={errorOf('from')}
              empty={
                <>
                  No folders yet: <a href={hrefOf('folders')}>add a folder</a> to send files from.
                </>
              }
            />
          </div>

          <div className="rule-form__section">
            <h3 className="rule-form__heading">Which files</h3>
            <div className="rule-form__pair">
              <Field
                label="Match"
                error={errorOf('match')}
                help={
                  <>
                    Globs on the path inside the folder, one per line; a file must match one. Empty: every file (
                    <code>**</code>).
                  </>
                }
              >
                {(p) => (
                  <textarea
                    {...p}
                    rows={3}
                    value={form.match}
                    placeholder="**"
                    spellCheck={false}
                    onChange={(e) => change(['match'], (f) => ({ ...f, match: e.target.value }))}
                  />
                )}
              </Field>
              <Field
                label="Exclude"
                error={errorOf('exclude')}
                help={
                  <>
                    Files matching any of these globs are left out, e.g. <code>**/drafts/**</code>.
                  </>
                }
              >
                {(p) => (
                  <textarea
                    {...p}
                    rows={3}
                    value={form.exclude}
                    placeholder="**/drafts/**"
                    spellCheck={false}
                    onChange={(e) => change(['exclude'], (f) => ({ ...f, exclude: e.target.value }))}
                  />
                )}
              </Field>
            </div>
            <div className="field" role="group" aria-labelledby={`${headingId}-when`}>
              <span className="field__label" id={`${headingId}-when`}>
                Conditions
              </span>
              <span className="field__help">
                On extension, content type, size, dates or the path; combine them with all, any and not.
              </span>
              {errorOf('when') && (
                <div className="field__error" role="alert">
                  {errorOf('when')}
                </div>
              )}
              <ConditionEditor
                root={form.when}
                problemsOf={(id) => problemsOf(`cond:${id}`)}
                onChange={(edited, when) => change([edited ? `cond:${edited}` : 'when'], (f) => ({ ...f, when }))}
              />
            </div>
          </div>

          <div className="rule-form__section">
            <h3 className="rule-form__heading">Where to</h3>
            <IdChecklist
              legend="To destinations"
              items={config.destinations.map((d) => ({ id: d.id, detail: d.type }))}
              value={form.to}
              onChange={(to) => change(['to', 'safe_when'], (f) => ({ ...f, to }))}
              error={errorOf('to')}
              empty={
                <>
                  No destinations yet: <a href={hrefOf('destinations')}>add a destination</a> to send files to.
                </>
              }
            />
            {twoWay && (
              <p className="rule-form__locked small" data-testid="two-way-locked">
                Two-way mirrors the folder as it is: every file keeps its path at the destination (
                <code>{'{path}'}</code>), uncompressed.
                {kept && ' The template, compression and “safe when” you had set come back if you choose another mode.'}
              </p>
            )}
            {showTemplate && (
              <TemplateField
                value={form.path}
                error={templateError}
                onChange={(path) => change(['path'], (f) => ({ ...f, path }))}
              />
            )}
            {showCompress && (
              <Field
                label="Compression"
                error={errorOf('compress')}
                help="Stored as NAME.gz or NAME.zst; verification covers the compressed bytes."
              >
                {(p) => (
                  <select
                    {...p}
                    value={form.compress}
                    onChange={(e) =>
                      change(['compress'], (f) => ({ ...f, compress: e.target.value as RuleForm['compress'] }))
                    }
                  >
                    <option value="">None</option>
                    <option value="gzip">gzip (.gz)</option>
                    <option value="zstd">zstd (.zst)</option>
                  </select>
                )}
              </Field>
            )}
          </div>

          <div className="rule-form__section">
            <h3 className="rule-form__heading">How</h3>
            <div className="rule-form__pair">
              <Field
                label="Mode"
                error={errorOf('mode')}
                help={
                  twoWay
                    ? 'Two-way keeps one folder and one destination equal, changes going both ways; a file changed on both sides keeps both versions (see Conflicts).'
                    : `${capitalize(form.mode)} ${MODE_WORDS[form.mode]}.`
                }
              >
                {(p) => (
                  <select {...p} value={form.mode} onChange={(e) => pickMode(e.target.value as SyncMode)}>
                    <option value="backup">backup</option>
                    <option value="mirror">mirror</option>
                    <option value="move">move</option>
                    <option value="two-way">two-way</option>
                  </select>
                )}
              </Field>
              {showSafeWhen && (
                <Field
                  label="Safe when"
                  error={errorOf('safe_when')}
                  help={
                    form.mode === 'move'
                      ? 'Keep the source until this many destinations hold a verified copy; the move deletes it then.'
                      : 'How many destinations must hold a verified copy for a file to count as safe (it matters most for move).'
                  }
                >
                  {(p) => (
                    <select
                      {...p}
                      value={form.safeWhen}
                      onChange={(e) => change(['safe_when'], (f) => ({ ...f, safeWhen: e.target.value }))}
                    >
                      <option value="">
                        {toChosen > 1 ? `All ${toChosen} destinations (default)` : 'Every destination (default)'}
                      </option>
                      {Array.from({ length: toChosen }, (_, i) => i + 1).map((n) => (
                        <option key={n} value={String(n)}>
                          {n} of {toChosen} {n === 1 ? 'holds' : 'hold'} it
                        </option>
                      ))}
                      {form.safeWhen !== '' && safeWhen > toChosen && (
                        <option value={form.safeWhen}>
                          {form.safeWhen} (more than the {toChosen} chosen)
                        </option>
                      )}
                    </select>
                  )}
                </Field>
              )}
            </div>
            {showRemoteExclude && (
              <Field
                label="Don't bring home (selective sync)"
                error={errorOf('remote_exclude')}
                help={
                  <>
                    Globs of folders or files at the destination, one per line, e.g. <code>Archive/**</code>: they stay
                    there, never brought to this computer, and nothing is deleted for them on either side.
                  </>
                }
              >
                {(p) => (
                  <textarea
                    {...p}
                    rows={3}
                    value={form.remoteExclude}
                    placeholder="Archive/**"
                    spellCheck={false}
                    onChange={(e) => change(['remote_exclude'], (f) => ({ ...f, remoteExclude: e.target.value }))}
                  />
                )}
              </Field>
            )}
            <div className={`field rule-form__stop${errorOf('stop') ? ' field--invalid' : ''}`}>
              <label className="check">
                <input
                  type="checkbox"
                  checked={form.stop}
                  aria-describedby={`${headingId}-stop`}
                  onChange={(e) => change(['stop'], (f) => ({ ...f, stop: e.target.checked }))}
                />
                Stop here
              </label>
              <span className="field__help" id={`${headingId}-stop`}>
                Files this rule catches are not offered to the rules after it (a first-match list).
              </span>
              {errorOf('stop') && (
                <div className="field__error" role="alert">
                  {errorOf('stop')}
                </div>
              )}
            </div>
            <Field
              label="Tags"
              error={errorOf('tags')}
              help="Separate with commas or Enter. Kept in history; sent as metadata where the destination supports it."
            >
              {(p) => (
                <TagInput
                  inputProps={p}
                  tags={form.tags}
                  text={form.tagText}
                  onChange={(tags, tagText) => change(['tags'], (f) => ({ ...f, tags, tagText }))}
                />
              )}
            </Field>
            {form.hooks.length > 0 && (
              <p className="muted small">
                This rule has {form.hooks.length} hook{form.hooks.length === 1 ? '' : 's'} (edited in config.yml): kept
                as they are.
              </p>
            )}
          </div>

          <div className="rule-form__actions">
            <button type="submit" className="btn btn--primary" disabled={saving}>
              {saving ? 'Saving…' : 'Save rule'}
            </button>
            {confirmDiscard ? (
              <span className="rule-form__confirm" role="group" aria-label="Discard changes?">
                <span>Discard your changes?</span>
                <button type="button" className="btn btn--danger" onClick={() => finish(undefined)}>
                  Discard
                </button>
                <button type="button" className="btn" autoFocus onClick={() => setConfirmDiscard(false)}>
                  Keep editing
                </button>
              </span>
            ) : (
              <button
                type="button"
                className="btn"
                disabled={saving}
                onClick={() => (dirty ? setConfirmDiscard(true) : finish(undefined))}
              >
                Cancel
              </button>
            )}
            {attempted && validation.problems.length > 0 && (
              <span className="rule-form__count small" role="status">
                {validation.problems.length === 1
                  ? '1 problem to fix'
                  : `${validation.problems.length} problems to fix`}
              </span>
            )}
          </div>
        </form>
        <RulePreview rule={previewCheck.rule} valid={previewCheck.parsed !== undefined} pending={settled !== form} />
      </div>
    </section>
  );
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
