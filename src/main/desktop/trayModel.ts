// The tray as data: which icon, which tooltip, which menu, from one snapshot of the engine. Pure (no
// electron), so every state is unit-tested; shell/tray.ts only hands the result to Electron.
import type { FolderState, ServiceState } from '../../shared/events';
import { formatBytes, formatRate, middleTruncate, plural, quoted, truncate } from './format';

export const TRAY_STATES = ['idle', 'syncing', 'paused', 'error', 'offline'] as const;
export type TrayState = (typeof TRAY_STATES)[number];

/** The colour of the bar the icon sits on: a dark bar needs a light glyph. */
export type MenuBarTheme = 'light' | 'dark';
export const MENU_BAR_THEMES: readonly MenuBarTheme[] = ['light', 'dark'];
export type TrayPlatform = 'darwin' | 'win32' | 'linux';
export const TRAY_PLATFORMS: readonly TrayPlatform[] = ['darwin', 'win32', 'linux'];

/** The BSDs draw their trays as Linux desktops do. */
export function trayPlatformOf(platform: NodeJS.Platform): TrayPlatform {
  return platform === 'darwin' || platform === 'win32' ? platform : 'linux';
}

export type TrayFolder = {
  id: string;
  /** As the engine last reported it; null for a folder it has not looked at (no rule reads it yet). */
  state: FolderState | null;
  paused: boolean;
  /** `paused: true` in the config: only an edit of the folder resumes it, not the tray. */
  pausedInConfig: boolean;
  error: string | null;
};

export type TrayDestination = {
  id: string;
  type: string;
  ok: boolean;
  error: string | null;
  /** Whether the destination's type makes share links (destination:shareLink). */
  shareLinks: boolean;
};

/** A file recently shipped (a done transfer), newest first. */
export type RecentFile = {
  folder: string;
  /** Folder-relative path. */
  path: string;
  /** Absolute path on this machine; `localExists` is false once a move rule has removed it. */
  localPath: string;
  localExists: boolean;
  destination: string;
  remotePath: string;
  at: number;
};

export type TraySnapshot = {
  service: ServiceState;
  queue: { pending: number; active: number; failed: number; bytesPending: number };
  /** Bytes per second across the running transfers. */
  throughput: number;
  /** Bytes shipped since the queue was last empty, and bytes still to ship. */
  progress: { doneBytes: number; leftBytes: number };
  folders: TrayFolder[];
  destinations: TrayDestination[];
  /** The OS says there is no network. */
  offline: boolean;
  /** Deletions the brake holds until the person confirms them in the window. */
  heldDeletions: { rule: string; deletes: number }[];
  /** Copies a rules change left behind, kept until the person removes them in the window. */
  leftBehind?: { rule: string; count: number }[];
  recent: RecentFile[];
  theme: MenuBarTheme;
  platform: TrayPlatform;
};

export type TrayAction =
  | { kind: 'pause-all' }
  | { kind: 'resume-all' }
  | { kind: 'pause-folder'; folder: string }
  | { kind: 'resume-folder'; folder: string }
  | { kind: 'open-window' }
  | { kind: 'reveal'; path: string }
  | { kind: 'share-link'; destination: string; remotePath: string }
  | { kind: 'quit' };

export type TrayMenuItem =
  | { type: 'separator'; id: string }
  | {
      type: 'item';
      id: string;
      label: string;
      enabled: boolean;
      checked?: boolean;
      submenu?: TrayMenuItem[];
      action?: TrayAction;
    };

/** One resolution of the icon: Electron picks the one that fits the screen's scale factor. */
export type TrayIconImage = { file: string; scaleFactor: number; px: number };
export type TrayIcon = { state: TrayState; template: boolean; images: TrayIconImage[] };

export type TrayModel = { state: TrayState; icon: TrayIcon; tooltip: string; menu: TrayMenuItem[] };

/** How many recent files the menu lists. */
export const RECENT_IN_MENU = 8;
/** Windows cuts a notification-area tooltip at 127 characters. */
const TOOLTIP_MAX = 127;

/**
 * The icon files for a state (in resources/tray/, made by `npm run icons`): macOS takes black
 * template images that it tints for the menu bar itself; Windows takes 16, 24 and 32 px for 100, 150
 * and 200 % scaling; Linux trays draw at 24 px. Light and dark are for the bar's colour.
 */
export function trayIcon(state: TrayState, theme: MenuBarTheme, platform: TrayPlatform): TrayIcon {
  if (platform === 'darwin')
    return {
      state,
      template: true,
      images: [
        { file: `tray-${state}Template.png`, scaleFactor: 1, px: 16 },
        { file: `tray-${state}Template@2x.png`, scaleFactor: 2, px: 32 },
      ],
    };
  const base = `tray-${state}-${theme}`;
  if (platform === 'win32')
    return {
      state,
      template: false,
      images: [
        { file: `${base}-16.png`, scaleFactor: 1, px: 16 },
        { file: `${base}-24.png`, scaleFactor: 1.5, px: 24 },
        { file: `${base}-32.png`, scaleFactor: 2, px: 32 },
      ],
    };
  return { state, template: false, images: [{ file: `${base}-24.png`, scaleFactor: 1, px: 24 }] };
}

