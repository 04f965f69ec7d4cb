import type { RequestInput, RequestName, Results } from './contract';
import type { FerryEventName, FerryEvents } from './events';

/** IPC channels of the Electron face; the preload and the main process agree on these two only. */
export const CALL_CHANNEL = 'ferry:call';
export const EVENT_CHANNEL = 'ferry:event';

export type BridgeEvent = { [K in FerryEventName]: { event: K; payload: FerryEvents[K] } }[FerryEventName];

/**
 * What the window sees as `window.ferry`: the contract's requests and its event stream, nothing else.
 * The Electron preload implements it over IPC; a web bridge implements it over HTTP and WebSocket.
 */
export type FerryBridge = {
  readonly version: string;
  readonly platform: string;
  call<K extends RequestName>(name: K, input: RequestInput<K>): Promise<Results[K]>;
  /** Returns the function that stops the subscription. */
  subscribe(listener: (event: BridgeEvent) => void): () => void;
};
