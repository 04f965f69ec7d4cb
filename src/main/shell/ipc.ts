import { dialog, ipcMain, type BrowserWindow, type OpenDialogOptions } from 'electron';
import { CALL_CHANNEL, EVENT_CHANNEL, PICK_FOLDER_CHANNEL } from '../../shared/bridge';
import type { FerryApi } from '../../shared/contract';
import { bigintReplacer } from '../../shared/json';
import { call, toApiError } from '../engine/host/api';
import type { EventBus } from '../engine/events';
import { isTrustedSender } from './senderTrust';

/** JSON round trip: BigInts become strings, as on the web API, so both bridges deliver the same values. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, bigintReplacer)) as unknown;
}

/**
 * Serves the contract to the window over IPC: requests from Ferry's own renderer only, validated
 * against the contract's schemas by `call`; every engine event forwarded to the window.
 */
export function serveContract(opts: {
  api: FerryApi;
  events: EventBus;
  window: () => BrowserWindow | undefined;
  renderer: { htmlPath: string; devServerUrl?: string | undefined };
}): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event, name: unknown, input: unknown) => {
    if (!isTrustedSender(event.senderFrame?.url, opts.renderer))
      throw new Error('refused: the request does not come from Ferry’s window');
    try {
      return plain(await call(opts.api, String(name), input));
    } catch (err) {
      // Only the message crosses IPC: carry the wire form of the error in it (the bridge parses it back).
      throw new Error(JSON.stringify(toApiError(err).body.error));
    }
  });
  ipcMain.handle(PICK_FOLDER_CHANNEL, async (event) => {
    if (!isTrustedSender(event.senderFrame?.url, opts.renderer))
      throw new Error('refused: the request does not come from Ferry’s window');
    const win = opts.window();
    const options: OpenDialogOptions = {
      title: 'Choose a folder for Ferry to watch',
      properties: ['openDirectory', 'createDirectory'],
    };
    const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    return result.canceled ? undefined : result.filePaths[0];
  });
  const off = opts.events.onAny((name, payload) => {
    const win = opts.window();
    if (win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, plain({ event: name, payload }));
  });
  return () => {
    off();
    ipcMain.removeHandler(CALL_CHANNEL);
    ipcMain.removeHandler(PICK_FOLDER_CHANNEL);
  };
}
