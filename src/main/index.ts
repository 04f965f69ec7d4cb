// Composition root for the Electron face. Electron is reached only through ./shell.
import { join } from 'node:path';
import { openAppEngine } from './engine/appEngine';
import { serveContract } from './shell/ipc';
import {
  acquireSingleInstanceLock,
  beforeQuit,
  isPackaged,
  onActivate,
  onAllWindowsClosed,
  onSecondInstance,
  quit,
  userDataDir,
  whenReady,
} from './shell/lifecycle';
import { createMainWindow, revealWindow } from './shell/window';

type MainWindow = ReturnType<typeof createMainWindow>;

let mainWindow: MainWindow | undefined;

const rendererHtmlPath = join(__dirname, '../renderer/index.html');
const devServerUrl = isPackaged() ? undefined : process.env['ELECTRON_RENDERER_URL'];

function openWindow(): MainWindow {
  const win = createMainWindow({
    preloadPath: join(__dirname, '../preload/index.js'),
    rendererHtmlPath,
    devServerUrl,
    ...(process.platform === 'linux' ? { iconPath: join(__dirname, '../../resources/icon.png') } : {}),
  });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = undefined;
  });
  return win;
}

async function start(): Promise<void> {
  // The engine runs in this process (the file workers keep hashing and copying off its thread).
  const engine = await openAppEngine(userDataDir());
  serveContract({
    api: engine.host.api,
    events: engine.events,
    window: () => mainWindow,
    renderer: { htmlPath: rendererHtmlPath, devServerUrl },
  });
  beforeQuit(() => engine.close());
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
