import { useCallback, useEffect, useRef, useState } from 'react';
import type { FerryEventName } from '../../../shared/events';
import { onEvents } from './bridge';

type Page<T> = { total: number; items: T[] };

/**
 * Rows of a long server-side list (50,000 queued transfers, 100,000 history rows) fetched a page at a
 * time as they scroll into view. Data already shown stays until its replacement arrives, so a refresh
 * while events stream in never blanks or jumps the list.
 */
export function usePagedRows<T>(opts: {
  /** Changes when the query changes (filters, tab): everything is fetched anew. */
  key: string;
  fetchPage: (offset: number, limit: number) => Promise<Page<T>>;
  pageSize?: number;
  /** Events after which the visible pages are fetched again (at most every `refreshMs`). */
  refreshOn?: readonly FerryEventName[];
  refreshMs?: number;
}) {
  const size = opts.pageSize ?? 200;
  const pages = useRef(new Map<number, T[]>());
  const inflight = useRef(new Set<number>());
  const range = useRef({ start: 0, end: 0 });
  const generation = useRef(0);
  const fetchRef = useRef(opts.fetchPage);
  fetchRef.current = opts.fetchPage;
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [, setVersion] = useState(0);

  const load = useCallback(
    (page: number, force = false) => {
      if (inflight.current.has(page) || (!force && pages.current.has(page))) return;
      inflight.current.add(page);
      const gen = generation.current;
      fetchRef.current(page * size, size).then(
        (res) => {
          inflight.current.delete(page);
          if (gen !== generation.current) return;
          pages.current.set(page, res.items);
          setTotal(res.total);
          setError(undefined);
          setVersion((v) => v + 1);
        },
        (err: unknown) => {
          inflight.current.delete(page);
          if (gen === generation.current) setError(err as Error);
        },
      );
    },
    [size],
  );

  useEffect(() => {
    generation.current++;
    pages.current = new Map();
    inflight.current = new Set();
    setTotal(undefined);
    load(0);
  }, [opts.key, load]);

  const visiblePages = useCallback(() => {
    const first = Math.floor(range.current.start / size);
    const last = Math.floor(Math.max(range.current.end, range.current.start) / size);
    const out: number[] = [];
    for (let p = first; p <= last; p++) out.push(p);
    return out;
  }, [size]);

  const refresh = useCallback(() => {
    // Pages out of view are dropped (fetched again when scrolled to); visible ones are replaced in place.
    const keep = new Set(visiblePages());
    for (const p of [...pages.current.keys()]) if (!keep.has(p)) pages.current.delete(p);
    for (const p of keep) load(p, true);
  }, [load, visiblePages]);

  const refreshOn = opts.refreshOn?.join(',') ?? '';
  useEffect(() => {
    if (!refreshOn) return;
    const names = new Set(refreshOn.split(','));
    let timer: number | undefined;
    const off = onEvents((e) => {
      if (!names.has(e.event)) return;
      timer ??= window.setTimeout(() => {
        timer = undefined;
        refresh();
      }, opts.refreshMs ?? 500);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, [refreshOn, refresh, opts.refreshMs]);

  const onRange = useCallback(
    (start: number, end: number) => {
      range.current = { start, end };
      for (const p of visiblePages()) load(p);
    },
    [load, visiblePages],
  );

  const row = useCallback((i: number): T | undefined => pages.current.get(Math.floor(i / size))?.[i % size], [size]);

  return { total, row, onRange, refresh, error };
}
