import { BridgeError, type BridgeEvent, type FerryBridge } from '../../../shared/bridge';
import type { ApiError } from '../../../shared/contract';
import { FERRY_VERSION } from '../../../shared/version';

const TOKEN_KEY = 'ferry.token';

/**
 * The daemon's token, taken once from the address the daemon printed (`#token=…`: a fragment is never
 * sent to a server or kept in its logs), then kept for this tab only and removed from the address bar.
 */
export function takeToken(): string | undefined {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** The contract over the daemon's HTTP API and its WebSocket event stream (reconnected when it drops). */
export function webBridge(token: string): FerryBridge {
  const listeners = new Set<(e: BridgeEvent) => void>();
  let socket: WebSocket | undefined;
  let retryMs = 500;
  let retryTimer: number | undefined;

  const open = () => {
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${window.location.host}/api/events?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onopen = () => {
      retryMs = 500;
    };
    ws.onmessage = (m: MessageEvent<string>) => {
      const event = JSON.parse(m.data) as BridgeEvent;
      for (const l of listeners) l(event);
    };
    ws.onclose = () => {
      if (socket !== ws || listeners.size === 0) return;
      // The daemon restarted or the machine slept: come back, without hammering it.
      retryTimer = window.setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    };
  };

  return {
    version: FERRY_VERSION,
    platform: 'web',
    call: (async (name: string, input: unknown) => {
      let res: Response;
      try {
        res = await fetch(`/api/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        });
      } catch {
        throw new BridgeError('Ferry does not answer: is the daemon still running?', 'unreachable');
      }
      if (res.ok) return res.json();
      const body = (await res.json().catch(() => undefined)) as ApiError | undefined;
      if (res.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      throw new BridgeError(
        body?.error.message ?? `the request failed (${res.status})`,
        body?.error.code ?? String(res.status),
        body?.error.hint,
        body?.error.issues ?? [],
      );
    }) as FerryBridge['call'],
    subscribe: (listener) => {
      listeners.add(listener);
      if (!socket) open();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          const s = socket;
          socket = undefined;
          window.clearTimeout(retryTimer);
          s?.close();
        }
      };
    },
  };
}
