import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../engine/files/atomicWrite';

/** Passed when the OS starts Ferry at login: it opens to the tray, without a window. */
export const HIDDEN_ARG = '--hidden';
export const AUTOSTART_FILE = 'ferry.desktop';

export type LoginItemInput = {
  readonly startAtLogin: boolean;
  readonly platform: NodeJS.Platform;
  /** Electron's `app.isPackaged`: a development run (electron + a source folder) is never registered. */
  readonly packaged: boolean;
  /** `process.execPath`: the app's executable. */
  readonly execPath: string;
  /** Linux AppImage: `process.env.APPIMAGE`, the image's own path (execPath lies in a temporary mount). */
  readonly appImage?: string | undefined;
};

/** What to do with the OS so that Ferry does, or does not, start at login. */
export type LoginItemPlan =
  /** macOS and Windows: the arguments of Electron's `app.setLoginItemSettings`. */
  | { kind: 'electron'; settings: { openAtLogin: boolean; path?: string; args?: string[] } }
  /** Linux (Electron has no login items there): an XDG autostart entry, written or removed. */
  | { kind: 'xdg-autostart'; enabled: boolean; fileName: string; content: string }
  | { kind: 'none'; reason: string };

export function loginItemPlan(input: LoginItemInput): LoginItemPlan {
  if (!input.packaged) return { kind: 'none', reason: 'a development run is never registered to start at login' };
  switch (input.platform) {
    case 'darwin':
      // macOS says at the next start that it opened Ferry at login (wasOpenedAtLogin): no argument needed.
      return { kind: 'electron', settings: { openAtLogin: input.startAtLogin } };
    case 'win32':
      // Windows compares path and args too when reading the setting back: always the same pair.
      return {
        kind: 'electron',
        settings: { openAtLogin: input.startAtLogin, path: input.execPath, args: [HIDDEN_ARG] },
      };
    case 'linux':
    case 'freebsd':
    case 'openbsd':
    case 'netbsd':
      return {
        kind: 'xdg-autostart',
        enabled: input.startAtLogin,
        fileName: AUTOSTART_FILE,
        content: autostartEntry(input.appImage || input.execPath),
      };
    default:
      return { kind: 'none', reason: `starting at login is not supported on ${input.platform}` };
  }
}

/** Whether this start should stay in the tray: launched at login (the argument, or macOS's word). */
export function startsHidden(argv: readonly string[], wasOpenedAtLogin = false): boolean {
  return argv.includes(HIDDEN_ARG) || wasOpenedAtLogin;
}

/** The XDG autostart desktop entry that starts Ferry, hidden, at login. */
export function autostartEntry(executable: string): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=Ferry',
    'Comment=Keeps your folders shipped to their destinations',
    `Exec=${execArg(executable)} ${HIDDEN_ARG}`,
    `TryExec=${escapeValue(executable)}`,
    'Icon=ferry',
    'Terminal=false',
    'Categories=Utility;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/**
 * One Exec argument, per the Desktop Entry spec: quoted when it holds a reserved character, with `"`
 * `` ` `` `$` `\` backslash-escaped inside the quotes, `%` doubled (field codes), and then the
 * string-value escaping on top (so one literal backslash ends up as four).
 */
export function execArg(arg: string): string {
  const needsQuotes = /[\s"'\\><~|&;$*?#()`]/.test(arg);
  const quoted = needsQuotes ? `"${arg.replace(/["`$\\]/g, (c) => `\\${c}`)}"` : arg;
  return escapeValue(quoted.replace(/%/g, '%%'));
}

/** String-value escaping of a desktop entry (`\\`, `\n`, `\t`, `\r`). */
function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

/** `$XDG_CONFIG_HOME/autostart`, or `~/.config/autostart` when it is unset or not absolute (the spec). */
export function autostartDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const base = env['XDG_CONFIG_HOME'];
  return join(base && base.startsWith('/') ? base : join(home, '.config'), 'autostart');
}

/** Writes (atomically) or removes the autostart entry in `dir`. Removing one that is not there is fine. */
export function applyAutostart(dir: string, plan: { enabled: boolean; fileName: string; content: string }): void {
  const file = join(dir, plan.fileName);
  if (!plan.enabled) {
    rmSync(file, { force: true });
    return;
  }
  writeFileAtomically(file, plan.content, { mode: 0o644, dirMode: 0o700 });
}

/**
 * Calls `apply` with the setting at the start and then only when it changes (the config is re-applied
 * on every save; the OS is touched once per actual change).
 */
export function loginItemFollower(apply: (startAtLogin: boolean) => void): (startAtLogin: boolean) => void {
  let last: boolean | undefined;
  return (startAtLogin) => {
    if (startAtLogin === last) return;
    apply(startAtLogin);
    last = startAtLogin;
  };
}
