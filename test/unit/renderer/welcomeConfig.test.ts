import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/shared/config';
import {
  baseName,
  defaultRuleName,
  idFrom,
  isFirstRun,
  nestingProblem,
  welcomeConfig,
} from '../../../src/renderer/src/pages/welcome/welcomeConfig';

const empty = configSchema.parse({});

describe('the first-run flow', () => {
  it('is shown only while nothing is configured', () => {
    expect(isFirstRun(undefined)).toBe(false);
    expect(isFirstRun(empty)).toBe(true);
    expect(isFirstRun({ ...empty, destinations: [{ id: 'nas', type: 'local', path: '/mnt/nas' }] })).toBe(false);
  });

  it('names things after the folders picked', () => {
    expect(baseName('/home/me/Work/')).toBe('Work');
    expect(baseName('C:\\Users\\me\\My Photos')).toBe('My Photos');
    expect(idFrom('/home/me/My Photos', 'folder')).toBe('my-photos');
    expect(idFrom('/media/me/USB DISK (E)', 'backup')).toBe('usb-disk-e');
    expect(idFrom('/', 'folder')).toBe('folder');
    expect(idFrom('/home/me/Été 2025', 'folder')).toBe('ete-2025');
    expect(idFrom('/home/me/写真', 'folder')).toBe('folder');
    expect(defaultRuleName('/home/me/Work')).toBe('Back up Work');
  });

  it('refuses a destination that is the folder, inside it, or around it', () => {
    expect(nestingProblem('/home/me/Work', '/home/me/Work/')).toMatch(/the folder you are backing up/);
    expect(nestingProblem('/home/me/Work', '/home/me/Work/backup')).toMatch(/inside the folder/);
    expect(nestingProblem('/home/me/Work', '/home/me')).toMatch(/is inside this one/);
    expect(nestingProblem('C:\\Users\\me\\Work', 'c:/users/me/work/b')).toMatch(/inside the folder/);
    expect(nestingProblem('/home/me/Work', '/home/me/WorkBackup')).toBeUndefined();
    expect(nestingProblem('/home/me/Work', '/media/me/disk')).toBeUndefined();
  });

  it('builds a configuration the schema accepts: one folder, one local destination, one rule for everything', () => {
    const settings = { ...empty.settings, theme: 'dark' as const };
    const cfg = welcomeConfig(
      { ...empty, settings },
      { folderPath: '/home/me/Work', destinationPath: '/media/me/Backup', ruleName: ' Back up Work ', mode: 'mirror' },
    );
    expect(configSchema.safeParse(cfg).success).toBe(true);
    expect(cfg.folders).toEqual([{ id: 'work', path: '/home/me/Work', ignore: [], paused: false, watch: 'auto' }]);
    expect(cfg.destinations).toEqual([{ id: 'backup', type: 'local', path: '/media/me/Backup' }]);
    expect(cfg.rules).toMatchObject([
      { name: 'Back up Work', from: ['work'], to: ['backup'], match: ['**'], mode: 'mirror' },
    ]);
    expect(cfg.settings.theme).toBe('dark');
    const unnamed = welcomeConfig(empty, {
      folderPath: '/home/me/Work',
      destinationPath: '/media/me/Backup',
      ruleName: '  ',
      mode: 'backup',
    });
    expect(unnamed.rules[0]?.name).toBe('Back up Work');
  });
});
