import { describe, expect, it } from 'vitest';
import {
  RECENT_IN_MENU,
  allTrayIconImages,
  trayIcon,
  trayModel,
  trayPlatformOf,
  type RecentFile,
  type TrayAction,
  type TrayMenuItem,
  type TraySnapshot,
} from '../../src/main/desktop/trayModel';

function snapshot(patch: Partial<TraySnapshot> = {}): TraySnapshot {
  return {
    service: 'idle',
    queue: { pending: 0, active: 0, failed: 0, bytesPending: 0 },
    throughput: 0,
    progress: { doneBytes: 0, leftBytes: 0 },
    folders: [
      { id: 'work', state: 'watching', paused: false, pausedInConfig: false, error: null },
      { id: 'photos', state: 'watching', paused: false, pausedInConfig: false, error: null },
    ],
    destinations: [
      { id: 'nas', type: 'sftp', ok: true, error: null, shareLinks: false },
      { id: 'bucket', type: 's3', ok: true, error: null, shareLinks: true },
    ],
    offline: false,
    heldDeletions: [],
    recent: [],
    theme: 'light',
    platform: 'linux',
    ...patch,
  };
}

function recent(name: string, destination: string, patch: Partial<RecentFile> = {}): RecentFile {
  return {
    folder: 'work',
    path: `reports/${name}`,
    localPath: `/home/ann/Work/reports/${name}`,
    localExists: true,
    destination,
    remotePath: `backup/reports/${name}`,
    at: 1_700_000_000_000,
    ...patch,
  };
}

type Item = Extract<TrayMenuItem, { type: 'item' }>;

function find(menu: readonly TrayMenuItem[], id: string): Item {
  for (const entry of menu) {
    if (entry.type !== 'item') continue;
    if (entry.id === id) return entry;
    if (entry.submenu) {
      try {
        return find(entry.submenu, id);
      } catch {
        // not in this submenu
      }
    }
  }
  throw new Error(`no menu item "${id}"`);
}

function labels(items: readonly TrayMenuItem[] | undefined): string[] {
  return (items ?? []).map((i) => (i.type === 'separator' ? '---' : i.label));
}

const syncing = snapshot({
  service: 'syncing',
  queue: { pending: 10, active: 2, failed: 0, bytesPending: 1_200_000_000 },
  throughput: 3_400_000,
  progress: { doneBytes: 1_000_000_000, leftBytes: 1_200_000_000 },
});

