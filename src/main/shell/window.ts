import { fileURLToPath } from 'node:url';
import { BrowserWindow, shell } from 'electron';
import type { BrowserWindowConstructorOptions } from 'electron';
import type { FerryConfig } from '../../shared/config';
import { revealDecision } from '../desktop/revealPolicy';
import { contentSecurityPolicy, externalOpenAction, mainWindowOptions, refuseAllPermissions } from './windowOptions';

export type MainWindowPaths = {
  /** Absolute path of the built preload script (CommonJS). */
  readonly preloadPath: string;
  /** Absolute path of the built renderer's index.html. */
  readonly rendererHtmlPath: string;
  /** Vite dev server URL (electron-vite sets ELECTRON_RENDERER_URL in `dev`); undefined in a build. */
  readonly devServerUrl: string | undefined;
  readonly iconPath?: string;
  /** A packaged build (no DevTools). */
  readonly packaged: boolean;
  /** The folders and local destinations a file:// link may be revealed in (as the reveal request). */
  readonly config: () => Pick<FerryConfig, 'folders' | 'destinations'>;
};

/** A file:// URL's local path; undefined for one naming another host or carrying bad escapes. */
function localPathOf(url: URL): string | undefined {
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}

export function createMainWindow(paths: MainWindowPaths): BrowserWindow {
  const options: BrowserWindowConstructorOptions = mainWindowOptions({
    preloadPath: paths.preloadPath,
    packaged: paths.packaged,
    ...(paths.iconPath === undefined ? {} : { iconPath: paths.iconPath }),
  });
  const win = new BrowserWindow(options);
  const { webContents } = win;

  // The CSP as a response header too (the renderer's meta tag carries the same policy).
  webContents.session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy] },
    });
  });
  refuseAllPermissions(webContents.session);

  // A single-page app: never navigate away, never open another window. Share links open in the
  // person's browser; a file link is shown in the file manager.
  webContents.on('will-navigate', (event) => event.preventDefault());
  webContents.setWindowOpenHandler(({ url }) => {
    const action = externalOpenAction(url, (path) => revealDecision(path, paths.config()), localPathOf);
    if (action.kind === 'browser') void shell.openExternal(action.url);
    else if (action.kind === 'reveal') shell.showItemInFolder(action.path);
    return { action: 'deny' };
  });

  win.once('ready-to-show', () => win.show());

  const loading =
    paths.devServerUrl !== undefined ? win.loadURL(paths.devServerUrl) : win.loadFile(paths.rendererHtmlPath);
  loading.catch((error: unknown) => {
    console.error('ferry: could not load the renderer', error);
  });
  return win;
}

/** Brings an existing window to the front (used when a second instance is launched). */
export function revealWindow(win: BrowserWindow): void {
  if (win.isDestroyed()) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}
