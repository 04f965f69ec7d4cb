import { useEffect, useRef, useState } from 'react';
import type { FerryConfig, RuleConfig } from '../../../shared/config';
import { EmptyState, ErrorNote, PageHeader } from '../components/ui';
import { describeProblem, useConfig, useSaveConfig, type Problem } from '../lib/config';
import { loadDraft } from '../lib/drafts';
import { hrefOf } from '../lib/route';
import { RULE_DRAFT, RuleEditor, type RuleDraft } from './rules/RuleEditor';
import { RuleList } from './rules/RuleList';

type Flash = { kind: 'ok' | 'error'; text: string; problems?: Problem[] };
/** Where the focus goes once the page shows the list again: a rule's button, or "Add rule". */
type FocusTarget = { rule: string; control: 'edit' | 'up' | 'down' } | { rule: null };

/**
 * The dispatch rules, in order (first match with `stop`): a list of cards to reorder, edit or delete,
 * and an editor with a live preview for one rule at a time. Every change saves the whole configuration.
 */
export function RulesPage(): React.JSX.Element {
  const config = useConfig();
  const { save, saving } = useSaveConfig();
  // A rule left half-written on another visit opens again where it was.
  const [editing, setEditing] = useState<{ name: string | null } | null>(() => {
    const draft = loadDraft<RuleDraft>(RULE_DRAFT);
    return draft ? { name: draft.original } : null;
  });
  // The order shown while a reorder or a delete is being saved, so that nothing jumps back meanwhile.
  const [pending, setPending] = useState<RuleConfig[] | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);
  const [focus, setFocus] = useState<FocusTarget | null>(null);
  const listBox = useRef<HTMLDivElement>(null);
  const addButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (flash?.kind !== 'ok') return;
    const timer = window.setTimeout(() => setFlash(null), 6000);
    return () => window.clearTimeout(timer);
  }, [flash]);

  useEffect(() => {
    if (!focus || editing) return;
    setFocus(null);
    if (focus.rule === null) {
      addButton.current?.focus();
      return;
    }
    const card = [...(listBox.current?.querySelectorAll<HTMLElement>('[data-testid="rule-card"]') ?? [])].find(
      (c) => c.dataset['rule'] === focus.rule,
    );
    const pick = (sel: string) => card?.querySelector<HTMLButtonElement>(sel);
    const want = focus.control === 'edit' ? pick('[data-action="edit"]') : pick(`[data-move="${focus.control}"]`);
    // At the top or the bottom the button in that direction is disabled: take the other one.
    const other = focus.control === 'up' ? pick('[data-move="down"]') : pick('[data-move="up"]');
    (want && !want.disabled ? want : focus.control === 'edit' ? want : other)?.focus();
  }, [focus, editing]);

  const cfg = config.data;
  const rules = pending ?? cfg?.rules ?? [];

  const persist = async (base: FerryConfig, next: RuleConfig[], done: string): Promise<boolean> => {
    setPending(next);
    setFlash(null);
    try {
      const result = await save({ ...base, rules: next });
      if (result.ok) {
        setFlash({ kind: 'ok', text: done });
        return true;
      }
      setFlash({ kind: 'error', text: 'The change was not saved.', problems: result.problems });
    } catch (err) {
      setFlash({ kind: 'error', text: `The change was not saved: ${(err as Error).message}` });
    } finally {
      setPending(null);
    }
    return false;
  };

  const header = (
    <PageHeader
      title="Rules"
      lead="Which files of which folders go to which destinations. Rules are tried in order: every rule whose conditions hold catches a file, until one with “stop” catches it."
      actions={
        cfg && !editing ? (
          <button ref={addButton} type="button" className="btn btn--primary" onClick={() => setEditing({ name: null })}>
            Add rule
          </button>
        ) : undefined
      }
    />
  );

  if (config.isPending)
    return (
      <>
        {header}
        <p className="muted" role="status">
          Loading the rules…
        </p>
      </>
    );
  if (!cfg)
    return (
      <>
        {header}
        <ErrorNote error={config.error} title="The configuration could not be read" />
        <button type="button" className="btn rules-retry" onClick={() => void config.refetch()}>
          Try again
        </button>
      </>
    );

  if (editing) {
    const original = editing.name === null ? undefined : cfg.rules.find((r) => r.name === editing.name);
    return (
      <>
        {header}
        <RuleEditor
          key={editing.name ?? '\u0000new'}
          config={cfg}
          original={original}
          onDone={(saved) => {
            setEditing(null);
            if (saved) setFlash({ kind: 'ok', text: `Saved rule “${saved}”.` });
            const back = saved ?? editing.name;
            setFocus(back === null ? { rule: null } : { rule: back, control: 'edit' });
          }}
        />
      </>
    );
  }

  const missing = [
    cfg.folders.length === 0 ? ('folders' as const) : undefined,
    cfg.destinations.length === 0 ? ('destinations' as const) : undefined,
  ].filter((m) => m !== undefined);

  return (
    <>
      {header}
      {flash && (
        <div className={`note note--${flash.kind} rules-flash`} role={flash.kind === 'error' ? 'alert' : 'status'}>
          {flash.text}
          {flash.problems && flash.problems.length > 0 && (
            <ul className="rule-form__problem-list">
              {flash.problems.map((p) => (
                <li key={`${p.path}\n${p.message}`}>{describeProblem(cfg, p)}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {rules.length === 0 ? (
        <div className="card">
          <EmptyState title="No rules yet">
            A rule sends the files of one or more folders to one or more destinations, under the names you choose.{' '}
            {missing.length > 0 ? (
              <MissingLinks missing={missing} />
            ) : (
              <>Use “Add rule” to write the first one: the preview shows which files it catches as you type.</>
            )}
          </EmptyState>
        </div>
      ) : (
        <div ref={listBox}>
          <p className="muted small rules-hint">
            Drag a rule by its handle, or use the arrows, to change the order. Changes are saved at once.
            {saving && <span role="status"> Saving…</span>}
          </p>
          <RuleList
            rules={rules}
            busy={saving}
            onEdit={(name) => {
              setFlash(null);
              setEditing({ name });
            }}
            onDelete={(name) => {
              const at = rules.findIndex((r) => r.name === name);
              const next = rules.filter((r) => r.name !== name);
              // The focus goes to the rule that took its place (or the one before), or to "Add rule".
              const neighbour = next[at] ?? next[at - 1];
              void persist(cfg, next, `Deleted rule “${name}”.`).then((ok) =>
                setFocus(
                  ok && neighbour
                    ? { rule: neighbour.name, control: 'edit' }
                    : ok
                      ? { rule: null }
                      : { rule: name, control: 'edit' },
                ),
              );
            }}
            onReorder={(next, moved, button) => {
              if (button) setFocus({ rule: moved, control: button });
              const at = next.findIndex((r) => r.name === moved);
              void persist(cfg, next, `Moved rule “${moved}” to position ${at + 1}.`);
            }}
          />
        </div>
      )}
    </>
  );
}

function MissingLinks({ missing }: { missing: readonly ('folders' | 'destinations')[] }) {
  const links = {
    folders: <a href={hrefOf('folders')}>add a folder</a>,
    destinations: <a href={hrefOf('destinations')}>add a destination</a>,
  };
  const [first, second] = missing;
  return (
    <>
      A rule needs a folder to read and a destination to write to: first {first && links[first]}
      {second && <> and {links[second]}</>}.
    </>
  );
}