/** Every icon file the tray can ask for, with its size (what `npm run icons` must have made). */
export function allTrayIconImages(): TrayIconImage[] {
  const byFile = new Map<string, TrayIconImage>();
  for (const state of TRAY_STATES)
    for (const theme of MENU_BAR_THEMES)
      for (const platform of TRAY_PLATFORMS)
        for (const image of trayIcon(state, theme, platform).images) byFile.set(image.file, image);
  return [...byFile.values()];
}

/** What keeps Ferry from saying "everything is safe", most pressing first. */
export function problems(s: TraySnapshot): string[] {
  const out: string[] = [];
  if (s.service === 'error') out.push('the sync stopped on an error');
  for (const d of s.destinations) if (!d.ok) out.push(`${quoted(d.id)} is unavailable`);
  for (const f of s.folders) if (f.state === 'error') out.push(`folder ${quoted(f.id)} needs attention`);
  if (s.queue.failed > 0) out.push(`${plural(s.queue.failed, 'transfer')} failed`);
  for (const h of s.heldDeletions) out.push(`${plural(h.deletes, 'deletion')} of rule ${quoted(h.rule)} wait for you`);
  for (const l of s.leftBehind ?? [])
    out.push(`${plural(l.count, 'copy', 'copies')} left behind by rule ${quoted(l.rule)} wait for you`);
  return out;
}

/**
 * One state for the icon. Offline comes first: remote destinations failing is then a consequence,
 * not news. A problem outranks a pause (it still needs the person), a pause outranks work waiting.
 */
export function trayState(s: TraySnapshot): TrayState {
  if (s.offline && s.destinations.some((d) => d.type !== 'local')) return 'offline';
  if (problems(s).length > 0) return 'error';
  if (s.service === 'paused') return 'paused';
  if (s.service === 'syncing' || s.service === 'starting' || s.queue.pending + s.queue.active > 0) return 'syncing';
  return 'idle';
}

function filesToGo(s: TraySnapshot): number {
  return s.queue.pending + s.queue.active;
}

/** "45 % (1.2 GB left)": floored, so 100 % is only ever shown once nothing is left. */
export function progressText(s: TraySnapshot): string | undefined {
  const { doneBytes, leftBytes } = s.progress;
  if (leftBytes <= 0 || doneBytes + leftBytes <= 0) return undefined;
  const percent = Math.min(99, Math.floor((doneBytes / (doneBytes + leftBytes)) * 100));
  return `${percent} % (${formatBytes(leftBytes)} left)`;
}

/** The first line of the menu: where things stand, in a few words. */
export function statusLine(s: TraySnapshot, state: TrayState = trayState(s)): string {
  switch (state) {
    case 'offline':
      return 'Offline — waiting for the network';
    case 'error': {
      const [first = 'Something needs attention', ...rest] = problems(s);
      const sentence = first.charAt(0).toUpperCase() + first.slice(1);
      return rest.length > 0 ? `${sentence} (+${rest.length} more)` : sentence;
    }
    case 'paused':
      return filesToGo(s) > 0 ? `Paused — ${plural(filesToGo(s), 'file')} waiting` : 'Paused';
    case 'syncing': {
      if (s.service === 'starting') return 'Starting…';
      const progress = progressText(s);
      if (progress !== undefined) return `Syncing — ${progress}`;
      return filesToGo(s) > 0 ? `Syncing — ${plural(filesToGo(s), 'file')} left` : 'Looking for changes…';
    }
    case 'idle':
      return `Everything is safe${pausedNote(s)}`;
  }
}

/** Folders paused from the tray or the window are not being synced: "safe" must not hide that. */
function pausedNote(s: TraySnapshot): string {
  const paused = s.folders.filter((f) => f.paused && !f.pausedInConfig);
  if (paused.length === 0) return '';
  const [only] = paused;
  return paused.length === 1 && only ? ` (${quoted(only.id)} is paused)` : ` (${paused.length} folders are paused)`;
}

