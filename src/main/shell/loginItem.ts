import { homedir } from 'node:os';
import { app } from 'electron';
import {
  applyAutostart,
  autostartDir,
  loginItemFollower,
  loginItemPlan,
  startsHidden,
  type LoginItemPlan,
} from '../desktop/loginItem';

/** Registers Ferry to start at login (hidden, to the tray), or removes it: what `settings.start_at_login` says. */
export function applyLoginItem(startAtLogin: boolean): LoginItemPlan {
  const plan = loginItemPlan({
    startAtLogin,
    platform: process.platform,
    packaged: app.isPackaged,
    execPath: process.execPath,
    appImage: process.env['APPIMAGE'],
  });
  if (plan.kind === 'electron') app.setLoginItemSettings(plan.settings);
  else if (plan.kind === 'xdg-autostart') applyAutostart(autostartDir(process.env, homedir()), plan);
  return plan;
}

/**
 * A function to call with the setting at start and after every config change: the OS is touched only
 * when the value changes; a failure is logged, never thrown (the sync goes on).
 */
export function followLoginItem(log: (message: string) => void = console.error): (startAtLogin: boolean) => void {
  const follow = loginItemFollower((on) => void applyLoginItem(on));
  return (on) => {
    try {
      follow(on);
    } catch (err) {
      // Not recorded as applied: the next config change tries again.
      log(`ferry: could not ${on ? 'register' : 'remove'} the login item: ${(err as Error).message}`);
    }
  };
}

/** Whether this process was started at login and should stay in the tray (no window). */
export function launchedHidden(): boolean {
  const wasOpenedAtLogin = process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin;
  return startsHidden(process.argv, wasOpenedAtLogin);
}
