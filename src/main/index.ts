// Composition root for the Electron face. Electron is reached only through ./shell.
import './threadPool';
import { join } from 'node:path';
import { NotificationBatcher, type Notice, type NoticeAction } from './desktop/notificationBatcher';
import { startTrayFeed } from './desktop/trayFeed';
import { trayModel, trayPlatformOf } from './desktop/trayModel';
import { TraySnapshotSource } from './desktop/traySnapshot';
import { watchMetered } from './desktop/meteredNetwork';
import { watchNetwork } from './desktop/networkChange';
import { PowerPolicy } from './desktop/powerPolicy';
import { safeKeychain } from './desktop/safeKeychain';
import { openAppEngine, type AppEngine } from './engine/host/appEngine';
import { serveContract } from './shell/ipc';
import {
  acquireSingleInstanceLock,
  beforeQuit,
  isPackaged,
  onActivate,
  onAllWindowsClosed,
  onPowerSource,
  onResume,
  onSecondInstance,
  quit,
  userDataDir,
  whenReady,
} from './shell/lifecycle';
import { followLoginItem, launchedHidden } from './shell/loginItem';
import { prepareNotifications, showNotice, showPage } from './shell/notify';
import { serveReveal } from './shell/reveal';
import { safeStorageCipher } from './shell/safeStorage';
import { createTray, menuBarTheme, networkOffline, onMenuBarThemeChange, trayIconsDir } from './shell/tray';
import { createMainWindow, revealWindow } from './shell/window';

type MainWindow = ReturnType<typeof createMainWindow>;

let mainWindow: MainWindow | undefined;
/** The running engine (set once started): the window's file links are revealed by its config only. */
let runningEngine: AppEngine | undefined;

const resourcesDir = join(__dirname, '../../resources');
const rendererHtmlPath = join(__dirname, '../renderer/index.html');
const devServerUrl = isPackaged() ? undefined : process.env['ELECTRON_RENDERER_URL'];

function openWindow(): MainWindow {
  const win = createMainWindow({
    preloadPath: join(__dirname, '../preload/index.js'),
    rendererHtmlPath,
    devServerUrl,
    packaged: isPackaged(),
    config: () => runningEngine?.host.config ?? { folders: [], destinations: [] },
    ...(process.platform === 'linux' ? { iconPath: join(resourcesDir, 'icon.png') } : {}),
  });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = undefined;
  });
  return win;
}

/** Opens the window, or brings it to the front; at a page when a notification asks for one. */
function showWindow(page?: NoticeAction): void {
  if (mainWindow === undefined) mainWindow = openWindow();
  else revealWindow(mainWindow);
  if (page) showPage(mainWindow, page);
}

/** The tray and the notifications: Ferry's face while the window is closed. Returns what stops them. */
function startDesktop(engine: AppEngine): () => void {
  const api = engine.host.api;
  const tell = (notice: Notice): void => showNotice(notice, showWindow);
  const notices = new NotificationBatcher({ notify: tell, enabled: () => engine.host.config.settings.notifications });
  const offNotices = engine.events.onAny((name, payload) => notices.observe(name, payload));
  const platform = trayPlatformOf(process.platform);
  const tray = createTray({
    iconsDir: trayIconsDir(resourcesDir),
    callbacks: {
      openWindow: () => showWindow(),
      pause: (folder) => api['sync:pause']({ folder }),
      resume: (folder) => api['sync:resume']({ folder }),
      shareLink: (destination, path) => api['destination:shareLink']({ destination, path, expiresSec: 24 * 3600 }),
      quit,
      tell,
    },
  });
  const feed = startTrayFeed({
    source: new TraySnapshotSource(api, { offline: networkOffline, theme: () => menuBarTheme(platform), platform }),
    events: engine.events,
    update: (snapshot) => {
      tray.show(trayModel(snapshot));
      notices.observeDestinations(snapshot.destinations);
    },
  });
  const offTheme = onMenuBarThemeChange(feed.refresh);
  return () => {
    offTheme();
    feed.stop();
    offNotices();
    notices.stop();
    tray.destroy();
  };
}

/** How long a quit waits for running transfers to finish before it interrupts them (they stay queued). */
const QUIT_GRACE_MS = 10_000;

async function start(): Promise<void> {
  prepareNotifications();
  // The engine runs in this process: hashing and copying happen in worker threads, and the process
  // still answers within 50 ms while it hashes 1 GiB (`npm run bench`, engine-lag).
  const dataDir = userDataDir();
  const engine = await openAppEngine(dataDir, { keychain: safeKeychain(dataDir, safeStorageCipher()) });
  runningEngine = engine;
  const renderer = { htmlPath: rendererHtmlPath, devServerUrl };
  serveContract({ api: engine.host.api, events: engine.events, window: () => mainWindow, renderer });
  const stopReveal = serveReveal({ config: () => engine.host.config, renderer });
  const stopDesktop = startDesktop(engine);
  // Start at login follows the setting; a saved config restarts the sync service (service:status).
  const loginItem = followLoginItem();
  loginItem(engine.host.config.settings.start_at_login);
  const offLogin = engine.events.on('service:status', () => loginItem(engine.host.config.settings.start_at_login));
  // After sleep or a network change, connections may be gone: reach the destinations again now.
  onResume(() => engine.host.recheck());
  // On battery or a metered network (settings.pause_on_battery / pause_on_metered), every transfer waits.
  const power = new PowerPolicy(
    (reason) => engine.host.hold(reason),
    () => engine.host.config.settings,
  );
  onPowerSource((onBattery) => power.battery(onBattery));
  const metered = watchMetered((m) => power.metered(m));
  const offPower = engine.events.on('service:status', () => power.update());
  const stopNetwork = watchNetwork(() => {
    metered.poke();
    engine.host.recheck();
  });
  beforeQuit(async () => {
    stopNetwork();
    metered.stop();
    offPower();
    offLogin();
    stopReveal();
    stopDesktop();
    await engine.close(QUIT_GRACE_MS);
  });
  // Started at login: the tray only, until the person opens the window.
  if (!launchedHidden()) mainWindow = openWindow();
  // A second launch focuses this instance's window (or reopens it after it was closed to the tray).
  onSecondInstance(() => showWindow());
  onActivate(() => showWindow());
}

if (!acquireSingleInstanceLock()) {
  quit();
} else {
  // Closing the window leaves Ferry syncing in the tray, on every OS: "Quit Ferry" (the tray) and the
  // OS's own quit (⌘Q, logging out) are what end it.
  onAllWindowsClosed(() => undefined);
  whenReady()
    .then(start)
    .catch((error: unknown) => {
      console.error('ferry: failed to start', error);
      quit();
    });
}
