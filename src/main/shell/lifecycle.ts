import { app, powerMonitor } from 'electron';

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

/** Where the app keeps its config and state (per user, per OS convention). */
export function userDataDir(): string {
  return app.getPath('userData');
}

/**
 * Runs `handler` once before the app quits, holding the quit until it has finished (the engine
 * stops gracefully: running transfers stay queued).
 */
export function beforeQuit(handler: () => Promise<void>): void {
  let done = false;
  app.on('before-quit', (event) => {
    if (done) return;
    event.preventDefault();
    done = true;
    void handler().finally(() => app.quit());
  });
}

/** The machine woke from sleep (or the screen was unlocked after one): connections may be gone. */
export function onResume(handler: () => void): void {
  powerMonitor.on('resume', () => handler());
}

/** Whether the machine runs on battery now, and every time that changes (Electron's power monitor). */
export function onPowerSource(handler: (onBattery: boolean) => void): void {
  handler(powerMonitor.isOnBatteryPower());
  powerMonitor.on('on-battery', () => handler(true));
  powerMonitor.on('on-ac', () => handler(false));
}
