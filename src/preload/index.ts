// Sandboxed preload (CommonJS): exposes one small, typed object and never ipcRenderer itself.
import { contextBridge } from 'electron';

/** Injected at build time from package.json by electron.vite.config.ts. */
declare const __FERRY_VERSION__: string;

// Placeholder shape: the full typed contract (src/shared) replaces it in a later issue.
export type FerryBridge = {
  readonly version: string;
  readonly platform: string;
};

const bridge: FerryBridge = Object.freeze({
  version: __FERRY_VERSION__,
  platform: process.platform,
});

contextBridge.exposeInMainWorld('ferry', bridge);
