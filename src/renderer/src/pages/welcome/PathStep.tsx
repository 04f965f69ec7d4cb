import { useRef, useState, type ReactNode } from 'react';
import { BridgeError } from '../../../../shared/bridge';
import { request } from '../../lib/bridge';
import { PathField, usePathCheck } from './PathField';
import { StepHeading } from './StepHeading';

/**
 * One step that asks for a folder on this machine: checked as it is typed, checked again on Next
 * (the answer is the path as Ferry resolves it: `~` expanded, absolute).
 */
export function PathStep({
  title,
  intro,
  label,
  help,
  initial,
  focus,
  problemWith,
  onBack,
  onNext,
  onTyped,
}: {
  title: string;
  intro: ReactNode;
  label: string;
  help: string;
  initial: string;
  focus: boolean;
  /** A problem the folder check cannot see (e.g. the destination inside the folder), from the resolved path. */
  problemWith?: (resolved: string) => string | undefined;
  onBack?: () => void;
  onNext: (answer: { typed: string; resolved: string }) => void;
  /** Each edit of the path, so that the flow can keep it while the person looks at another page. */
  onTyped?: (path: string) => void;
}) {
  const [path, setPath] = useState(initial);
  const [error, setError] = useState<string | undefined>();
  const [checking, setChecking] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const check = usePathCheck(path);
  const live = check ? (check.ok ? problemWith?.(check.resolved) : check.message) : undefined;

  const refuse = (message: string) => {
    setError(message);
    input.current?.focus();
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const typed = path.trim();
    if (typed === '') return refuse('type the path of a folder, or choose one');
    setChecking(true);
    try {
      const result = await request('folder:check', { path: typed });
      const problem = result.ok ? problemWith?.(result.resolved) : result.message;
      if (problem !== undefined) return refuse(problem);
      onNext({ typed, resolved: result.resolved });
    } catch (err) {
      refuse(BridgeError.from(err).message);
    } finally {
      setChecking(false);
    }
  };

  return (
    <form className="welcome__card stack" onSubmit={(e) => void submit(e)} noValidate>
      <StepHeading focus={focus}>{title}</StepHeading>
      <p className="welcome__intro">{intro}</p>
      <PathField
        label={label}
        help={help}
        value={path}
        onChange={(p) => {
          setPath(p);
          onTyped?.(p);
          setError(undefined);
        }}
        check={check}
        error={error ?? live}
        inputRef={input}
      />
      <div className="welcome__actions">
        {onBack && (
          <button type="button" className="btn" onClick={onBack}>
            Back
          </button>
        )}
        <button type="submit" className="btn btn--primary" disabled={checking}>
          {checking ? 'Checking…' : 'Next'}
        </button>
      </div>
    </form>
  );
}
