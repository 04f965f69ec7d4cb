import { useEffect, useState } from 'react';
import type { Settings } from '../../../shared/config';
import { bandwidthScheduleProblem } from '../../../shared/bandwidthSchedule';
import { ErrorNote, Field, Note, PageHeader } from '../components/ui';
import { describeProblem, problemAt, problemsUnder, useConfig, useSaveConfig, type Problem } from '../lib/config';
import { useRequest } from '../lib/query';
import { useThemePreview } from '../lib/theme';
import { BandwidthScheduleField } from './settings/BandwidthSchedule';

type Draft = Pick<
  Settings,
  | 'transfers'
  | 'retries'
  | 'rescan_interval'
  | 'remote_poll'
  | 'theme'
  | 'notifications'
  | 'start_at_login'
  | 'pause_on_battery'
  | 'pause_on_metered'
> & {
  /** rclone's --bwlimit timetable; empty: none. */
  schedule: string;
  /** The cap in the unit people think in; the config keeps bytes per second. */
  bandwidthMBps: string;
};

function draftOf(s: Settings): Draft {
  return {
    transfers: s.transfers,
    retries: s.retries,
    rescan_interval: s.rescan_interval,
    remote_poll: s.remote_poll,
    theme: s.theme,
    notifications: s.notifications,
    start_at_login: s.start_at_login,
    pause_on_battery: s.pause_on_battery,
    pause_on_metered: s.pause_on_metered,
    schedule: s.bandwidth_schedule ?? '',
    bandwidthMBps: s.bandwidth > 0 ? String(s.bandwidth / 1_000_000) : '',
  };
}

