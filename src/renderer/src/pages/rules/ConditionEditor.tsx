import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { Field } from '../../components/ui';
import {
  addCondition,
  GROUP_OPS,
  isGroup,
  isRange,
  newCondition,
  parentOf,
  RANGE_KEYS,
  removeCondition,
  replaceCondition,
  setGroupOp,
  unwrapCondition,
  wrapCondition,
  type CondDraft,
  type ConditionKind,
  type GroupDraft,
  type GroupOp,
  type LeafKind,
  type Problem,
  type RangeDraft,
  type TextDraft,
} from './conditionDraft';
import { ADD_ORDER, GROUP_LABEL, KIND_LABEL, LEAF_ORDER, RANGE_INPUT, TEXT_INPUT } from './conditionKinds';

type Ops = {
  replace(id: string, fn: (d: CondDraft) => CondDraft): void;
  remove(id: string): void;
  add(groupId: string, kind: ConditionKind): void;
  wrap(id: string, op: GroupOp): void;
  unwrap(id: string): void;
  /** The problems to show on a node, with their path below it (`size.min`). */
  problemsOf(id: string): Problem[];
};

const messages = (ps: readonly Problem[]): string | undefined =>
  ps.length > 0 ? [...new Set(ps.map((p) => p.message))].join('\n') : undefined;

/**
 * The `when` of a rule as a tree: groups (all / any / not) holding conditions of every kind, each with
 * inputs of its own. `onChange` names the node edited, so that its messages show from then on.
 */
export function ConditionEditor({
  root,
  onChange,
  problemsOf,
}: {
  root: CondDraft | null;
  onChange: (edited: string | undefined, next: CondDraft | null) => void;
  problemsOf: (id: string) => Problem[];
}) {
  const box = useRef<HTMLDivElement>(null);
  // After adding or removing a node, focus moves to the new node or to what held the removed one.
  const [focusId, setFocusId] = useState<string | null>(null);
  useEffect(() => {
    if (!focusId || !box.current) return;
    const target =
      focusId === 'add'
        ? box.current.querySelector<HTMLElement>(':scope > .rule-cond__add select')
        : box.current
            .querySelector(`[data-cond-id="${focusId}"]`)
            ?.querySelector<HTMLElement>('input, textarea, select');
    target?.focus();
    setFocusId(null);
  }, [focusId]);

  const addTo = (kind: ConditionKind) => {
    const child = newCondition(kind);
    setFocusId(child.id);
    if (!root) return onChange(undefined, child);
    // A single condition (or a `not`) gains a sibling: both go under a new "all of".
    const wrapped = wrapCondition(root, root.id, 'all');
    onChange(undefined, addCondition(wrapped, wrapped.id, child));
  };

  const ops: Ops | undefined = root
    ? {
        replace: (id, fn) => onChange(id, replaceCondition(root, id, fn)),
        remove: (id) => {
          setFocusId(parentOf(root, id)?.id ?? 'add');
          onChange(undefined, removeCondition(root, id));
        },
        add: (groupId, kind) => {
          const child = newCondition(kind);
          setFocusId(child.id);
          onChange(undefined, addCondition(root, groupId, child));
        },
        wrap: (id, op) => onChange(undefined, wrapCondition(root, id, op)),
        unwrap: (id) => onChange(undefined, unwrapCondition(root, id)),
        problemsOf,
      }
    : undefined;

  return (
    <div className="rule-cond-editor" ref={box}>
      {root && ops ? (
        <ConditionNode node={root} ops={ops} depth={0} />
      ) : (
        <p className="muted small rule-cond-editor__none">
          No conditions: every file the globs above match is caught. Add conditions on extension, content type, size or
          dates to narrow it.
        </p>
      )}
      {/* A top-level all/any group has its own "Add to group"; anything else gains a sibling here. */}
      {!(root?.kind === 'all' || root?.kind === 'any') && (
        <AddControl
          label={root ? 'Add condition' : 'Add a condition'}
          kinds={ADD_ORDER}
          onAdd={addTo}
          hint={root ? 'both must hold' : undefined}
        />
      )}
    </div>
  );
}

