import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  externalOpenAction,
  mainWindowOptions,
  metaContentSecurityPolicy,
  refuseAllPermissions,
  type PermissionSession,
} from '../../src/main/shell/windowOptions';
import { revealDecision } from '../../src/main/desktop/revealPolicy';

function directives(policy: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name !== undefined && name !== '') map.set(name.toLowerCase(), values);
  }
  return map;
}

describe('main window options', () => {
  const options = mainWindowOptions({ preloadPath: '/app/out/preload/index.js', packaged: true });
  const prefs = options.webPreferences;

  it('isolates and sandboxes the renderer', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
  });

  it('keeps web security on and webviews off', () => {
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.webviewTag).toBe(false);
  });

  it('uses the preload path it is given', () => {
    expect(prefs.preload).toBe('/app/out/preload/index.js');
    expect(options).not.toHaveProperty('icon');
    expect(mainWindowOptions({ preloadPath: '/p.js', iconPath: '/i.png', packaged: true }).icon).toBe('/i.png');
  });

  it('has no DevTools in a packaged build, and keeps them while developing', () => {
    expect(prefs.devTools).toBe(false);
    expect(mainWindowOptions({ preloadPath: '/p.js', packaged: false }).webPreferences.devTools).toBe(true);
  });
});

describe('content security policy', () => {
  const csp = directives(contentSecurityPolicy);

  it('allows scripts from the app only: no inline, no eval, no data:, no wildcard', () => {
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(contentSecurityPolicy).not.toMatch(/unsafe-inline|unsafe-eval|wasm-unsafe-eval|unsafe-hashes/);
  });

  it('forbids plugins/objects, <base> and framing', () => {
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('lets the renderer reach only itself and loopback servers', () => {
    for (const source of csp.get('connect-src') ?? []) {
      expect(source).toMatch(/^('self'|(ws|http):\/\/127\.0\.0\.1:\*)$/);
    }
  });

  it('is what the renderer page declares in its meta tag (minus header-only directives)', () => {
    const html = readFileSync(resolve(import.meta.dirname, '../../src/renderer/index.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html);
    expect(meta?.[1]).toBe(metaContentSecurityPolicy);
    const header = new Map(csp);
    header.delete('frame-ancestors');
    expect(directives(metaContentSecurityPolicy)).toEqual(header);
  });
});

describe('links the window asks to open elsewhere', () => {
  const config = {
    folders: [{ path: '/home/me/Work' }],
    destinations: [{ type: 'local', path: '/home/me/backup' }],
  } as unknown as Parameters<typeof revealDecision>[1];
  const open = (url: string) =>
    externalOpenAction(
      url,
      (path) => revealDecision(path, config, 'linux'),
      (u) => {
        try {
          return fileURLToPath(u);
        } catch {
          return undefined;
        }
      },
    );

  it('sends web pages (share links) to the browser', () => {
    expect(open('https://bucket.s3.example/key?X-Amz-Signature=abc')).toEqual({
      kind: 'browser',
      url: 'https://bucket.s3.example/key?X-Amz-Signature=abc',
    });
    expect(open('http://127.0.0.1:9000/b/k').kind).toBe('browser');
  });

  it('reveals a file link inside a local destination in the file manager instead of running it', () => {
    expect(open('file:///home/me/backup/report.pdf')).toEqual({ kind: 'reveal', path: '/home/me/backup/report.pdf' });
    expect(open('file:///home/me/Work/a%20b.txt')).toEqual({ kind: 'reveal', path: '/home/me/Work/a b.txt' });
  });

  it('refuses a file link outside every folder and local destination, as the reveal request does', () => {
    for (const url of [
      'file:///etc/passwd',
      'file:///home/me/backup/../.ssh/id_ed25519',
      'file:///home/me/backup-old/x',
      'file://fileserver/share/x.exe',
      'file:///home/me/backup/%00x',
    ])
      expect(open(url)).toEqual({ kind: 'deny' });
  });

  it('refuses every other scheme and anything that is not a URL', () => {
    for (const url of ['javascript:alert(1)', 'ms-msdt:/id', 'data:text/html,<b>x</b>', 'not a url', ''])
      expect(open(url)).toEqual({ kind: 'deny' });
  });
});

describe("the window session's permissions", () => {
  // What Electron would hand the handlers; they must answer no whatever is asked.
  type Handler = (...args: unknown[]) => unknown;
  const handlers: { request?: Handler; check?: Handler; device?: Handler } = {};
  refuseAllPermissions({
    setPermissionRequestHandler: (h: Handler | null) => (handlers.request = h ?? undefined),
    setPermissionCheckHandler: (h: Handler | null) => (handlers.check = h ?? undefined),
    setDevicePermissionHandler: (h: Handler | null) => (handlers.device = h ?? undefined),
  } as unknown as PermissionSession);
  const ASKED = [
    'notifications',
    'media',
    'geolocation',
    'clipboard-read',
    'clipboard-sanitized-write',
    'hid',
    'serial',
  ];

  it('refuses every permission a page requests', () => {
    for (const permission of ASKED) {
      let granted: boolean | undefined;
      handlers.request?.({}, permission, (g: boolean) => (granted = g), {});
      expect(granted, permission).toBe(false);
    }
  });

  it('answers no to every synchronous permission check and every device', () => {
    for (const permission of ASKED) expect(handlers.check?.({}, permission, 'file://', {}), permission).toBe(false);
    expect(handlers.device?.({ deviceType: 'usb', origin: 'file://' })).toBe(false);
  });
});
