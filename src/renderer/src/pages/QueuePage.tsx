import { useCallback, useMemo, useState } from 'react';
import type { QueueItem } from '../../../shared/contract';
import { OverallProgress } from '../components/OverallProgress';
import { EmptyState, ErrorNote, PageHeader, ProgressBar, Tabs } from '../components/ui';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { request } from '../lib/bridge';
import { formatBytes, formatRate, formatTimeLeft, queueSentence } from '../lib/format';
import { usePagedRows } from '../lib/pagedRows';
import { useOverallProgress, useTransferProgress } from '../lib/progress';
import { useAction, useRequest } from '../lib/query';
import { replaceSubRoute, subRoute } from '../lib/route';
import { asSentence } from '../lib/sentence';

type Tab = 'pending' | 'active' | 'failed';

/** A failed row holds its reason and its fix in full: four lines of text. */
const FAILED_ROW_HEIGHT = 96;

const KIND: Record<QueueItem['kind'], string> = {
  upload: 'Upload',
  'move-remote': 'Rename',
  'copy-remote': 'Copy',
  'delete-remote': 'Delete at destination',
  'delete-local': 'Remove source',
  download: 'Bring home',
  conflict: 'Keep both (conflict)',
  'move-local': 'Rename here',
  'set-aside': 'Keep both (file and folder)',
  'trash-local': 'Move to trash',
};

function Where({ item }: { item: QueueItem }) {
  return (
    <span className="truncate" title={`${item.folder}/${item.path}`}>
      <span className="mono">{item.path}</span>
      <span className="muted small"> · {item.folder}</span>
    </span>
  );
}

/** One running transfer: only this row re-renders on its progress ticks. */
function ActiveRow({ item }: { item: QueueItem }) {
  const p = useTransferProgress(item.id);
  // Rate and time left by the one progress model's measure, so they agree with the Status page's.
  const model = useOverallProgress().transfers.find((t) => t.jobId === item.id);
  const cancel = useAction('transfer:cancel', ['queue:list', 'status:get']);
  const total = p?.total ?? item.size;
  const done = Math.max(p?.bytes ?? 0, model?.sent ?? 0);
  const rate = model?.rate ?? 0;
  return (
    <li className="active-row" data-testid="active-transfer">
      <div className="active-row__top">
        <Where item={item} />
        <span className="muted small">
          {KIND[item.kind]} → {item.destination ?? 'source'}
          {item.remotePath && item.remotePath !== item.path && (
            <>
              : <span className="mono">{item.remotePath}</span>
            </>
          )}
        </span>
        <span className="spacer" />
        <span className="small num">
          {formatBytes(done)} / {formatBytes(total)} · {formatRate(rate)} · {formatTimeLeft(total - done, rate)}
        </span>
        <button
          type="button"
          className="btn btn--small"
          aria-label={`Cancel ${item.path}`}
          disabled={cancel.isPending}
          onClick={() => cancel.mutate({ id: item.id })}
        >
          Cancel
        </button>
      </div>
      <ProgressBar value={done} max={total} label={`${item.path}: ${formatBytes(done)} of ${formatBytes(total)}`} />
    </li>
  );
}

function ActiveList() {
  const active = useRequest('queue:list', { state: 'active', limit: 1000 }, { refetchInterval: 5_000 });
  if (active.error) return <ErrorNote error={active.error} />;
  const items = active.data?.items ?? [];
  if (items.length === 0)
    return (
      <EmptyState title="Nothing is being shipped right now">
        Transfers show here, with live progress, while they run.
      </EmptyState>
    );
  return (
    <ul className="active-list" aria-label="Running transfers">
      {items.map((i) => (
        <ActiveRow key={i.id} item={i} />
      ))}
    </ul>
  );
}

