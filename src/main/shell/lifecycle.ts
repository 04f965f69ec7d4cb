import { app } from 'electron';

/** Thin wrappers over Electron's `app`, so the composition root never imports electron itself. */

/** True if this process is the only running Ferry; false means another instance already owns the lock. */
export function acquireSingleInstanceLock(): boolean {
  return app.requestSingleInstanceLock();
}

export function onSecondInstance(handler: () => void): void {
  app.on('second-instance', () => handler());
}

export function whenReady(): Promise<void> {
  return app.whenReady();
}

export function onAllWindowsClosed(handler: () => void): void {
  app.on('window-all-closed', () => handler());
}

/** macOS: the dock icon was clicked. */
export function onActivate(handler: () => void): void {
  app.on('activate', () => handler());
}

export function quit(): void {
  app.quit();
}

export function isPackaged(): boolean {
  return app.isPackaged;
}
