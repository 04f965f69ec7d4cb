// Sandboxed preload (CommonJS): exposes the contract (requests + events) and never ipcRenderer itself.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  CALL_CHANNEL,
  EVENT_CHANNEL,
  PICK_FOLDER_CHANNEL,
  REVEAL_PATH_CHANNEL,
  type BridgeEvent,
  type FerryBridge,
} from '../shared/bridge';

/** Injected at build time from package.json by electron.vite.config.ts. */
declare const __FERRY_VERSION__: string;

const bridge: FerryBridge = Object.freeze({
  version: __FERRY_VERSION__,
  platform: process.platform,
  // Inputs are validated again in the main process against the contract's schemas.
  call: ((name: string, input: unknown) => {
    if (typeof name !== 'string') return Promise.reject(new TypeError('request name must be a string'));
    return ipcRenderer.invoke(CALL_CHANNEL, name, input);
  }) as FerryBridge['call'],
  subscribe: (listener: (event: BridgeEvent) => void) => {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const handler = (_e: IpcRendererEvent, event: BridgeEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.off(EVENT_CHANNEL, handler);
    };
  },
  pickFolder: async () => {
    const picked: unknown = await ipcRenderer.invoke(PICK_FOLDER_CHANNEL);
    return typeof picked === 'string' ? picked : undefined;
  },
  // The main process decides what may be shown (inside a configured folder or local destination).
  revealPath: async (absPath: string) => {
    if (typeof absPath !== 'string' || absPath === '') throw new TypeError('revealPath needs a non-empty path');
    return (await ipcRenderer.invoke(REVEAL_PATH_CHANNEL, absPath)) === true;
  },
});

contextBridge.exposeInMainWorld('ferry', bridge);
