import { useState } from 'react';
import { Field, Note } from '../../components/ui';
import type { Problem } from '../../lib/config';
import { StepHeading } from './StepHeading';
import type { WelcomeAnswers } from './welcomeConfig';

export type RuleAnswer = { name: string; mode: WelcomeAnswers['mode'] };

const MODES: { id: WelcomeAnswers['mode']; label: string; explain: string }[] = [
  {
    id: 'backup',
    label: 'Back up (recommended)',
    explain: 'New and changed files are copied; nothing is ever deleted at the destination.',
  },
  {
    id: 'mirror',
    label: 'Mirror',
    explain:
      'The destination follows the folder: a file you delete here is deleted there too (only after a complete scan, and never many at once without asking).',
  },
];

/** The last step: the rule that sends everything from the folder to the destination, and saving it all. */
export function RuleStep({
  folder,
  destination,
  initial,
  focus,
  saving,
  problems,
  onBack,
  onSave,
  onChange,
}: {
  folder: string;
  destination: string;
  initial: RuleAnswer;
  focus: boolean;
  saving: boolean;
  problems: Problem[];
  onBack: (rule: RuleAnswer) => void;
  onSave: (rule: RuleAnswer) => void;
  /** Each edit, so that the flow can keep it while the person looks at another page. */
  onChange?: (rule: RuleAnswer) => void;
}) {
  const [name, setNameState] = useState(initial.name);
  const [mode, setModeState] = useState(initial.mode);
  const setName = (next: string) => {
    setNameState(next);
    onChange?.({ name: next, mode });
  };
  const setMode = (next: RuleAnswer['mode']) => {
    setModeState(next);
    onChange?.({ name, mode: next });
  };
  return (
    <form
      className="welcome__card stack"
      onSubmit={(e) => {
        e.preventDefault();
        onSave({ name, mode });
      }}
    >
      <StepHeading focus={focus}>How should Ferry copy?</StepHeading>
      <p className="welcome__intro">
        A rule says which files go where. This one sends every file of <span className="mono">{folder}</span> to{' '}
        <span className="mono">{destination}</span>, verifies each copy by checksum and keeps watching for changes.
      </p>
      <Field label="Rule name" help="You can add conditions and more rules later on the Rules page.">
        {(p) => <input {...p} type="text" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
      </Field>
      <fieldset className="welcome__modes">
        <legend className="field__label">What happens when you delete a file</legend>
        {MODES.map((m) => (
          <label key={m.id} className={`welcome__mode${mode === m.id ? ' welcome__mode--on' : ''}`}>
            <input
              type="radio"
              name="welcome-mode"
              value={m.id}
              checked={mode === m.id}
              onChange={() => setMode(m.id)}
              aria-describedby={`welcome-mode-${m.id}`}
            />
            <span>
              <span className="welcome__mode-label">{m.label}</span>
              <span className="welcome__mode-explain" id={`welcome-mode-${m.id}`}>
                {m.explain}
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {problems.length > 0 && (
        <Note kind="error">
          {problems.map((p) => (
            <div key={p.path + p.message}>{p.message}</div>
          ))}
        </Note>
      )}
      <div className="welcome__actions">
        <button type="button" className="btn" onClick={() => onBack({ name, mode })}>
          Back
        </button>
        <button type="submit" className="btn btn--primary" disabled={saving}>
          {saving ? 'Saving…' : 'Start syncing'}
        </button>
      </div>
    </form>
  );
}
