import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  externalOpenAction,
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

describe('links the window asks to open elsewhere', () => {
  it('sends web pages (share links) to the browser', () => {
    expect(externalOpenAction('https://bucket.s3.example/key?X-Amz-Signature=abc')).toEqual({
      kind: 'browser',
      url: 'https://bucket.s3.example/key?X-Amz-Signature=abc',
    });
    expect(externalOpenAction('http://127.0.0.1:9000/b/k').kind).toBe('browser');
  });

  it('reveals a file link in the file manager instead of running it', () => {
    expect(externalOpenAction('file:///home/me/backup/report.pdf')).toEqual({
      kind: 'reveal',
      url: 'file:///home/me/backup/report.pdf',
    });
  });

  it('refuses every other scheme and anything that is not a URL', () => {
    for (const url of ['javascript:alert(1)', 'ms-msdt:/id', 'data:text/html,<b>x</b>', 'not a url', ''])
      expect(externalOpenAction(url)).toEqual({ kind: 'deny' });
  });
});