/** The one-line tooltip: "Ferry — syncing 12 files, 3.4 MB/s". */
export function tooltip(s: TraySnapshot, state: TrayState = trayState(s)): string {
  const waiting = filesToGo(s) > 0 ? ` (${plural(filesToGo(s), 'file')} waiting)` : '';
  let text: string;
  switch (state) {
    case 'offline':
      text = `offline, waiting for the network${waiting}`;
      break;
    case 'error':
      text = problems(s).join('; ');
      break;
    case 'paused':
      text = `paused${waiting}`;
      break;
    case 'syncing':
      if (s.service === 'starting') text = 'starting';
      else if (filesToGo(s) === 0) text = 'looking for changes';
      else text = `syncing ${plural(filesToGo(s), 'file')}${s.throughput > 0 ? `, ${formatRate(s.throughput)}` : ''}`;
      break;
    case 'idle':
      text = `everything is safe${pausedNote(s)}`;
      break;
  }
  return truncate(`Ferry — ${text}`, TOOLTIP_MAX);
}

/** Windows and Linux menus read "&" as a mnemonic marker: a file named "R&D.pdf" must show its "&". */
function menuText(label: string, platform: TrayPlatform): string {
  return platform === 'darwin' ? label : label.replaceAll('&', '&&');
}

function revealLabel(platform: TrayPlatform): string {
  if (platform === 'darwin') return 'Show in Finder';
  if (platform === 'win32') return 'Show in File Explorer';
  return 'Show in folder';
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1) || path;
}

function item(
  id: string,
  label: string,
  opts: { enabled?: boolean; action?: TrayAction; submenu?: TrayMenuItem[] } = {},
): TrayMenuItem {
  return {
    type: 'item',
    id,
    label,
    enabled: opts.enabled ?? true,
    ...(opts.action ? { action: opts.action } : {}),
    ...(opts.submenu ? { submenu: opts.submenu } : {}),
  };
}

function folderItems(s: TraySnapshot): TrayMenuItem[] {
  if (s.folders.length === 0) return [item('folders:none', 'No folders yet', { enabled: false })];
  // Everything paused holds every folder: only "Resume all" lifts that.
  const allPaused = s.service === 'paused';
  const items = s.folders.map((f): TrayMenuItem => {
    const name = menuText(quoted(f.id), s.platform);
    if (f.pausedInConfig) return item(`folder:${f.id}`, `${name} — paused in its settings`, { enabled: false });
    if (f.paused || allPaused)
      return item(`folder:${f.id}`, `Resume ${name}`, {
        enabled: !allPaused,
        action: { kind: 'resume-folder', folder: f.id },
      });
    return item(`folder:${f.id}`, `Pause ${name}`, { action: { kind: 'pause-folder', folder: f.id } });
  });
  return allPaused
    ? [item('folders:all-paused', 'Everything is paused', { enabled: false }), separator('folders:sep'), ...items]
    : items;
}

function recentItems(s: TraySnapshot): TrayMenuItem[] {
  const shareable = new Set(s.destinations.filter((d) => d.shareLinks).map((d) => d.id));
  return s.recent.slice(0, RECENT_IN_MENU).map((file, i): TrayMenuItem => {
    const id = `recent:${i}`;
    const label = menuText(`${middleTruncate(baseName(file.path), 40)} → ${file.destination}`, s.platform);
    const reveal: TrayAction = { kind: 'reveal', path: file.localPath };
    // A plain item reveals on click; one whose destination makes links opens a submenu with both.
    if (!shareable.has(file.destination)) return item(id, label, { enabled: file.localExists, action: reveal });
    return item(id, label, {
      submenu: [
        item(`${id}:reveal`, revealLabel(s.platform), { enabled: file.localExists, action: reveal }),
        item(`${id}:share`, 'Copy share link', {
          action: { kind: 'share-link', destination: file.destination, remotePath: file.remotePath },
        }),
      ],
    });
  });
}

function separator(id: string): TrayMenuItem {
  return { type: 'separator', id };
}

export function trayMenu(s: TraySnapshot, state: TrayState = trayState(s)): TrayMenuItem[] {
  const recent = recentItems(s);
  return [
    item('status', statusLine(s, state), { enabled: false }),
    separator('sep:status'),
    s.service === 'paused'
      ? item('resume-all', 'Resume all', { action: { kind: 'resume-all' } })
      : item('pause-all', 'Pause all', { action: { kind: 'pause-all' }, enabled: s.service !== 'stopped' }),
    item('folders', 'Folders', { submenu: folderItems(s) }),
    separator('sep:folders'),
    item('open-window', 'Open Ferry', { action: { kind: 'open-window' } }),
    recent.length > 0
      ? item('recent', 'Recent files', { submenu: recent })
      : item('recent', 'Recent files', {
          enabled: false,
          submenu: [item('recent:none', 'Nothing shipped yet', { enabled: false })],
        }),
    separator('sep:quit'),
    item('quit', 'Quit Ferry', { action: { kind: 'quit' } }),
  ];
}

export function trayModel(s: TraySnapshot): TrayModel {
  const state = trayState(s);
  return { state, icon: trayIcon(state, s.theme, s.platform), tooltip: tooltip(s, state), menu: trayMenu(s, state) };
}
