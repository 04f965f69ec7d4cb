import type { ApiError, RequestInput, RequestName, Results } from './contract';
import type { FerryEventName, FerryEvents } from './events';

/** IPC channels of the Electron face; the preload and the main process agree on these two only. */
export const CALL_CHANNEL = 'ferry:call';
export const EVENT_CHANNEL = 'ferry:event';
/** The desktop's native folder picker (the browser face types a path instead). */
export const PICK_FOLDER_CHANNEL = 'ferry:pickFolder';
/** The desktop's "show in the file manager", for paths inside a configured folder or local destination. */
export const REVEAL_PATH_CHANNEL = 'ferry:revealPath';

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
  /** The OS folder picker, in the desktop app only: the chosen absolute path, or undefined if cancelled. */
  pickFolder?: () => Promise<string | undefined>;
  /**
   * Shows a file in the OS file manager, in the desktop app only: true if it was shown; false when the
   * path is not inside a configured folder or local destination, or is not there.
   */
  revealPath?: (absPath: string) => Promise<boolean>;
};

/** A failed request as the window sees it, whichever bridge carried it. */
export class BridgeError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly hint?: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'BridgeError';
  }

  /** From an ApiError body, or from an IPC rejection whose message carries one as JSON. */
  static from(err: unknown): BridgeError {
    if (err instanceof BridgeError) return err;
    const text = err instanceof Error ? err.message : String(err);
    const start = text.indexOf('{');
    if (start >= 0) {
      try {
        const e = JSON.parse(text.slice(start)) as Partial<ApiError['error']>;
        if (typeof e.message === 'string') return new BridgeError(e.message, e.code ?? 'error', e.hint, e.issues ?? []);
      } catch {
        // not a carried ApiError: fall through
      }
    }
    return new BridgeError(text, 'error');
  }
}
