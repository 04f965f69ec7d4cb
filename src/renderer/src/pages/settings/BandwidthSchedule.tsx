import { useMemo } from 'react';
import type { StatusResult } from '../../../../shared/contract';
import {
  bandwidthScheduleProblem,
  DAY_LABELS,
  describeLimit,
  limitAt,
  parseBandwidthSchedule,
  type BandwidthSchedule as Schedule,
  type Limit,
} from '../../../../shared/bandwidthSchedule';
import { Field } from '../../components/ui';

/** Monday first, as a week reads in most of the world; getDay() numbers (Sunday = 0). */
const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0] as const;
const HOURS = Array.from({ length: 24 }, (_, h) => h);
/** A reference week starting on a Monday (2026-01-05): only its days and hours matter. */
const cellDate = (day: number, hour: number) => new Date(2026, 0, 4 + (day === 0 ? 7 : day), hour, 0);
const sameLimit = (a: Limit, b: Limit) => a.up === b.up && a.down === b.down;

function untilText(until: Date | undefined): string {
  if (!until) return '';
  const sameDay = until.toDateString() === new Date().toDateString();
  const time = until.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay ? ` until ${time}` : ` until ${until.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
}

/** Each hour of the week shaded by the limit it starts with; one shade per distinct limit, in a legend. */
function WeekGrid({ schedule }: { schedule: Schedule }) {
  const { cells, limits } = useMemo(() => {
    const limits: Limit[] = [];
    const cells = WEEK_ORDER.map((day) =>
      HOURS.map((hour) => {
        const l = limitAt(schedule, cellDate(day, hour)).limit;
        let i = limits.findIndex((x) => sameLimit(x, l));
        if (i < 0) i = limits.push(l) - 1;
        return i;
      }),
    );
    return { cells, limits };
  }, [schedule]);
  return (
    <div className="bw-grid" data-testid="bandwidth-grid">
      <table>
        <caption className="visually-hidden">The limit at the start of each hour of the week</caption>
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Day</span>
            </th>
            {HOURS.map((h) => (
              <th key={h} scope="col" className="bw-grid__hour">
                {h % 3 === 0 ? String(h).padStart(2, '0') : <span className="visually-hidden">{h}</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {WEEK_ORDER.map((day, row) => (
            <tr key={day}>
              <th scope="row">{DAY_LABELS[day]}</th>
              {HOURS.map((hour) => {
                const i = cells[row]?.[hour] ?? 0;
                const words = describeLimit(limits[i] as Limit);
                return (
                  <td
                    key={hour}
                    className={`bw-cell bw-cell--${(limits[i]?.up ?? 0) === 0 && (limits[i]?.down ?? 0) === 0 ? 'off' : i % 6}`}
                    title={`${DAY_LABELS[day]} ${String(hour).padStart(2, '0')}:00 — ${words}`}
                  >
                    <span className="visually-hidden">{words}</span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="bw-legend" aria-label="Limits in the schedule">
        {limits.map((l, i) => (
          <li key={i}>
            <span className={`bw-cell bw-cell--${l.up === 0 && l.down === 0 ? 'off' : i % 6}`} aria-hidden="true" />
            {describeLimit(l)}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * `settings.bandwidth_schedule` in rclone's --bwlimit syntax: typed, checked as typed with the same
 * parser the config schema uses, shown as a week, with the limit it puts in force now; and the limit
 * the engine has in force (the saved settings).
 */
export function BandwidthScheduleField({
  value,
  onChange,
  serverProblem,
  inForce,
}: {
  value: string;
  onChange: (v: string) => void;
  serverProblem: string | undefined;
  inForce: StatusResult['bandwidth'] | undefined;
}): React.JSX.Element {
  const problem = value.trim() === '' ? undefined : bandwidthScheduleProblem(value);
  const schedule = value.trim() === '' || problem ? undefined : parseBandwidthSchedule(value);
  const draftNow = schedule ? limitAt(schedule, new Date()) : undefined;
  return (
    <div className="stack">
      <Field
        label="Bandwidth schedule"
        help={
          <>
            rclone&apos;s <code>--bwlimit</code> timetable: <code>08:00,2M 18:00,off</code>, days as{' '}
            <code>Mon-08:00,1M</code>, upload:download as <code>1M:512k</code>. Units are binary (k = KiB/s, M = MiB/s).
            When set, it takes the place of the cap above. Empty for none.
          </>
        }
        error={problem ?? serverProblem}
      >
        {(p) => (
          <input
            {...p}
            type="text"
            className="mono"
            spellCheck={false}
            placeholder="no schedule"
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
        )}
      </Field>
      {draftNow && (
        <p className="small" data-testid="bandwidth-draft-now">
          This schedule means, now: <strong>{describeLimit(draftNow.limit)}</strong>
          {untilText(draftNow.until)}.
        </p>
      )}
      {schedule && schedule.entries.length > 1 && <WeekGrid schedule={schedule} />}
      {inForce && (
        <p className="muted small" role="status" data-testid="bandwidth-in-force">
          In force now: {describeLimit(inForce)}
          {inForce.until === null ? '' : untilText(new Date(inForce.until))}
          {inForce.scheduled ? ' (from the saved schedule)' : ''}.
        </p>
      )}
    </div>
  );
}