export function SettingsPage(): React.JSX.Element {
  const config = useConfig();
  const info = useRequest('app:info', {});
  const status = useRequest('status:get', {});
  const { save, saving } = useSaveConfig();
  const [draft, setDraft] = useState<Draft | undefined>();
  const [problems, setProblems] = useState<Problem[]>([]);
  const [saved, setSaved] = useState(false);
  const cfg = config.data;
  useEffect(() => {
    if (cfg && !draft) setDraft(draftOf(cfg.settings));
  }, [cfg, draft]);
  useThemePreview(draft?.theme, cfg?.settings.theme);
  if (!cfg || !draft) return <PageHeader title="Settings" lead=" " />;

  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setSaved(false);
    setDraft({ ...draft, [k]: v });
  };
  const mbps = Number(draft.bandwidthMBps || '0');
  const bandwidthProblem =
    draft.bandwidthMBps !== '' && !(Number.isFinite(mbps) && mbps >= 0)
      ? 'give a number of megabytes per second, or leave it empty for no cap'
      : undefined;
  // The schema's floor, said before saving: a shorter interval would list the destinations too often.
  const pollProblem =
    Number.isInteger(draft.remote_poll) && draft.remote_poll >= 5
      ? undefined
      : 'give a whole number of seconds, at least 5';
  const mine = problemsUnder(problems, 'settings');
  const scheduleProblem = draft.schedule.trim() === '' ? undefined : bandwidthScheduleProblem(draft.schedule);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (bandwidthProblem || pollProblem || scheduleProblem) return;
    const { bandwidthMBps: _unused, schedule, ...rest } = draft;
    const { bandwidth_schedule: _old, ...kept } = cfg.settings;
    const result = await save({
      ...cfg,
      settings: {
        ...kept,
        ...rest,
        bandwidth: Math.round(mbps * 1_000_000),
        ...(schedule.trim() === '' ? {} : { bandwidth_schedule: schedule.trim() }),
      },
    });
    if (result.ok) void status.refetch();
    setProblems(result.ok ? [] : result.problems);
    setSaved(result.ok);
  };

  return (
    <>
      <PageHeader title="Settings" />
      <form className="stack settings" noValidate onSubmit={(e) => void submit(e)} aria-label="Settings">
        <section className="card stack" aria-labelledby="set-transfers">
          <h2 id="set-transfers">Transfers</h2>
          <div className="form-grid form-grid--even">
            <Field
              label="Parallel transfers"
              help="How many files are shipped at once (1–64)."
              error={problemAt(mine, 'transfers')}
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={1}
                  max={64}
                  value={draft.transfers}
                  onChange={(e) => set('transfers', Number(e.target.value))}
                />
              )}
            </Field>
            <Field
              label="Bandwidth cap (MB/s)"
              help="Empty for no cap. Shared by all transfers."
              error={bandwidthProblem ?? problemAt(mine, 'bandwidth')}
            >
              {(p) => (
                <input
                  {...p}
                  type="text"
                  inputMode="decimal"
                  placeholder="no cap"
                  value={draft.bandwidthMBps}
                  onChange={(e) => set('bandwidthMBps', e.target.value.trim())}
                />
              )}
            </Field>
            <Field
              label="Retries"
              help="Attempts before a transfer is marked failed (0–20)."
              error={problemAt(mine, 'retries')}
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  max={20}
                  value={draft.retries}
                  onChange={(e) => set('retries', Number(e.target.value))}
                />
              )}
            </Field>
            <Field
              label="Full rescan every (seconds)"
              help="The safety net under the watchers."
              error={problemAt(mine, 'rescan_interval')}
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={10}
                  value={draft.rescan_interval}
                  onChange={(e) => set('rescan_interval', Number(e.target.value))}
                />
              )}
            </Field>
            <Field
              label="Look for changes at two-way destinations every (seconds)"
              help="Two-way rules only: how often their destinations are listed for changes made elsewhere (at least 5)."
              error={pollProblem ?? problemAt(mine, 'remote_poll')}
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={5}
                  step={1}
                  value={Number.isNaN(draft.remote_poll) ? '' : draft.remote_poll}
                  onChange={(e) => set('remote_poll', e.target.value === '' ? Number.NaN : Number(e.target.value))}
                />
              )}
            </Field>
          </div>
          <BandwidthScheduleField
            value={draft.schedule}
            onChange={(v) => set('schedule', v)}
            serverProblem={problemAt(mine, 'bandwidth_schedule')}
            inForce={status.data?.bandwidth}
          />
        </section>
        <section className="card stack" aria-labelledby="set-app">
          <h2 id="set-app">Appearance and desktop</h2>
          <fieldset className="radio-group">
            <legend className="field__label">Theme</legend>
            <p className="field__help">Shown as you choose; kept once you save.</p>
            {(['system', 'light', 'dark'] as const).map((t) => (
              <label key={t} className="check">
                <input
                  type="radio"
                  name="theme"
                  value={t}
                  checked={draft.theme === t}
                  onChange={() => set('theme', t)}
                />
                {t === 'system' ? 'As the system' : t === 'light' ? 'Light' : 'Dark'}
              </label>
            ))}
          </fieldset>
          <label className="check">
            <input
              type="checkbox"
              checked={draft.notifications}
              onChange={(e) => set('notifications', e.target.checked)}
            />
            Notify me when something needs me (a refused login, a full destination, a missing folder)
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={draft.start_at_login}
              onChange={(e) => set('start_at_login', e.target.checked)}
            />
            Start Ferry when I log in
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={draft.pause_on_battery}
              onChange={(e) => set('pause_on_battery', e.target.checked)}
            />
            Pause while the computer runs on battery
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={draft.pause_on_metered}
              onChange={(e) => set('pause_on_metered', e.target.checked)}
            />
            Pause on a metered network (as the system marks it: NetworkManager on Linux)
          </label>
          {info.data?.face === 'daemon' && (
            <p className="muted small">
              Notifications, start at login and the pauses on battery or a metered network apply to the desktop app;
              this window is served by the daemon.
            </p>
          )}
        </section>
        {problems.length > mine.length && (
          <Note kind="error">
            {problems
              .filter((p) => !p.path.startsWith('settings'))
              .map((p) => (
                <div key={p.path}>{describeProblem(cfg, p)}</div>
              ))}
          </Note>
        )}
        <div className="row">
          <button
            type="submit"
            className="btn btn--primary"
            disabled={
              saving || bandwidthProblem !== undefined || pollProblem !== undefined || scheduleProblem !== undefined
            }
          >
            {saving ? 'Saving…' : 'Save settings'}
          </button>
          {saved && (
            <span role="status" className="muted">
              Saved.
            </span>
          )}
        </div>
      </form>
      <section className="card" aria-labelledby="set-where">
        <h2 id="set-where">Where things are</h2>
        <ErrorNote error={info.error} />
        {info.data && (
          <dl className="facts facts--wide">
            <div>
              <dt>Configuration</dt>
              <dd className="mono">{info.data.configPath}</dd>
            </div>
            <div>
              <dt>State (index, queue, history)</dt>
              <dd className="mono">{info.data.stateDir}</dd>
            </div>
            <div>
              <dt>Secrets entered here</dt>
              <dd className="mono">{info.data.secretStore}</dd>
            </div>
            <div>
              <dt>Version</dt>
              <dd>
                Ferry {info.data.version} ({info.data.face === 'daemon' ? 'daemon, web window' : 'desktop app'},{' '}
                {info.data.platform})
              </dd>
            </div>
          </dl>
        )}
      </section>
    </>
  );
}
