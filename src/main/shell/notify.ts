import { app, Notification, type BrowserWindow } from 'electron';
import { routeOf, type Notice, type NoticeAction } from '../desktop/notificationBatcher';

/** Windows shows notifications only for an app with a user model id: the installer's (electron-builder.yml appId). */
export const APP_USER_MODEL_ID = 'dev.ferry.app';

/** How many notifications are kept referenced: one that is collected never reports its click. */
const KEEP = 20;
const alive = new Set<Notification>();

/** Call once the app is ready. */
export function prepareNotifications(): void {
  if (process.platform === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID);
}

/** Shows a notice; a click on it runs its action (opens the window at a page). */
export function showNotice(notice: Notice, onAction: (action: NoticeAction) => void, iconPath?: string): void {
  if (!Notification.isSupported()) return;
  const n = new Notification({
    title: notice.title,
    body: notice.body,
    ...(iconPath === undefined ? {} : { icon: iconPath }),
  });
  const forget = (): void => void alive.delete(n);
  n.on('click', () => {
    forget();
    if (notice.action) onAction(notice.action);
  });
  n.on('close', forget);
  n.on('failed', (_event, error) => {
    forget();
    console.error(`ferry: a notification could not be shown: ${error}`);
  });
  alive.add(n);
  for (const old of alive) {
    if (alive.size <= KEEP) break;
    alive.delete(old);
  }
  n.show();
}

/** Brings the window to one of its pages (its router follows the address's fragment). */
export function showPage(win: BrowserWindow, action: NoticeAction): void {
  const { webContents } = win;
  // A fragment change is an in-page navigation: the page keeps its state, nothing reloads.
  const go = (): void => {
    webContents.executeJavaScript(`window.location.hash = ${JSON.stringify(routeOf(action))}`).catch((err: unknown) => {
      console.error('ferry: could not open the page', err);
    });
  };
  if (webContents.isLoading()) webContents.once('did-finish-load', go);
  else go();
}
