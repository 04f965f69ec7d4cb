import type { DestinationType } from '../../../../shared/config';
import type { DestinationTestResult } from '../../../../shared/contract';
import { formatDuration } from '../../lib/format';

type Step = NonNullable<DestinationTestResult['step']>;
type Outcome = 'passed' | 'failed' | 'not-reached' | 'not-tested';

const STEPS: readonly Step[] = ['connect', 'auth', 'container', 'write'];

function stepLabel(step: Step, type: DestinationType | undefined): string {
  switch (step) {
    case 'connect':
      return 'Connect';
    case 'auth':
      return 'Sign in';
    case 'container':
      return type === 's3' || type === 'gcs' ? 'Bucket' : 'Folder';
    case 'write':
      return 'Write';
  }
}

const OUTCOME: Record<Outcome, { icon: string; text: string }> = {
  passed: { icon: '✓', text: 'passed' },
  failed: { icon: '✗', text: 'failed' },
  'not-reached': { icon: '–', text: 'not reached' },
  'not-tested': { icon: '–', text: 'not tested' },
};

/** Each step's outcome: the steps before the failed one passed, those after it were never tried. */
function outcomes(result: DestinationTestResult, type: DestinationType | undefined): Outcome[] {
  // An upload-only endpoint is only asked whether it answers and accepts the credentials (OPTIONS).
  if (result.ok)
    return STEPS.map((s) => (type === 'http' && (s === 'container' || s === 'write') ? 'not-tested' : 'passed'));
  const failed = STEPS.indexOf(result.step ?? 'connect');
  return STEPS.map((_, i) => (i < failed ? 'passed' : i === failed ? 'failed' : 'not-reached'));
}

/** "Test connection": connect → sign in → bucket/folder → write, each with a tick, a cross or a dash. */
export function TestResult({
  result,
  type,
  pending,
  action,
}: {
  result: DestinationTestResult | undefined;
  type: DestinationType | undefined;
  pending: boolean;
  /** Something the person can do about the result (e.g. pin the SFTP host key that was shown). */
  action?: React.ReactNode;
}): React.JSX.Element | null {
  if (pending)
    return (
      <div className="dest-test" data-testid="test-result" role="status" aria-busy="true">
        <span className="dest-spinner" aria-hidden="true" /> Testing the connection…
      </div>
    );
  if (!result) return null;
  const steps = outcomes(result, type);
  const failedStep = result.ok ? undefined : (result.step ?? 'connect');
  return (
    <div
      className={`dest-test dest-test--${result.ok ? 'ok' : 'failed'}`}
      data-testid="test-result"
      role={result.ok ? 'status' : 'alert'}
    >
      <div className="dest-test__head">
        <strong>
          {result.ok ? 'Connection works' : `Connection failed at “${stepLabel(failedStep ?? 'connect', type)}”`}
        </strong>
        <span className="muted small">in {formatDuration(result.durationMs)}</span>
      </div>
      <ol className="dest-steps" aria-label="Steps of the test">
        {STEPS.map((step, i) => {
          const outcome = steps[i] ?? 'not-reached';
          return (
            <li key={step} className={`dest-steps__step dest-steps__step--${outcome}`}>
              <span className="dest-steps__icon" aria-hidden="true">
                {OUTCOME[outcome].icon}
              </span>
              <span>
                {stepLabel(step, type)}
                <span className="dest-steps__outcome">: {OUTCOME[outcome].text}</span>
              </span>
            </li>
          );
        })}
      </ol>
      <p className="dest-test__message">{result.message}</p>
      {result.hint && <p className="dest-test__hint">{result.hint}</p>}
      {action}
    </div>
  );
}
