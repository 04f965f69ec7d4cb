import { keepPreviousData } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { EmptyState, ErrorNote, PageHeader, Tabs } from '../components/ui';
import { formatBytes, plural } from '../lib/format';
import { useRequest } from '../lib/query';
import { lastBuckets, toChartRows, type Bucket } from './activity/series';

const COUNT: Record<Bucket, number> = { day: 30, week: 12, month: 12 };
/** Distinguishable in light and dark themes, and for the common colour-vision deficiencies (Okabe–Ito). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];

export function ActivityPage(): React.JSX.Element {
  const [bucket, setBucket] = useState<Bucket>('day');
  const [metric, setMetric] = useState<'files' | 'bytes'>('files');
  const buckets = useMemo(() => lastBuckets(new Date(), bucket, COUNT[bucket]), [bucket]);
  const from = buckets[0]?.start.getTime() ?? 0;
  const activity = useRequest(
    'activity:aggregate',
    { bucket, from, utcOffsetMinutes: -new Date().getTimezoneOffset() },
    { placeholderData: keepPreviousData },
  );
  const { data, destinations } = useMemo(
    () => toChartRows(activity.data ?? [], buckets, metric, bucket),
    [activity.data, buckets, metric, bucket],
  );
  const format = (v: number) => (metric === 'bytes' ? formatBytes(v) : v.toLocaleString());
  const total = data.reduce((sum, r) => sum + destinations.reduce((s, d) => s + (r[d] as number), 0), 0);
  return (
    <>
      <PageHeader
        title="Activity"
        lead={`${metric === 'files' ? plural(total, 'file') : formatBytes(total)} shipped in the last ${COUNT[bucket]} ${bucket}s`}
        actions={
          <div className="segmented" role="group" aria-label="Measure">
            {(['files', 'bytes'] as const).map((m) => (
              <button
                key={m}
                type="button"
                className="btn btn--small"
                aria-pressed={metric === m}
                onClick={() => setMetric(m)}
              >
                {m === 'files' ? 'Files' : 'Bytes'}
              </button>
            ))}
          </div>
        }
      />
      <Tabs
        label="Period"
        value={bucket}
        onChange={setBucket}
        tabs={[
          { id: 'day', label: 'Days' },
          { id: 'week', label: 'Weeks' },
          { id: 'month', label: 'Months' },
        ]}
      />
      <ErrorNote error={activity.error} />
      <section
        className="card chart-card"
        role="tabpanel"
        aria-labelledby={`tab-${bucket}`}
        data-testid="activity-chart"
      >
        {activity.data && total === 0 ? (
          <EmptyState title="Nothing shipped in this period">Files Ferry ships show here, per destination.</EmptyState>
        ) : (
          <ResponsiveContainer width="100%" height={340}>
            <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
              <CartesianGrid stroke="var(--border)" vertical={false} />
              <XAxis
                dataKey="label"
                stroke="var(--muted)"
                tick={{ fill: 'var(--muted)', fontSize: 12 }}
                minTickGap={12}
              />
              <YAxis
                stroke="var(--muted)"
                tick={{ fill: 'var(--muted)', fontSize: 12 }}
                tickFormatter={format}
                allowDecimals={false}
                width={72}
              />
              <Tooltip
                formatter={(v) => format(Number(v))}
                contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }}
                cursor={{ fill: 'var(--surface-2)' }}
              />
              <Legend />
              {destinations.map((d, i) => (
                <Bar
                  key={d}
                  dataKey={d}
                  name={d}
                  stackId="all"
                  fill={PALETTE[i % PALETTE.length]}
                  isAnimationActive={false}
                />
              ))}
            </BarChart>
          </ResponsiveContainer>
        )}
      </section>
      <details className="card">
        <summary>The same figures as a table</summary>
        <table className="table" data-testid="activity-table">
          <thead>
            <tr>
              <th>{bucket === 'day' ? 'Day' : bucket === 'week' ? 'Week' : 'Month'}</th>
              {destinations.map((d) => (
                <th key={d} className="num">
                  {d}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data
              .filter((r) => destinations.some((d) => (r[d] as number) > 0))
              .map((r) => (
                <tr key={r.bucket}>
                  <td>{r.label}</td>
                  {destinations.map((d) => (
                    <td key={d} className="num">
                      {format(r[d] as number)}
                    </td>
                  ))}
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
