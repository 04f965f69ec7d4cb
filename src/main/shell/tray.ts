import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Menu,
  Tray,
  app,
  clipboard,
  nativeImage,
  nativeTheme,
  net,
  shell,
  type MenuItemConstructorOptions,
  type NativeImage,
} from 'electron';
import { actionFailed, shareLinkCopied } from '../desktop/actionNotices';
import type { Notice } from '../desktop/notificationBatcher';
import type { MenuBarTheme, TrayAction, TrayIcon, TrayMenuItem, TrayModel, TrayPlatform } from '../desktop/trayModel';

/** What the tray's menu does, given by the composition root. */
export type TrayCallbacks = {
  openWindow: () => void;
  pause: (folder?: string) => Promise<unknown>;
  resume: (folder?: string) => Promise<unknown>;
  shareLink: (destination: string, remotePath: string) => Promise<{ url: string; expiresAt: number | null }>;
  quit: () => void;
  /** Word for the person after an action (a link copied, or why it failed). */
  tell: (notice: Notice) => void;
};

export type FerryTray = {
  /** Shows a model; only what changed since the last one is handed to the OS. */
  show: (model: TrayModel) => void;
  destroy: () => void;
};

/** Where the icons are: beside the app once packaged (electron-builder's extraResources), else the checkout's. */
export function trayIconsDir(checkoutResources: string): string {
  return app.isPackaged ? join(process.resourcesPath, 'tray') : join(checkoutResources, 'tray');
}

/** The bar the icon sits on: Windows' taskbar follows the system theme, which may differ from the apps'. */
export function menuBarTheme(platform: TrayPlatform): MenuBarTheme {
  const dark =
    platform === 'win32' ? nativeTheme.shouldUseDarkColorsForSystemIntegratedUI : nativeTheme.shouldUseDarkColors;
  return dark ? 'dark' : 'light';
}

export function onMenuBarThemeChange(handler: () => void): () => void {
  nativeTheme.on('updated', handler);
  return () => nativeTheme.off('updated', handler);
}

/** False is a strong sign that nothing remote can be reached (true proves little). */
export function networkOffline(): boolean {
  return !net.isOnline();
}

function loadIcon(dir: string, icon: TrayIcon): NativeImage {
  const image = nativeImage.createEmpty();
  for (const { file, scaleFactor } of icon.images)
    image.addRepresentation({ scaleFactor, buffer: readFileSync(join(dir, file)) });
  // Template images are tinted by macOS to suit the menu bar (and its highlight).
  if (icon.template) image.setTemplateImage(true);
  return image;
}

function template(items: readonly TrayMenuItem[], run: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map((entry): MenuItemConstructorOptions => {
    if (entry.type === 'separator') return { id: entry.id, type: 'separator' };
    const { action, submenu, checked } = entry;
    return {
      id: entry.id,
      label: entry.label,
      enabled: entry.enabled,
      ...(checked === undefined ? {} : { type: 'checkbox' as const, checked }),
      ...(submenu === undefined ? {} : { submenu: template(submenu, run) }),
      ...(action === undefined ? {} : { click: () => run(action) }),
    };
  });
}

/**
 * The tray icon and its menu. Electron is handed the model's icon, tooltip and menu; the actions go to
 * the callbacks, except reveal (the file manager) and the clipboard, which are the shell's own.
 */
export function createTray(opts: {
  /** resources/tray: the files `npm run icons` made. */
  iconsDir: string;
  callbacks: TrayCallbacks;
  log?: (message: string) => void;
}): FerryTray {
  const { callbacks } = opts;
  const log = opts.log ?? ((m: string) => console.error(m));
  const icons = new Map<string, NativeImage>();
  let tray: Tray | undefined;
  let shown = { icon: '', tooltip: '', menu: '' };

  const attempt = (what: string, work: Promise<unknown>): void => {
    work.catch((err: unknown) => {
      log(`ferry: tray: could not ${what}: ${(err as Error).message}`);
      callbacks.tell(actionFailed(what, err));
    });
  };

  const run = (action: TrayAction): void => {
    switch (action.kind) {
      case 'pause-all':
        return attempt('pause', callbacks.pause());
      case 'resume-all':
        return attempt('resume', callbacks.resume());
      case 'pause-folder':
        return attempt(`pause “${action.folder}”`, callbacks.pause(action.folder));
      case 'resume-folder':
        return attempt(`resume “${action.folder}”`, callbacks.resume(action.folder));
      case 'open-window':
        return callbacks.openWindow();
      case 'reveal':
        return shell.showItemInFolder(action.path);
      case 'share-link':
        return attempt(
          'make a share link',
          callbacks.shareLink(action.destination, action.remotePath).then(async (link) => {
            await clipboard.writeText(link.url);
            callbacks.tell(shareLinkCopied(link, Date.now()));
          }),
        );
      case 'quit':
        return callbacks.quit();
    }
  };

  const iconFor = (icon: TrayIcon): NativeImage => {
    const key = icon.images.map((i) => i.file).join(',');
    let image = icons.get(key);
    if (!image) {
      image = loadIcon(opts.iconsDir, icon);
      icons.set(key, image);
    }
    return image;
  };

  return {
    show(model) {
      const iconKey = model.icon.images.map((i) => i.file).join(',');
      const menuKey = JSON.stringify(model.menu);
      if (tray === undefined || tray.isDestroyed()) {
        tray = new Tray(iconFor(model.icon));
        shown = { icon: iconKey, tooltip: '', menu: '' };
        // Windows: a click on the icon opens the window (the menu is on the right button). macOS and
        // Linux open the menu on a click.
        if (process.platform === 'win32') tray.on('click', () => callbacks.openWindow());
      }
      if (iconKey !== shown.icon) tray.setImage(iconFor(model.icon));
      if (model.tooltip !== shown.tooltip) tray.setToolTip(model.tooltip);
      // Rebuilt only when it reads differently: a rebuild closes a menu that is open on some desktops.
      if (menuKey !== shown.menu) tray.setContextMenu(Menu.buildFromTemplate(template(model.menu, run)));
      shown = { icon: iconKey, tooltip: model.tooltip, menu: menuKey };
    },
    destroy() {
      // Windows leaves a dead icon in the notification area until hovered if it is not removed.
      if (tray !== undefined && !tray.isDestroyed()) tray.destroy();
      tray = undefined;
    },
  };
}