function ConditionNode({ node, ops, depth }: { node: CondDraft; ops: Ops; depth: number }) {
  if (isGroup(node)) return <GroupNode node={node} ops={ops} depth={depth} />;
  return <LeafNode node={node} ops={ops} />;
}

function GroupNode({ node, ops, depth }: { node: GroupDraft; ops: Ops; depth: number }) {
  const error = messages(ops.problemsOf(node.id));
  const canAdd = node.kind !== 'not' || node.children.length === 0;
  return (
    <div
      className={`rule-cond rule-cond--group rule-cond--${depth % 2 === 0 ? 'even' : 'odd'}${error ? ' rule-cond--invalid' : ''}`}
      data-cond-id={node.id}
      role="group"
      aria-label={`${GROUP_LABEL[node.kind]}: ${node.children.length} condition${node.children.length === 1 ? '' : 's'}`}
    >
      <div className="rule-cond__head">
        <select
          aria-label="Combine the conditions of this group"
          className="rule-cond__op"
          value={node.kind}
          aria-invalid={error ? true : undefined}
          onChange={(e) => ops.replace(node.id, (d) => (isGroup(d) ? setGroupOp(d, e.target.value as GroupOp) : d))}
        >
          {GROUP_OPS.map((op) => (
            <option key={op} value={op}>
              {GROUP_LABEL[op]}
            </option>
          ))}
        </select>
        <span className="spacer" />
        {node.children.length === 1 && (
          <button
            type="button"
            className="btn btn--small"
            onClick={() => ops.unwrap(node.id)}
            title="Keep the condition, drop the group around it"
          >
            Ungroup
          </button>
        )}
        <button type="button" className="btn btn--small btn--danger" onClick={() => ops.remove(node.id)}>
          Remove group
        </button>
      </div>
      {error && (
        <div className="field__error rule-cond__error" role="alert">
          {error}
        </div>
      )}
      {node.children.length > 0 && (
        <ul className="rule-cond__children">
          {node.children.map((c) => (
            <li key={c.id}>
              <ConditionNode node={c} ops={ops} depth={depth + 1} />
            </li>
          ))}
        </ul>
      )}
      {canAdd && <AddControl label="Add to group" kinds={ADD_ORDER} onAdd={(kind) => ops.add(node.id, kind)} />}
    </div>
  );
}

