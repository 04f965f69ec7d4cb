import type { FerryBridge } from '../../shared/bridge';

declare global {
  interface Window {
    /** The contract, exposed by the Electron preload; absent in a plain browser (the web bridge serves it there). */
    readonly ferry: FerryBridge | undefined;
  }
}

export {};