describe('tray state, icon and tooltip', () => {
  it('idle: everything is safe', () => {
    const m = trayModel(snapshot());
    expect(m.state).toBe('idle');
    expect(m.icon.images[0]?.file).toBe('tray-idle-light-24.png');
    expect(m.tooltip).toBe('Ferry — everything is safe');
    expect(find(m.menu, 'status').label).toBe('Everything is safe');
  });

  it('idle with folders paused says so', () => {
    const folder = (id: string, paused: boolean, pausedInConfig = false) => ({
      id,
      state: paused ? ('paused' as const) : ('watching' as const),
      paused,
      pausedInConfig,
      error: null,
    });
    const one = trayModel(snapshot({ folders: [folder('work', false), folder('photos', true)] }));
    expect(one.state).toBe('idle');
    expect(one.tooltip).toBe('Ferry — everything is safe (“photos” is paused)');
    expect(find(one.menu, 'status').label).toBe('Everything is safe (“photos” is paused)');
    const two = trayModel(snapshot({ folders: [folder('work', true), folder('photos', true)] }));
    expect(two.tooltip).toBe('Ferry — everything is safe (2 folders are paused)');
    // Paused in the config is a standing choice, not news.
    expect(trayModel(snapshot({ folders: [folder('old', true, true)] })).tooltip).toBe('Ferry — everything is safe');
  });

  it('syncing: files to go and the rate in the tooltip, progress in the menu', () => {
    const m = trayModel(syncing);
    expect(m.state).toBe('syncing');
    expect(m.icon.images[0]?.file).toBe('tray-syncing-light-24.png');
    expect(m.tooltip).toBe('Ferry — syncing 12 files, 3.4 MB/s');
    // 1.0 GB of 2.2 GB: 45.45 % is shown floored.
    expect(find(m.menu, 'status').label).toBe('Syncing — 45 % (1.2 GB left)');
    expect(find(m.menu, 'status').enabled).toBe(false);
  });

  it('syncing without a rate yet, or with nothing queued (a scan), says so', () => {
    const noRate = trayModel({ ...syncing, throughput: 0 });
    expect(noRate.tooltip).toBe('Ferry — syncing 12 files');
    const scanning = trayModel(snapshot({ service: 'syncing' }));
    expect(scanning.state).toBe('syncing');
    expect(scanning.tooltip).toBe('Ferry — looking for changes');
    expect(find(scanning.menu, 'status').label).toBe('Looking for changes…');
    const deletesOnly = trayModel(snapshot({ queue: { pending: 3, active: 0, failed: 0, bytesPending: 0 } }));
    expect(find(deletesOnly.menu, 'status').label).toBe('Syncing — 3 files left');
  });

  it('never shows 100 % while bytes are left', () => {
    const m = trayModel({ ...syncing, progress: { doneBytes: 999_999, leftBytes: 1 } });
    expect(find(m.menu, 'status').label).toBe('Syncing — 99 % (1 B left)');
  });

  it('starting', () => {
    const m = trayModel(snapshot({ service: 'starting' }));
    expect(m.state).toBe('syncing');
    expect(m.tooltip).toBe('Ferry — starting');
    expect(find(m.menu, 'status').label).toBe('Starting…');
  });

  it('paused: the paused icon, and what waits', () => {
    const m = trayModel(
      snapshot({ service: 'paused', queue: { pending: 7, active: 0, failed: 0, bytesPending: 5000 } }),
    );
    expect(m.state).toBe('paused');
    expect(m.icon.images[0]?.file).toBe('tray-paused-light-24.png');
    expect(m.tooltip).toBe('Ferry — paused (7 files waiting)');
    expect(find(m.menu, 'status').label).toBe('Paused — 7 files waiting');
    expect(trayModel(snapshot({ service: 'paused' })).tooltip).toBe('Ferry — paused');
  });

  it('failed transfers: the error icon and how many', () => {
    const m = trayModel(snapshot({ queue: { pending: 0, active: 0, failed: 2, bytesPending: 0 } }));
    expect(m.state).toBe('error');
    expect(m.icon.images[0]?.file).toBe('tray-error-light-24.png');
    expect(m.tooltip).toBe('Ferry — 2 transfers failed');
    expect(find(m.menu, 'status').label).toBe('2 transfers failed');
    expect(trayModel(snapshot({ queue: { pending: 0, active: 0, failed: 1, bytesPending: 0 } })).tooltip).toBe(
      'Ferry — 1 transfer failed',
    );
  });

  it('deletions held by the brake: the error icon, until the person confirms them in the window', () => {
    const m = trayModel(snapshot({ heldDeletions: [{ rule: 'notebook', deletes: 8 }] }));
    expect(m.state).toBe('error');
    expect(find(m.menu, 'status').label).toBe('8 deletions of rule “notebook” wait for you');
  });

  it('copies a rules change left behind: the error icon, until the person removes them in the window', () => {
    const m = trayModel(snapshot({ leftBehind: [{ rule: 'mirror', count: 120 }] }));
    expect(m.state).toBe('error');
    expect(find(m.menu, 'status').label).toBe('120 copies left behind by rule “mirror” wait for you');
    expect(m.tooltip).toBe('Ferry — 120 copies left behind by rule “mirror” wait for you');
  });

  it('an error outranks syncing and a pause', () => {
    const failing = { ...syncing, queue: { ...syncing.queue, failed: 3 } };
    expect(trayModel(failing).state).toBe('error');
    expect(trayModel({ ...failing, service: 'paused' }).state).toBe('error');
    const down = trayModel({
      ...syncing,
      destinations: [{ id: 'nas', type: 'sftp', ok: false, error: 'connection refused', shareLinks: false }],
    });
    expect(down.state).toBe('error');
    expect(down.tooltip).toBe('Ferry — “nas” is unavailable');
  });

  it('names every problem in the tooltip, the first in the menu with a count of the rest', () => {
    const m = trayModel(
      snapshot({
        queue: { pending: 0, active: 0, failed: 2, bytesPending: 0 },
        folders: [{ id: 'work', state: 'error', paused: false, pausedInConfig: false, error: 'folder is missing' }],
        destinations: [{ id: 'nas', type: 'sftp', ok: false, error: 'timeout', shareLinks: false }],
      }),
    );
    expect(m.tooltip).toBe('Ferry — “nas” is unavailable; folder “work” needs attention; 2 transfers failed');
    expect(find(m.menu, 'status').label).toBe('“nas” is unavailable (+2 more)');
    expect(trayModel(snapshot({ service: 'error' })).tooltip).toBe('Ferry — the sync stopped on an error');
  });

  it('keeps the tooltip within what Windows shows (127 characters)', () => {
    const destinations = Array.from({ length: 12 }, (_, i) => ({
      id: `destination-number-${i}`,
      type: 's3',
      ok: false,
      error: 'down',
      shareLinks: true,
    }));
    const { tooltip } = trayModel(snapshot({ destinations }));
    expect(tooltip.length).toBeLessThanOrEqual(127);
    expect(tooltip.endsWith('…')).toBe(true);
  });

  it('offline: its own icon, ahead of the errors it causes', () => {
    const m = trayModel({
      ...syncing,
      offline: true,
      destinations: [{ id: 'bucket', type: 's3', ok: false, error: 'getaddrinfo ENOTFOUND', shareLinks: true }],
    });
    expect(m.state).toBe('offline');
    expect(m.icon.images[0]?.file).toBe('tray-offline-light-24.png');
    expect(m.tooltip).toBe('Ferry — offline, waiting for the network (12 files waiting)');
    expect(find(m.menu, 'status').label).toBe('Offline — waiting for the network');
  });

  it('offline does not matter when every destination is a local one', () => {
    const m = trayModel(
      snapshot({
        offline: true,
        destinations: [{ id: 'disk', type: 'local', ok: true, error: null, shareLinks: true }],
      }),
    );
    expect(m.state).toBe('idle');
  });

  it('uses the dark icons on a dark bar, template images on macOS, three sizes on Windows', () => {
    expect(trayModel(snapshot({ theme: 'dark' })).icon.images[0]?.file).toBe('tray-idle-dark-24.png');
    const mac = trayModel(snapshot({ platform: 'darwin', theme: 'dark' })).icon;
    expect(mac.template).toBe(true);
    expect(mac.images).toEqual([
      { file: 'tray-idleTemplate.png', scaleFactor: 1, px: 16 },
      { file: 'tray-idleTemplate@2x.png', scaleFactor: 2, px: 32 },
    ]);
    const win = trayIcon('error', 'dark', 'win32');
    expect(win.template).toBe(false);
    expect(win.images.map((i) => [i.file, i.scaleFactor])).toEqual([
      ['tray-error-dark-16.png', 1],
      ['tray-error-dark-24.png', 1.5],
      ['tray-error-dark-32.png', 2],
    ]);
  });

  it('lists 5 states × (light, dark) × 3 sizes + 5 × 2 template images', () => {
    expect(allTrayIconImages()).toHaveLength(5 * 2 * 3 + 5 * 2);
  });

  it('maps the OS to a kind of tray', () => {
    expect(trayPlatformOf('darwin')).toBe('darwin');
    expect(trayPlatformOf('win32')).toBe('win32');
    expect(trayPlatformOf('linux')).toBe('linux');
    expect(trayPlatformOf('freebsd')).toBe('linux');
  });
});

