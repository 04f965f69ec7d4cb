import { QueryClient, useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { BridgeError } from '../../../shared/bridge';
import type { RequestInput, RequestName, Results } from '../../../shared/contract';
import type { FerryEventName } from '../../../shared/events';
import { onEvents, request } from './bridge';

export const queryClient = new QueryClient({
  defaultOptions: {
    // The event stream says when data changes; no refetch storms on focus.
    queries: { refetchOnWindowFocus: false, retry: 1, staleTime: 2_000 },
  },
});

/** A contract request as cached, shared data. */
export function useRequest<K extends RequestName>(
  name: K,
  input: RequestInput<K>,
  opts: Omit<UseQueryOptions<Results[K], BridgeError>, 'queryKey' | 'queryFn'> = {},
) {
  return useQuery<Results[K], BridgeError>({
    queryKey: [name, input],
    queryFn: () => request(name, input),
    ...opts,
  });
}

/** A contract request that changes something; the named requests are refetched after it. */
export function useAction<K extends RequestName>(name: K, invalidates: RequestName[] = []) {
  const client = useQueryClient();
  return useMutation<Results[K], BridgeError, RequestInput<K>>({
    mutationFn: (input) => request(name, input),
    onSettled: () => {
      for (const n of invalidates) void client.invalidateQueries({ queryKey: [n] });
    },
  });
}

/** Which cached requests an event makes stale. */
const STALE: Partial<Record<FerryEventName, RequestName[]>> = {
  'queue:changed': ['queue:list', 'status:get'],
  'transfer:done': ['history:query', 'activity:aggregate', 'destination:usage', 'conflicts:list', 'versions:list'],
  'transfer:failed': ['history:query', 'queue:list', 'status:get'],
  'transfer:stopped': ['history:query', 'queue:list', 'status:get'],
  'transfer:started': ['queue:list'],
  'folder:status': ['status:get'],
  'service:status': ['status:get'],
  'deletions:held': ['status:get'],
  'destination:error': ['status:get'],
  'scan:done': ['status:get', 'rules:preview', 'conflicts:list'],
};

/**
 * Refetches what the event stream says changed, at most a few times a second per request: a burst of
 * 10,000 transfers costs a handful of refetches, not 10,000.
 */
export function useLiveInvalidation(): void {
  const client = useQueryClient();
  useEffect(() => {
    const due = new Set<RequestName>();
    let timer: number | undefined;
    const flush = () => {
      timer = undefined;
      for (const n of due) void client.invalidateQueries({ queryKey: [n] });
      due.clear();
    };
    return onEvents((e) => {
      const names = STALE[e.event];
      if (!names) return;
      for (const n of names) due.add(n);
      timer ??= window.setTimeout(flush, 400);
    });
  }, [client]);
}
