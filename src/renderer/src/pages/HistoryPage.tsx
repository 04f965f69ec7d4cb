import { useCallback, useMemo, useState } from 'react';
import type { HistoryEntry, RequestInput } from '../../../shared/contract';
import { EmptyState, ErrorNote, PageHeader, StatusBadge, type Health } from '../components/ui';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { request } from '../lib/bridge';
import { useConfig } from '../lib/config';
import { formatBytes, formatDayAndTime, formatDuration } from '../lib/format';
import { usePagedRows } from '../lib/pagedRows';
import { useDebounced } from '../lib/useDebounced';
import { useMediaQuery } from '../lib/useMediaQuery';
import { csvHeader, csvRows } from '../../../shared/historyCsv';
import { versionsHref } from './versions/versionsRoute';

type Filters = { search: string; destination: string; outcome: string; from: string; to: string };
const NO_FILTERS: Filters = { search: '', destination: '', outcome: '', from: '', to: '' };
const OUTCOME_HEALTH: Record<HistoryEntry['outcome'], Health> = {
  done: 'ok',
  failed: 'error',
  skipped: 'off',
  cancelled: 'paused',
};

/** The query the filters stand for: dates are local days, `to` includes its whole day. */
function toQuery(f: Filters): Omit<RequestInput<'history:query'>, 'offset' | 'limit'> {
  const day = (s: string, end: boolean) => {
    const [y, m, d] = s.split('-').map(Number);
    return new Date(y ?? 0, (m ?? 1) - 1, (d ?? 1) + (end ? 1 : 0)).getTime();
  };
  return {
    ...(f.search.trim() ? { search: f.search.trim() } : {}),
    ...(f.destination ? { destination: f.destination } : {}),
    ...(f.outcome ? { outcome: f.outcome as HistoryEntry['outcome'] } : {}),
    ...(f.from ? { from: day(f.from, false) } : {}),
    ...(f.to ? { to: day(f.to, true) } : {}),
  };
}

/**
 * Two lines a row: the date over the time, the file over where it went, the rule over its destination.
 * A narrow window drops the duration rather than squeeze every column to "e…".
 */
function columns(narrow: boolean): Column<HistoryEntry>[] {
  return [
    {
      id: 'at',
      header: 'When',
      width: '112px',
      render: (r) => {
        const { day, time } = formatDayAndTime(r.at);
        return (
          <span className="cell-lines">
            <span>{day}</span>
            <span className="muted">{time}</span>
          </span>
        );
      },
    },
    {
      id: 'path',
      header: 'File',
      width: 'minmax(0, 2.2fr)',
      render: (r) => (
        <span className="cell-lines mono">
          <a className="truncate" href={versionsHref(r.folder, r.path)} title="Versions of this file">
            {r.path}
          </a>
          <span className="truncate muted" data-testid="history-remote">
            {r.remotePath ? `→ ${r.remotePath}` : '—'}
          </span>
        </span>
      ),
    },
    {
      id: 'rule',
      header: 'Rule',
      width: 'minmax(120px, 1.4fr)',
      render: (r) => (
        <span className="cell-lines">
          <span className="truncate">{r.rule}</span>
          <span className="truncate muted">→ {r.destination ?? 'this computer'}</span>
        </span>
      ),
    },
    { id: 'size', header: 'Size', width: '76px', align: 'right', render: (r) => formatBytes(r.bytes) },
    ...(narrow
      ? []
      : [
          {
            id: 'dur',
            header: 'Duration',
            width: '84px',
            align: 'right',
            render: (r) => formatDuration(r.durationMs),
          } satisfies Column<HistoryEntry>,
        ]),
    {
      id: 'outcome',
      header: 'Outcome',
      width: 'minmax(96px, 1fr)',
      render: (r) => (
        <span className="cell-lines outcome">
          <StatusBadge health={OUTCOME_HEALTH[r.outcome]}>{r.outcome}</StatusBadge>
          {r.error && <span className="outcome__why truncate">{r.error.message}</span>}
        </span>
      ),
    },
  ];
}

