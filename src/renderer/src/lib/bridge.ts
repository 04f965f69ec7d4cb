import { BridgeError, type BridgeEvent, type FerryBridge } from '../../../shared/bridge';
import type { RequestInput, RequestName, Results } from '../../../shared/contract';
import type { FerryEventName, FerryEvents } from '../../../shared/events';
import { takeToken, webBridge } from './webBridge';

/** The Electron preload's bridge, or the daemon's web bridge; undefined in a browser without a token. */
function pickBridge(): FerryBridge | undefined {
  if (window.ferry) return window.ferry;
  const token = takeToken();
  return token ? webBridge(token) : undefined;
}

export const bridge = pickBridge();

/** One request of the contract; failures arrive as BridgeError (message, code, hint, field issues). */
export async function request<K extends RequestName>(name: K, input: RequestInput<K>): Promise<Results[K]> {
  if (!bridge) throw new BridgeError('not connected to Ferry', 'unreachable');
  try {
    return await bridge.call(name, input);
  } catch (err) {
    throw BridgeError.from(err);
  }
}

type Listener = (event: BridgeEvent) => void;
const listeners = new Set<Listener>();
let unsubscribe: (() => void) | undefined;

/** One subscription to the bridge, shared by every part of the window. */
export function onEvents(listener: Listener): () => void {
  listeners.add(listener);
  if (bridge && !unsubscribe)
    unsubscribe = bridge.subscribe((e) => {
      for (const l of listeners) l(e);
    });
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      unsubscribe?.();
      unsubscribe = undefined;
    }
  };
}

export function onEvent<K extends FerryEventName>(name: K, handler: (payload: FerryEvents[K]) => void): () => void {
  return onEvents((e) => {
    if (e.event === name) handler(e.payload as FerryEvents[K]);
  });
}
