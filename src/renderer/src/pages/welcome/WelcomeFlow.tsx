import { useEffect, useState } from 'react';
import { BridgeError } from '../../../../shared/bridge';
import { ErrorNote, PageHeader } from '../../components/ui';
import { useConfig, useSaveConfig, type Problem } from '../../lib/config';
import { dropDraft, keepDraft, loadDraft } from '../../lib/drafts';
import { hrefOf } from '../../lib/route';
import { PathStep } from './PathStep';
import { RuleStep, type RuleAnswer } from './RuleStep';
import { defaultRuleName, nestingProblem, welcomeConfig } from './welcomeConfig';

const STEPS = [
  { id: 'folder', label: 'A folder' },
  { id: 'destination', label: 'A place for the copies' },
  { id: 'rule', label: 'A rule' },
] as const;
type StepId = (typeof STEPS)[number]['id'];
type PathAnswer = { typed: string; resolved: string };

/** Where the flow stood, kept while the person looks at another page (the nav stays usable meanwhile). */
const WELCOME_DRAFT = 'welcome';
type WelcomeDraft = {
  step: StepId;
  folder: PathAnswer;
  destination: PathAnswer;
  rule: RuleAnswer | undefined;
  /** What is typed in the step shown, not confirmed with Next yet. */
  typing: { folder?: string; destination?: string; rule?: RuleAnswer };
};
const noAnswer: PathAnswer = { typed: '', resolved: '' };

/**
 * The first run (nothing configured yet): a folder, a local destination, a rule that backs one up to
 * the other; then the whole configuration is saved at once and the window shows the status.
 */
export function WelcomeFlow(): React.JSX.Element {
  const config = useConfig();
  const { save, saving } = useSaveConfig();
  const [draft] = useState(() => loadDraft<WelcomeDraft>(WELCOME_DRAFT));
  const [step, setStep] = useState<StepId>(draft?.step ?? 'folder');
  // Focus follows the flow once it moves; on arrival it stays where the window put it.
  const [moved, setMoved] = useState(false);
  const [folder, setFolder] = useState<PathAnswer>(draft?.folder ?? noAnswer);
  const [destination, setDestination] = useState<PathAnswer>(draft?.destination ?? noAnswer);
  const [rule, setRule] = useState<RuleAnswer | undefined>(draft?.rule);
  const [typing, setTyping] = useState<WelcomeDraft['typing']>(draft?.typing ?? {});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<BridgeError | undefined>();

  useEffect(() => {
    const before = document.title;
    document.title = 'Welcome · Ferry';
    return () => {
      document.title = before;
    };
  }, []);

  useEffect(() => {
    const untouched =
      step === 'folder' && folder.typed === '' && (typing.folder ?? '') === '' && destination.typed === '';
    if (untouched) dropDraft(WELCOME_DRAFT);
    else keepDraft<WelcomeDraft>(WELCOME_DRAFT, { step, folder, destination, rule, typing });
  }, [step, folder, destination, rule, typing]);

  const go = (next: StepId) => {
    setMoved(true);
    setStep(next);
    setTyping({});
  };

  const finish = async (answer: RuleAnswer) => {
    if (!config.data) return;
    setRule(answer);
    setError(undefined);
    try {
      const result = await save(
        welcomeConfig(config.data, {
          folderPath: folder.resolved,
          destinationPath: destination.resolved,
          ruleName: answer.name,
          mode: answer.mode,
        }),
      );
      if (!result.ok) return setProblems(result.problems);
      dropDraft(WELCOME_DRAFT);
      // The config now has a folder: the window shows the status page in place of this flow.
      window.location.hash = hrefOf('status');
      document.getElementById('main')?.focus({ preventScroll: true });
    } catch (err) {
      setError(BridgeError.from(err));
    }
  };

  const at = STEPS.findIndex((s) => s.id === step);
  return (
    <div className="welcome" data-testid="welcome">
      <PageHeader
        title="Welcome to Ferry"
        lead="Three steps to your first backup: a folder to keep safe, a place for the copies, and a rule that ships one to the other."
      />
      <ol className="welcome__steps" aria-label="Setup steps">
        {STEPS.map((s, i) => (
          <li
            key={s.id}
            className={`welcome__step${i < at ? ' welcome__step--done' : ''}${i === at ? ' welcome__step--current' : ''}`}
            aria-current={i === at ? 'step' : undefined}
          >
            <span className="welcome__num" aria-hidden="true">
              {i < at ? '✓' : i + 1}
            </span>
            {s.label}
            {i < at && <span className="visually-hidden"> (done)</span>}
          </li>
        ))}
      </ol>
      <ErrorNote error={config.error ?? error} title="Could not save" />
      {step === 'folder' && (
        <PathStep
          key="folder"
          title="Which folder should Ferry keep safe?"
          intro="Ferry watches this folder and ships every change in it: your documents, photos, a project."
          label="Folder to back up"
          help="A folder on this computer, e.g. ~/Documents."
          initial={typing.folder ?? folder.typed}
          focus={moved}
          onTyped={(typed) => setTyping({ folder: typed })}
          onNext={(answer) => {
            setFolder(answer);
            go('destination');
          }}
        />
      )}
      {step === 'destination' && (
        <PathStep
          key="destination"
          title="Where should the copies go?"
          intro={
            <>
              A folder on an external disk, a second drive or a mounted network share (NAS). Cloud and network
              destinations (S3, Google Cloud Storage, Dropbox, SFTP, FTP, WebDAV) can be added later on the{' '}
              <a href={hrefOf('destinations')}>Destinations</a> page.
            </>
          }
          label="Destination folder"
          help="It must exist already: Ferry never creates a missing disk or mount point."
          initial={typing.destination ?? destination.typed}
          focus={moved}
          onTyped={(typed) => setTyping({ destination: typed })}
          problemWith={(resolved) => nestingProblem(folder.resolved, resolved)}
          onBack={() => go('folder')}
          onNext={(answer) => {
            setDestination(answer);
            go('rule');
          }}
        />
      )}
      {step === 'rule' && (
        <RuleStep
          folder={folder.resolved}
          destination={destination.resolved}
          initial={typing.rule ?? rule ?? { name: defaultRuleName(folder.resolved), mode: 'backup' }}
          onChange={(answer) => setTyping({ rule: answer })}
          focus={moved}
          saving={saving}
          problems={problems}
          onBack={(answer) => {
            setRule(answer);
            setProblems([]);
            go('destination');
          }}
          onSave={(answer) => void finish(answer)}
        />
      )}
      <p className="welcome__manual small muted">
        Rather set things up yourself? Use the <a href={hrefOf('folders')}>Folders</a>,{' '}
        <a href={hrefOf('destinations')}>Destinations</a> and <a href={hrefOf('rules')}>Rules</a> pages.
      </p>
    </div>
  );
}