export function HistoryPage(): React.JSX.Element {
  const config = useConfig();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const debounced = useDebounced(filters, 250);
  const query = useMemo(() => toQuery(debounced), [debounced]);
  const key = JSON.stringify(query);
  const fetchPage = useCallback(
    (offset: number, limit: number) => request('history:query', { ...query, offset, limit }),
    [query],
  );
  const rows = usePagedRows<HistoryEntry>({
    key,
    fetchPage,
    refreshOn: ['transfer:done', 'transfer:failed', 'transfer:stopped'],
    refreshMs: 1000,
  });
  const [exporting, setExporting] = useState<{ done: number; total: number } | undefined>();
  const [exportError, setExportError] = useState<Error | undefined>();
  const narrow = useMediaQuery('(max-width: 1100px)');
  const cols = useMemo(() => columns(narrow), [narrow]);

  const exportCsv = async () => {
    setExportError(undefined);
    const parts: string[] = [csvHeader()];
    try {
      // Newest first, a page at a time: rows that arrive meanwhile do not shift what is exported (ids only grow).
      let maxId: number | undefined;
      let offset = 0;
      for (;;) {
        const page = await request('history:query', { ...query, offset, limit: 1000 });
        const items = maxId === undefined ? page.items : page.items.filter((r) => r.id <= (maxId as number));
        maxId ??= page.items[0]?.id;
        parts.push(csvRows(items));
        offset += page.items.length;
        setExporting({ done: offset, total: page.total });
        if (page.items.length < 1000) break;
      }
      const url = URL.createObjectURL(new Blob(parts, { type: 'text/csv;charset=utf-8' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `ferry-history-${new Date().toISOString().slice(0, 10)}.csv`;
      a.click();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setExportError(err as Error);
    } finally {
      setExporting(undefined);
    }
  };

  const set = (k: keyof Filters) => (e: { target: { value: string } }) =>
    setFilters((f) => ({ ...f, [k]: e.target.value }));
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  return (
    <>
      <PageHeader
        title="History"
        lead={
          rows.total === undefined
            ? ' '
            : `${rows.total.toLocaleString()} transfer${rows.total === 1 ? '' : 's'}${filtered ? ' match' : ''}`
        }
        actions={
          <button
            type="button"
            className="btn"
            disabled={!rows.total || exporting !== undefined}
            onClick={() => void exportCsv()}
          >
            {exporting
              ? `Exporting ${exporting.done.toLocaleString()} / ${exporting.total.toLocaleString()}…`
              : 'Export CSV'}
          </button>
        }
      />
      <form className="filters" role="search" aria-label="Filter history" onSubmit={(e) => e.preventDefault()}>
        <label className="filters__search">
          <span className="visually-hidden">Search</span>
          <input
            type="search"
            placeholder="Search files, rules, tags…"
            value={filters.search}
            onChange={set('search')}
          />
        </label>
        <label>
          <span className="filters__label">Destination</span>
          <select value={filters.destination} onChange={set('destination')}>
            <option value="">All</option>
            {config.data?.destinations.map((d) => (
              <option key={d.id} value={d.id}>
                {d.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="filters__label">Outcome</span>
          <select value={filters.outcome} onChange={set('outcome')}>
            <option value="">All</option>
            <option value="done">Done</option>
            <option value="failed">Failed</option>
            <option value="skipped">Skipped</option>
            <option value="cancelled">Cancelled</option>
          </select>
        </label>
        <label>
          <span className="filters__label">From</span>
          <input type="date" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          <span className="filters__label">To</span>
          <input type="date" value={filters.to} onChange={set('to')} />
        </label>
        <button type="button" className="btn" disabled={!filtered} onClick={() => setFilters(NO_FILTERS)}>
          Clear
        </button>
      </form>
      <ErrorNote error={rows.error ?? exportError} />
      {rows.total === 0 ? (
        filtered ? (
          <EmptyState title="No transfer matches these filters">Clear a filter to see more.</EmptyState>
        ) : (
          <EmptyState title="Nothing shipped yet">
            Every transfer is recorded here — time, file, rule, destination, size and outcome — once Ferry ships
            something.
          </EmptyState>
        )
      ) : (
        <VirtualTable
          label="Transfer history"
          testId="history-table"
          columns={cols}
          rowHeight={50}
          rowCount={rows.total ?? 0}
          row={rows.row}
          rowKey={(r) => r.id}
          onRange={rows.onRange}
          height="calc(100vh - 250px)"
        />
      )}
    </>
  );
}