describe('tray menu', () => {
  it('has the status line, pause, folders, open, recent files and quit, in that order', () => {
    const { menu } = trayModel(snapshot());
    expect(labels(menu)).toEqual([
      'Everything is safe',
      '---',
      'Pause all',
      'Folders',
      '---',
      'Open Ferry',
      'Recent files',
      '---',
      'Quit Ferry',
    ]);
    expect(find(menu, 'open-window').action).toEqual({ kind: 'open-window' });
    expect(find(menu, 'quit').action).toEqual({ kind: 'quit' });
  });

  it('offers "Pause all" while running and "Resume all" when paused', () => {
    const running = find(trayModel(snapshot()).menu, 'pause-all');
    expect(running.label).toBe('Pause all');
    expect(running.action).toEqual({ kind: 'pause-all' } satisfies TrayAction);
    const paused = find(trayModel(snapshot({ service: 'paused' })).menu, 'resume-all');
    expect(paused.label).toBe('Resume all');
    expect(paused.action).toEqual({ kind: 'resume-all' });
    // A paused service with a failure still offers to resume.
    const both = trayModel(
      snapshot({ service: 'paused', queue: { pending: 0, active: 0, failed: 1, bytesPending: 0 } }),
    );
    expect(find(both.menu, 'resume-all').label).toBe('Resume all');
  });

  it('pauses or resumes each folder', () => {
    const { menu } = trayModel(
      snapshot({
        folders: [
          { id: 'work', state: 'watching', paused: false, pausedInConfig: false, error: null },
          { id: 'photos', state: 'paused', paused: true, pausedInConfig: false, error: null },
        ],
      }),
    );
    expect(labels(find(menu, 'folders').submenu)).toEqual(['Pause “work”', 'Resume “photos”']);
    expect(find(menu, 'folder:work').action).toEqual({ kind: 'pause-folder', folder: 'work' });
    expect(find(menu, 'folder:photos').action).toEqual({ kind: 'resume-folder', folder: 'photos' });
  });

  it('leaves a folder paused in its settings alone, and says why', () => {
    const { menu } = trayModel(
      snapshot({ folders: [{ id: 'old', state: null, paused: true, pausedInConfig: true, error: null }] }),
    );
    const item = find(menu, 'folder:old');
    expect(item.label).toBe('“old” — paused in its settings');
    expect(item.enabled).toBe(false);
    expect(item.action).toBeUndefined();
  });

  it('while everything is paused, folders wait for "Resume all"', () => {
    const { menu } = trayModel(snapshot({ service: 'paused' }));
    const folders = find(menu, 'folders').submenu ?? [];
    expect(labels(folders)).toEqual(['Everything is paused', '---', 'Resume “work”', 'Resume “photos”']);
    expect(find(menu, 'folder:work').enabled).toBe(false);
  });

  it('says when there are no folders yet', () => {
    const { menu } = trayModel(snapshot({ folders: [] }));
    expect(labels(find(menu, 'folders').submenu)).toEqual(['No folders yet']);
    expect(find(menu, 'folders:none').enabled).toBe(false);
  });

  it('an empty recent list is a disabled entry', () => {
    const item = find(trayModel(snapshot()).menu, 'recent');
    expect(item.enabled).toBe(false);
    expect(labels(item.submenu)).toEqual(['Nothing shipped yet']);
  });

  it('recent files reveal on click; where the destination makes links, a submenu also copies one', () => {
    const { menu } = trayModel(
      snapshot({ recent: [recent('q3.pdf', 'bucket'), recent('q2.pdf', 'nas')], platform: 'darwin' }),
    );
    const list = find(menu, 'recent');
    expect(list.enabled).toBe(true);
    expect(labels(list.submenu)).toEqual(['q3.pdf → bucket', 'q2.pdf → nas']);

    const plain = find(menu, 'recent:1');
    expect(plain.submenu).toBeUndefined();
    expect(plain.action).toEqual({ kind: 'reveal', path: '/home/ann/Work/reports/q2.pdf' });

    const shareable = find(menu, 'recent:0');
    expect(shareable.action).toBeUndefined();
    expect(labels(shareable.submenu)).toEqual(['Show in Finder', 'Copy share link']);
    expect(find(menu, 'recent:0:reveal').action).toEqual({ kind: 'reveal', path: '/home/ann/Work/reports/q3.pdf' });
    expect(find(menu, 'recent:0:share').action).toEqual({
      kind: 'share-link',
      destination: 'bucket',
      remotePath: 'backup/reports/q3.pdf',
    });
  });

  it('cannot reveal a file that is no longer on the disk (a move rule took it), but can still share it', () => {
    const { menu } = trayModel(snapshot({ recent: [recent('gone.pdf', 'bucket', { localExists: false })] }));
    expect(find(menu, 'recent:0:reveal').enabled).toBe(false);
    expect(find(menu, 'recent:0:share').enabled).toBe(true);
    const { menu: plainMenu } = trayModel(snapshot({ recent: [recent('gone.pdf', 'nas', { localExists: false })] }));
    expect(find(plainMenu, 'recent:0').enabled).toBe(false);
  });

  it('lists at most a handful of recent files, long names shortened in the middle', () => {
    const many = Array.from({ length: 20 }, (_, i) => recent(`file-${i}.txt`, 'nas'));
    const { menu } = trayModel(snapshot({ recent: many }));
    expect(find(menu, 'recent').submenu).toHaveLength(RECENT_IN_MENU);
    const long = `${'a'.repeat(60)}-final.pdf`;
    const label = find(trayModel(snapshot({ recent: [recent(long, 'nas')] })).menu, 'recent:0').label;
    expect(label).toMatch(/^a+…a*-final\.pdf → nas$/);
    expect(label.length).toBeLessThan(long.length);
  });

  it('keeps an "&" in a name visible on Windows and Linux (where it would mark a mnemonic)', () => {
    const file = recent('R&D.pdf', 'nas');
    expect(find(trayModel(snapshot({ recent: [file], platform: 'win32' })).menu, 'recent:0').label).toBe(
      'R&&D.pdf → nas',
    );
    expect(find(trayModel(snapshot({ recent: [file], platform: 'darwin' })).menu, 'recent:0').label).toBe(
      'R&D.pdf → nas',
    );
  });

  it('names the file manager as each OS does', () => {
    const shared = [recent('a.txt', 'bucket')];
    const reveal = (platform: TraySnapshot['platform']) =>
      find(trayModel(snapshot({ recent: shared, platform })).menu, 'recent:0:reveal').label;
    expect(reveal('darwin')).toBe('Show in Finder');
    expect(reveal('win32')).toBe('Show in File Explorer');
    expect(reveal('linux')).toBe('Show in folder');
  });
});