function PagedList({ state }: { state: 'pending' | 'failed' }) {
  const fetchPage = useCallback(
    (offset: number, limit: number) => request('queue:list', { state, offset, limit }),
    [state],
  );
  const rows = usePagedRows<QueueItem>({
    key: state,
    fetchPage,
    refreshOn: ['queue:changed', 'transfer:failed', 'transfer:done', 'transfer:stopped'],
  });
  const retry = useAction('transfer:retry', ['queue:list', 'status:get']);
  const retryOne = retry.mutate;
  const refresh = rows.refresh;
  // Stable columns: the table's rows are memoized and re-render only when their data changes.
  const columns = useMemo(() => {
    const cols: Column<QueueItem>[] = [
      { id: 'path', header: 'File', width: 'minmax(0, 3fr)', render: (r) => <Where item={r} /> },
      { id: 'dest', header: 'Destination', width: 'minmax(0, 1fr)', render: (r) => r.destination ?? '—' },
      { id: 'kind', header: 'Action', width: '150px', render: (r) => KIND[r.kind] },
      { id: 'size', header: 'Size', width: '90px', align: 'right', render: (r) => formatBytes(r.size) },
    ];
    if (state === 'pending')
      cols.push({
        id: 'reason',
        header: 'Why',
        width: 'minmax(0, 2fr)',
        render: (r) => <span title={r.reason}>{r.reason}</span>,
      });
    else
      cols.push(
        {
          id: 'error',
          header: 'Reason',
          width: 'minmax(0, 3fr)',
          // Whole sentences, wrapped: the reason names the path, the fix says what to do.
          render: (r) => (
            <div className="queue-reason" data-testid="failure-reason">
              <span className="queue-error">{asSentence(r.lastError?.message ?? 'it failed')}</span>
              {r.lastError?.hint && <span className="muted">Fix: {asSentence(r.lastError.hint)}</span>}
            </div>
          ),
        },
        {
          id: 'retry',
          header: '',
          width: '80px',
          render: (r) => (
            <button
              type="button"
              className="btn btn--small"
              aria-label={`Retry ${r.path}`}
              onClick={() => retryOne({ id: r.id }, { onSettled: refresh })}
            >
              Retry
            </button>
          ),
        },
      );
    return cols;
  }, [state, retryOne, refresh]);
  if (rows.error) return <ErrorNote error={rows.error} />;
  if (rows.total === 0)
    return state === 'pending' ? (
      <EmptyState title="Nothing is waiting">
        Changes in your folders are queued here until a transfer slot is free.
      </EmptyState>
    ) : (
      <EmptyState title="No failed transfers">
        Transfers that fail after their retries wait here, with the reason.
      </EmptyState>
    );
  return (
    <VirtualTable
      label={state === 'pending' ? 'Pending transfers' : 'Failed transfers'}
      testId={`queue-${state}`}
      columns={columns}
      {...(state === 'failed' ? { rowHeight: FAILED_ROW_HEIGHT } : {})}
      rowCount={rows.total ?? 0}
      row={rows.row}
      rowKey={(r) => r.id}
      onRange={rows.onRange}
    />
  );
}

export function QueuePage(): React.JSX.Element {
  const [tab, setTabState] = useState<Tab>(() => {
    const sub = subRoute();
    return sub === 'pending' || sub === 'failed' ? sub : 'active';
  });
  const setTab = (t: Tab) => {
    setTabState(t);
    replaceSubRoute('queue', t);
  };
  const status = useRequest('status:get', {});
  const q = status.data?.queue;
  const retryAll = useAction('transfer:retryAll', ['queue:list', 'status:get']);
  const paused = status.data?.state === 'paused';
  const pause = useAction(paused ? 'sync:resume' : 'sync:pause', ['status:get']);
  return (
    <>
      <PageHeader
        title="Queue"
        lead={q ? queueSentence(q) : ' '}
        actions={
          <>
            <button type="button" className="btn" onClick={() => pause.mutate({})} disabled={pause.isPending}>
              {paused ? 'Resume all' : 'Pause all'}
            </button>
            <button
              type="button"
              className="btn btn--primary"
              disabled={!q || q.failed === 0 || retryAll.isPending}
              onClick={() => retryAll.mutate({})}
            >
              Retry all failed
            </button>
          </>
        }
      />
      <ErrorNote error={retryAll.error ?? pause.error} />
      <OverallProgress compact />
      <Tabs
        label="Queue"
        value={tab}
        onChange={setTab}
        tabs={[
          { id: 'active', label: `Active (${q?.active ?? 0})` },
          { id: 'pending', label: `Pending (${(q?.pending ?? 0).toLocaleString()})` },
          { id: 'failed', label: `Failed (${(q?.failed ?? 0).toLocaleString()})` },
        ]}
      />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'active' ? <ActiveList /> : <PagedList key={tab} state={tab} />}
      </div>
    </>
  );
}
