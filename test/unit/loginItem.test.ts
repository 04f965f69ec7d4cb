import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyAutostart,
  AUTOSTART_FILE,
  autostartDir,
  autostartEntry,
  execArg,
  HIDDEN_ARG,
  loginItemFollower,
  loginItemPlan,
  startsHidden,
} from '../../src/main/desktop/loginItem';

const base = { packaged: true, execPath: '/opt/Ferry/ferry' };

describe('start at login', () => {
  it('asks macOS to open Ferry at login (it says so at the next start: no argument)', () => {
    expect(loginItemPlan({ ...base, startAtLogin: true, platform: 'darwin' })).toEqual({
      kind: 'electron',
      settings: { openAtLogin: true },
    });
    expect(loginItemPlan({ ...base, startAtLogin: false, platform: 'darwin' })).toEqual({
      kind: 'electron',
      settings: { openAtLogin: false },
    });
  });

  it('registers the executable with --hidden on Windows, and the same pair when turning it off', () => {
    const execPath = 'C:\\Users\\me\\AppData\\Local\\Programs\\Ferry\\Ferry.exe';
    expect(loginItemPlan({ ...base, execPath, startAtLogin: true, platform: 'win32' })).toEqual({
      kind: 'electron',
      settings: { openAtLogin: true, path: execPath, args: [HIDDEN_ARG] },
    });
    expect(loginItemPlan({ ...base, execPath, startAtLogin: false, platform: 'win32' })).toEqual({
      kind: 'electron',
      settings: { openAtLogin: false, path: execPath, args: [HIDDEN_ARG] },
    });
  });

  it('writes an XDG autostart entry on Linux, pointing at the AppImage rather than its temporary mount', () => {
    const plan = loginItemPlan({
      ...base,
      execPath: '/tmp/.mount_FerryX1/ferry',
      appImage: '/home/me/Apps/Ferry-0.1.0.AppImage',
      startAtLogin: true,
      platform: 'linux',
    });
    expect(plan.kind).toBe('xdg-autostart');
    if (plan.kind !== 'xdg-autostart') return;
    expect(plan.enabled).toBe(true);
    expect(plan.fileName).toBe(AUTOSTART_FILE);
    expect(plan.content).toContain('Exec=/home/me/Apps/Ferry-0.1.0.AppImage --hidden\n');
    expect(plan.content).not.toContain('.mount_');
    const off = loginItemPlan({ ...base, startAtLogin: false, platform: 'linux' });
    expect(off).toMatchObject({ kind: 'xdg-autostart', enabled: false });
  });

  it('never registers a development run', () => {
    expect(loginItemPlan({ ...base, packaged: false, startAtLogin: true, platform: 'darwin' }).kind).toBe('none');
    expect(loginItemPlan({ ...base, packaged: false, startAtLogin: true, platform: 'linux' }).kind).toBe('none');
  });

  it('generates a valid desktop entry, quoting and escaping an awkward path as the spec says', () => {
    const entry = autostartEntry('/usr/bin/ferry');
    expect(entry.split('\n')).toEqual([
      '[Desktop Entry]',
      'Type=Application',
      'Version=1.0',
      'Name=Ferry',
      'Comment=Keeps your folders shipped to their destinations',
      'Exec=/usr/bin/ferry --hidden',
      'TryExec=/usr/bin/ferry',
      'Icon=ferry',
      'Terminal=false',
      'Categories=Utility;',
      'X-GNOME-Autostart-enabled=true',
      '',
    ]);
    expect(execArg('/home/me/My Apps/Ferry.AppImage')).toBe('"/home/me/My Apps/Ferry.AppImage"');
    expect(execArg('/home/me/100%/ferry')).toBe('/home/me/100%%/ferry');
    expect(execArg('/home/me/$HOME "x"/f')).toBe('"/home/me/\\\\$HOME \\\\"x\\\\"/f"');
    // One literal backslash inside quotes becomes four (quoting escape, then string escape).
    expect(execArg('/a\\b')).toBe('"/a\\\\\\\\b"');
  });

  it('puts the entry in $XDG_CONFIG_HOME/autostart, else ~/.config/autostart', () => {
    expect(autostartDir({}, '/home/me')).toBe('/home/me/.config/autostart');
    expect(autostartDir({ XDG_CONFIG_HOME: '/cfg' }, '/home/me')).toBe('/cfg/autostart');
    expect(autostartDir({ XDG_CONFIG_HOME: 'relative' }, '/home/me')).toBe('/home/me/.config/autostart');
  });

  describe('the autostart file', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('is written when the setting is on and removed when it is off', () => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-autostart-'));
      const autostart = join(dir, 'autostart');
      const content = autostartEntry('/usr/bin/ferry');
      applyAutostart(autostart, { enabled: true, fileName: AUTOSTART_FILE, content });
      expect(readFileSync(join(autostart, AUTOSTART_FILE), 'utf8')).toBe(content);
      applyAutostart(autostart, { enabled: true, fileName: AUTOSTART_FILE, content });
      expect(readdirSync(autostart)).toEqual([AUTOSTART_FILE]);
      applyAutostart(autostart, { enabled: false, fileName: AUTOSTART_FILE, content });
      expect(readdirSync(autostart)).toEqual([]);
      // Removing it again, or from a folder that does not exist, is not an error.
      applyAutostart(autostart, { enabled: false, fileName: AUTOSTART_FILE, content });
      applyAutostart(join(dir, 'none'), { enabled: false, fileName: AUTOSTART_FILE, content });
    });
  });

  it('stays in the tray when started at login', () => {
    expect(startsHidden(['/opt/Ferry/ferry', HIDDEN_ARG])).toBe(true);
    expect(startsHidden(['/opt/Ferry/ferry'])).toBe(false);
    expect(startsHidden(['/Applications/Ferry.app/Contents/MacOS/Ferry'], true)).toBe(true);
  });

  it('touches the OS only when the setting changes, and retries after a failure', () => {
    const applied: boolean[] = [];
    let fail = false;
    const follow = loginItemFollower((on) => {
      if (fail) throw new Error('denied');
      applied.push(on);
    });
    follow(false);
    follow(false);
    follow(true);
    follow(true);
    fail = true;
    expect(() => follow(false)).toThrow('denied');
    fail = false;
    follow(false);
    expect(applied).toEqual([false, true, false]);
  });
});
