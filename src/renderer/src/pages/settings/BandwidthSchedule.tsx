import { useMemo, useState } from 'react';
import type { StatusResult } from '../../../../shared/contract';
import {
  bandwidthScheduleProblem,
  DAY_LABELS,
  describeLimit,
  hourGrid,
  limitAt,
  limitText,
  parseBandwidthSchedule,
  scheduleFromGrid,
  WEEK_DAYS,
  type BandwidthSchedule as Schedule,
  type Limit,
} from '../../../../shared/bandwidthSchedule';
import { Field } from '../../components/ui';

const HOURS = Array.from({ length: 24 }, (_, h) => h);
const sameLimit = (a: Limit, b: Limit) => a.up === b.up && a.down === b.down;
const NONE: Schedule = { entries: [] };

function untilText(until: Date | undefined): string {
  if (!until) return '';
  const sameDay = until.toDateString() === new Date().toDateString();
  const time = until.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay ? ` until ${time}` : ` until ${until.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
}

/**
 * Each hour of the week shaded by the limit it starts with (one shade per distinct limit, in a legend);
 * clicking or dragging over hours paints them with the brush's limit.
 */
function WeekGrid({
  grid,
  brush,
  onPaint,
}: {
  grid: Limit[][];
  brush: Limit | undefined;
  onPaint: (row: number, hour: number) => void;
}) {
  const [painting, setPainting] = useState(false);
  const limits = useMemo(() => {
    const out: Limit[] = [];
    for (const row of grid) for (const l of row) if (!out.some((x) => sameLimit(x, l))) out.push(l);
    return out;
  }, [grid]);
  const shade = (l: Limit) => {
    const i = limits.findIndex((x) => sameLimit(x, l));
    return l.up === 0 && l.down === 0 ? 'off' : String(i % 6);
  };
  return (
    <div className="bw-grid" data-testid="bandwidth-grid" onMouseLeave={() => setPainting(false)}>
      <table onMouseUp={() => setPainting(false)}>
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
          {WEEK_DAYS.map((day, row) => (
            <tr key={day}>
              <th scope="row">{DAY_LABELS[day]}</th>
              {HOURS.map((hour) => {
                const l = grid[row]?.[hour] ?? { up: 0, down: 0 };
                const words = `${DAY_LABELS[day]} ${String(hour).padStart(2, '0')}:00 — ${describeLimit(l)}`;
                return (
                  <td key={hour} className={`bw-cell bw-cell--${shade(l)}`} title={words}>
                    <button
                      type="button"
                      className="bw-cell__button"
                      aria-label={words}
                      disabled={!brush}
                      onMouseDown={() => {
                        setPainting(true);
                        onPaint(row, hour);
                      }}
                      onMouseEnter={() => painting && onPaint(row, hour)}
                      onKeyDown={(e) => {
                        if (e.key === 'Enter' || e.key === ' ') {
                          e.preventDefault();
                          onPaint(row, hour);
                        }
                      }}
                    />
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="bw-legend" aria-label="Limits in the schedule">
        {limits.map((l) => (
          <li key={limitText(l)}>
            <span className={`bw-cell bw-cell--${shade(l)}`} aria-hidden="true" />
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
  const [brushText, setBrushText] = useState('1M');
  const problem = value.trim() === '' ? undefined : bandwidthScheduleProblem(value);
  const schedule = value.trim() === '' ? NONE : problem ? undefined : parseBandwidthSchedule(value);
  const draftNow = schedule && value.trim() !== '' ? limitAt(schedule, new Date()) : undefined;
  const grid = useMemo(() => (schedule ? hourGrid(schedule) : undefined), [schedule]);
  const brushProblem = /[\s,;]/.test(brushText.trim())
    ? 'one limit: 2M, 1M:256k or off'
    : bandwidthScheduleProblem(brushText);
  const brush = brushProblem ? undefined : parseBandwidthSchedule(brushText).entries[0]?.limit;
  const paint = (row: number, hour: number) => {
    if (!grid || !brush) return;
    const next = grid.map((r) => [...r]);
    (next[row] as Limit[])[hour] = brush;
    onChange(scheduleFromGrid(next));
  };
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
      {grid && (
        <div className="stack bw-paint">
          <Field
            label="Paint hours with"
            help="Click or drag over the hours below to give them this limit (whole hours; the schedule above is rewritten)."
            error={brushProblem}
          >
            {(p) => (
              <input
                {...p}
                type="text"
                className="mono bw-paint__brush"
                value={brushText}
                onChange={(e) => setBrushText(e.target.value)}
              />
            )}
          </Field>
          <WeekGrid grid={grid} brush={brush} onPaint={paint} />
        </div>
      )}
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