function LeafNode({ node, ops }: { node: TextDraft | RangeDraft; ops: Ops }) {
  const problems = ops.problemsOf(node.id);
  const name = KIND_LABEL[node.kind].toLowerCase();
  const setKind = (kind: LeafKind) => ops.replace(node.id, () => ({ ...newCondition(kind), id: node.id }));
  let body: ReactNode;
  let rest = problems;
  if (isRange(node)) {
    const [lo, hi] = RANGE_KEYS[node.kind];
    const at = (key: string) => problems.filter((p) => p.path === `${node.kind}.${key}`);
    rest = problems.filter((p) => p.path !== `${node.kind}.${lo}` && p.path !== `${node.kind}.${hi}`);
    body = <RangeInputs node={node} ops={ops} loError={messages(at(lo))} hiError={messages(at(hi))} />;
  } else {
    body = <TextInput node={node} ops={ops} error={messages(problems)} />;
    rest = [];
  }
  const error = messages(rest);
  return (
    <div
      className={`rule-cond rule-cond--leaf${problems.length > 0 ? ' rule-cond--invalid' : ''}`}
      data-cond-id={node.id}
      role="group"
      aria-label={`${KIND_LABEL[node.kind]} condition`}
    >
      <div className="rule-cond__head">
        <select
          aria-label="Condition type"
          className="rule-cond__kind"
          value={node.kind}
          onChange={(e) => setKind(e.target.value as LeafKind)}
        >
          {LEAF_ORDER.map((k) => (
            <option key={k} value={k}>
              {KIND_LABEL[k]}
            </option>
          ))}
        </select>
        <span className="spacer" />
        <button
          type="button"
          className="btn btn--small"
          onClick={() => ops.wrap(node.id, 'not')}
          aria-label={`Negate the ${name} condition`}
          title="Catch the files this condition does not hold for"
        >
          Negate
        </button>
        <button
          type="button"
          className="btn btn--small btn--danger"
          onClick={() => ops.remove(node.id)}
          aria-label={`Remove the ${name} condition`}
        >
          Remove
        </button>
      </div>
      <div className="rule-cond__body">{body}</div>
      {error && (
        <div className="field__error rule-cond__error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function TextInput({ node, ops, error }: { node: TextDraft; ops: Ops; error: string | undefined }) {
  const spec = TEXT_INPUT[node.kind];
  const set = (text: string) => ops.replace(node.id, (d) => ({ ...d, text }));
  const mono = node.kind === 'glob' || node.kind === 'regex';
  return (
    <Field label={spec.label} help={spec.help} error={error}>
      {(p) =>
        spec.multiline ? (
          <textarea
            {...p}
            className="rule-cond__textarea"
            rows={Math.min(6, Math.max(2, node.text.split('\n').length))}
            value={node.text}
            placeholder={spec.placeholder}
            spellCheck={false}
            onChange={(e) => set(e.target.value)}
          />
        ) : (
          <input
            {...p}
            type="text"
            className={mono ? 'mono' : undefined}
            value={node.text}
            placeholder={spec.placeholder}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            onChange={(e) => set(e.target.value)}
          />
        )
      }
    </Field>
  );
}

const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/;

function RangeInputs({
  node,
  ops,
  loError,
  hiError,
}: {
  node: RangeDraft;
  ops: Ops;
  loError: string | undefined;
  hiError: string | undefined;
}) {
  const spec = RANGE_INPUT[node.kind];
  const timeId = useId();
  // Dates get the system's date picker; a time of day (which the config allows) needs plain text.
  const [withTime, setWithTime] = useState(
    () => node.kind === 'modified' && [node.lo, node.hi].some((v) => v !== '' && !BARE_DATE.test(v.trim())),
  );
  const set = (key: 'lo' | 'hi', value: string) => ops.replace(node.id, (d) => ({ ...d, [key]: value }));
  const dateInput = node.kind === 'modified' && !withTime;
  const input = (key: 'lo' | 'hi', label: string, hint: string, error: string | undefined) => (
    <Field label={label} error={error}>
      {(p) => (
        <input
          {...p}
          type={dateInput ? 'date' : 'text'}
          className="rule-cond__range-input"
          value={node[key]}
          placeholder={node.kind === 'modified' && withTime ? `${hint}T08:00:00Z` : hint}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => set(key, e.target.value)}
        />
      )}
    </Field>
  );
  return (
    <div className="rule-cond__range">
      <div className="rule-cond__range-row">
        {input('lo', spec.lo, spec.loHint, loError)}
        {input('hi', spec.hi, spec.hiHint, hiError)}
      </div>
      <div className="field__help">{spec.help}</div>
      {node.kind === 'modified' && (
        <label className="check small" htmlFor={timeId}>
          <input
            id={timeId}
            type="checkbox"
            checked={withTime}
            onChange={(e) => {
              const on = e.target.checked;
              setWithTime(on);
              // Back to plain dates: a date input cannot show a time, keep the day.
              if (!on)
                ops.replace(node.id, (d) =>
                  isRange(d) ? { ...d, lo: d.lo.trim().slice(0, 10), hi: d.hi.trim().slice(0, 10) } : d,
                );
            }}
          />
          Give a time of day too (UTC)
        </label>
      )}
    </div>
  );
}

function AddControl({
  label,
  kinds,
  onAdd,
  hint,
}: {
  label: string;
  kinds: readonly ConditionKind[];
  onAdd: (kind: ConditionKind) => void;
  hint?: string | undefined;
}) {
  const [kind, setKind] = useState<ConditionKind>(kinds[0] ?? 'glob');
  const id = useId();
  return (
    <div className="rule-cond__add">
      <label className="visually-hidden" htmlFor={id}>
        Kind of condition to add
      </label>
      <select id={id} value={kind} onChange={(e) => setKind(e.target.value as ConditionKind)}>
        {kinds.map((k) => (
          <option key={k} value={k}>
            {KIND_LABEL[k]}
          </option>
        ))}
      </select>
      <button type="button" className="btn btn--small" onClick={() => onAdd(kind)}>
        {label}
      </button>
      {hint && <span className="muted small">({hint})</span>}
    </div>
  );
}
