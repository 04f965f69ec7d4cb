import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  mainWindowOptions,
  metaContentSecurityPolicy,
} from '../../src/main/shell/windowOptions';

function directives(policy: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name !== undefined && name !== '') map.set(name.toLowerCase(), values);
  }
  return map;
}

describe('main window options', () => {
  const options = mainWindowOptions({ preloadPath: '/app/out/preload/index.js' });
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
    expect(mainWindowOptions({ preloadPath: '/p.js', iconPath: '/i.png' }).icon).toBe('/i.png');
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
