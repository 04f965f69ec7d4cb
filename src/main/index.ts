// Composition root for the Electron face. Electron is reached only through ./shell.
import { join } from 'node:path';
import {
  acquireSingleInstanceLock,
  isPackaged,
  onActivate,
  onAllWindowsClosed,
  onSecondInstance,
  quit,
  whenReady,
} from './shell/lifecycle';
import { createMainWindow, revealWindow } from './shell/window';

type MainWindow = ReturnType<typeof createMainWindow>;

let mainWindow: MainWindow | undefined;

function openWindow(): MainWindow {
  const win = createMainWindow({
    preloadPath: join(__dirname, '../preload/index.js'),
    rendererHtmlPath: join(__dirname, '../renderer/index.html'),
    devServerUrl: isPackaged() ? undefined : process.env['ELECTRON_RENDERER_URL'],
    ...(process.platform === 'linux' ? { iconPath: join(__dirname, '../../resources/icon.png') } : {}),
  });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = undefined;
  });
  return win;
}

function start(): void {
  mainWindow = openWindow();
  // A second launch focuses this instance's window (or reopens it, macOS, after all were closed).
  onSecondInstance(() => {
    if (mainWindow === undefined) mainWindow = openWindow();
    else revealWindow(mainWindow);
  });
  onActivate(() => {
    mainWindow ??= openWindow();
  });
}

if (!acquireSingleInstanceLock()) {
  quit();
} else {
  onAllWindowsClosed(() => {
    if (process.platform !== 'darwin') quit();
  });
  whenReady()
    .then(start)
    .catch((error: unknown) => {
      console.error('ferry: failed to start', error);
      quit();
    });
}
