import { describe, expect, it } from 'vitest';
import { revealDecision } from '../../src/main/desktop/revealPolicy';
import type { FerryConfig } from '../../src/shared/config';

const config: Pick<FerryConfig, 'folders' | 'destinations'> = {
  folders: [{ id: 'work', path: '/home/me/Work', ignore: [], paused: false, watch: 'auto' }],
  destinations: [
    { id: 'nas', type: 'local', path: '/mnt/nas/backup' },
    { id: 'cloud', type: 's3', bucket: 'b' },
  ],
};

describe('what the window may reveal in the file manager', () => {
  it('shows files inside a configured folder or local destination, and the roots themselves', () => {
    expect(revealDecision('/home/me/Work/docs/a.txt', config, 'linux')).toEqual({
      ok: true,
      path: '/home/me/Work/docs/a.txt',
    });
    expect(revealDecision('/home/me/Work', config, 'linux').ok).toBe(true);
    expect(revealDecision('/mnt/nas/backup/docs/a.txt', config, 'linux').ok).toBe(true);
    expect(revealDecision('/home/me/Work/..hidden-name', config, 'linux').ok).toBe(true);
  });

  it('refuses anything else: other paths, climbing out with .., look-alike prefixes, relative paths', () => {
    for (const p of [
      '/etc/passwd',
      '/home/me/Work/../.ssh/id_ed25519',
      '/home/me/WorkSecrets/x',
      '/home/me/work/a.txt',
      'docs/a.txt',
      '~/Work/a.txt',
      '/mnt/nas',
    ]) {
      const d = revealDecision(p, config, 'linux');
      expect(d.ok, p).toBe(false);
    }
    expect(revealDecision('/etc/passwd', config, 'linux')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not inside a folder or a local destination/),
    });
  });

  it('refuses input that is not a path at all', () => {
    for (const p of ['', 42, undefined, null, { path: '/home/me/Work' }, '/home/me/Work/a\0b']) {
      expect(revealDecision(p, config, 'linux').ok).toBe(false);
    }
  });

  it('knows no roots when nothing is configured, and none from cloud destinations', () => {
    expect(revealDecision('/home/me/Work/a', { folders: [], destinations: [] }, 'linux').ok).toBe(false);
    expect(revealDecision('/b/x', config, 'linux').ok).toBe(false);
  });

  it('compares Windows paths without regard to case or slash direction', () => {
    const win: Pick<FerryConfig, 'folders' | 'destinations'> = {
      folders: [{ id: 'w', path: 'C:\\Users\\me\\Work', ignore: [], paused: false, watch: 'auto' }],
      destinations: [{ id: 'usb', type: 'local', path: 'E:\\Backup' }],
    };
    expect(revealDecision('c:\\users\\me\\work\\a.txt', win, 'win32').ok).toBe(true);
    expect(revealDecision('C:/Users/me/Work/docs/a.txt', win, 'win32').ok).toBe(true);
    expect(revealDecision('E:\\Backup\\x', win, 'win32').ok).toBe(true);
    expect(revealDecision('C:\\Users\\me\\Work\\..\\AppData\\x', win, 'win32').ok).toBe(false);
    expect(revealDecision('D:\\Backup\\x', win, 'win32').ok).toBe(false);
    expect(revealDecision('\\\\evil\\share\\x', win, 'win32').ok).toBe(false);
  });
});
