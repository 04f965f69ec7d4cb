import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef, type ReactNode } from 'react';

export type Column<T> = {
  id: string;
  header: string;
  /** A CSS grid track: "minmax(0, 2fr)", "90px". */
  width: string;
  align?: 'right';
  render: (row: T, index: number) => ReactNode;
};

/**
 * A table that renders only the rows in view (TanStack Virtual), so 100,000 rows scroll like 100.
 * Rows not fetched yet show a placeholder line of the same height: the scrollbar never jumps.
 */
export function VirtualTable<T>({
  label,
  columns,
  rowCount,
  row,
  rowKey,
  onRange,
  rowHeight = 38,
  height = 'calc(100vh - 260px)',
  testId,
}: {
  label: string;
  columns: Column<T>[];
  rowCount: number;
  row: (i: number) => T | undefined;
  rowKey?: (row: T, i: number) => string | number;
  onRange?: (start: number, end: number) => void;
  rowHeight?: number;
  height?: string;
  testId?: string;
}) {
  const scroll = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rowCount,
    getScrollElement: () => scroll.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    onRange?.(first, last);
  }, [first, last, onRange]);

  const template = columns.map((c) => c.width).join(' ');
  return (
    <div className="vtable" role="table" aria-label={label} aria-rowcount={rowCount + 1} data-testid={testId}>
      <div role="rowgroup">
        <div className="vtable__head" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
          {columns.map((c) => (
            <div key={c.id} role="columnheader" className={`vtable__cell${c.align === 'right' ? ' num' : ''}`}>
              {c.header}
            </div>
          ))}
        </div>
      </div>
      {/* Focusable so the keyboard scrolls it (arrows, Page Up/Down, Home/End). */}
      <div
        className="vtable__scroll"
        role="rowgroup"
        ref={scroll}
        style={{ height }}
        tabIndex={0}
        data-testid="vtable-scroll"
      >
        <div role="none" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((v) => {
            const data = row(v.index);
            return (
              <Row
                key={data !== undefined && rowKey ? rowKey(data, v.index) : `i${v.index}`}
                data={data}
                index={v.index}
                start={v.start}
                height={rowHeight}
                template={template}
                columns={columns as Column<unknown>[]}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

/** One row; memoized, so scrolling or a page arriving re-renders only the rows whose data changed. */
const Row = memo(function Row({
  data,
  index,
  start,
  height,
  template,
  columns,
}: {
  data: unknown;
  index: number;
  start: number;
  height: number;
  template: string;
  columns: Column<unknown>[];
}) {
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      className={`vtable__row${data === undefined ? ' vtable__row--loading' : ''}`}
      style={{ gridTemplateColumns: template, height, transform: `translateY(${start}px)` }}
    >
      {data === undefined ? (
        <div role="cell" className="vtable__cell">
          Loading…
        </div>
      ) : (
        columns.map((c) => (
          <div key={c.id} role="cell" className={`vtable__cell${c.align === 'right' ? ' num' : ''}`}>
            {c.render(data, index)}
          </div>
        ))
      )}
    </div>
  );
});
