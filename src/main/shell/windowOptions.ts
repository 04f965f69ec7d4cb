// Pure: no electron import at run time (types only), so the security settings can be unit-tested under plain Node.
import type { Session } from 'electron';

// `window.ts` assigns the result to Electron's `BrowserWindowConstructorOptions`, which type-checks it.

export type MainWindowOptions = {
  readonly width: number;
  readonly height: number;
  readonly minWidth: number;
  readonly minHeight: number;
  readonly title: string;
  readonly show: boolean;
  readonly backgroundColor: string;
  readonly autoHideMenuBar: boolean;
  readonly icon?: string;
  readonly webPreferences: {
    readonly preload: string;
    readonly contextIsolation: true;
    readonly sandbox: true;
    readonly nodeIntegration: false;
    readonly nodeIntegrationInWorker: false;
    readonly nodeIntegrationInSubFrames: false;
    readonly webSecurity: true;
    readonly allowRunningInsecureContent: false;
    readonly webviewTag: false;
    readonly experimentalFeatures: false;
    readonly navigateOnDragDrop: false;
    readonly devTools: boolean;
  };
};

export type MainWindowParams = {
  /** Absolute path of the built preload script. */
  readonly preloadPath: string;
  /** Window icon (used on Linux; macOS and Windows take the icon from the app bundle). */
  readonly iconPath?: string;
  /** A packaged build: no DevTools (a person's window is not a debugging surface). */
  readonly packaged: boolean;
};

export function mainWindowOptions({ preloadPath, iconPath, packaged }: MainWindowParams): MainWindowOptions {
  return {
    width: 1100,
    height: 720,
    minWidth: 720,
    minHeight: 480,
    title: 'Ferry',
    show: false, // shown on 'ready-to-show', so no blank flash
    backgroundColor: '#0f172a',
    autoHideMenuBar: true,
    ...(iconPath === undefined ? {} : { icon: iconPath }),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      devTools: !packaged,
    },
  };
}

const cspDirectives: readonly (readonly [string, string])[] = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data:"],
  ['font-src', "'self'"],
  // The daemon and local test servers listen on 127.0.0.1.
  ['connect-src', "'self' ws://127.0.0.1:* http://127.0.0.1:*"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

/** Directives a `<meta http-equiv>` policy cannot carry (the browser ignores them there, with a warning). */
const headerOnlyDirectives: ReadonlySet<string> = new Set(['frame-ancestors', 'report-uri', 'sandbox']);

function serialize(directives: readonly (readonly [string, string])[]): string {
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}

/** The renderer's Content-Security-Policy, sent as a response header by `window.ts`. */
export const contentSecurityPolicy: string = serialize(cspDirectives);

/** The same policy minus header-only directives: what `src/renderer/index.html` carries in its meta tag. */
export const metaContentSecurityPolicy: string = serialize(
  cspDirectives.filter(([name]) => !headerOnlyDirectives.has(name)),
);

export type OpenAction = { kind: 'browser'; url: string } | { kind: 'reveal'; path: string } | { kind: 'deny' };

/** Where a file:// link points, or undefined for one that names no local path (a UNC host, bad escapes). */
export type FileUrlToPath = (url: URL) => string | undefined;

/**
 * What a link the window asks to open in a new window becomes: web pages (a share link) go to the
 * person's browser; a file:// link is revealed in the file manager (never executed) only when the
 * same policy as the window's reveal request allows its path (`mayReveal`: inside a configured
 * folder or local destination); anything else (javascript:, custom schemes) is refused.
 */
export function externalOpenAction(
  url: string,
  mayReveal: (path: string) => { ok: true; path: string } | { ok: false },
  toPath: FileUrlToPath,
): OpenAction {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'deny' };
  }
  if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return { kind: 'browser', url: parsed.href };
  if (parsed.protocol === 'file:') {
    const path = toPath(parsed);
    if (path === undefined) return { kind: 'deny' };
    const decision = mayReveal(path);
    return decision.ok ? { kind: 'reveal', path: decision.path } : { kind: 'deny' };
  }
  return { kind: 'deny' };
}

/** The part of Electron's Session that answers a page's permission requests (a type only: no electron at run time). */
export type PermissionSession = Pick<
  Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'
>;

/**
 * The window needs no permission at all (no camera, notifications from the page, geolocation,
 * clipboard reads, HID, serial, USB): every request is refused, every synchronous check answers no, and
 * no device is granted, so a page that ever got into the renderer could not ask for more.
 */
export function refuseAllPermissions(session: PermissionSession): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}
