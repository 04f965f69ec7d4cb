import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runFerry, spawnFerry } from '../helpers/cli';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { registeredRedirectUri } from '../servers/dropboxHarness';

let emu: DropboxEmulator;
let dir: string;
beforeAll(async () => {
  emu = await startDropboxEmulator();
  dir = mkdtempSync(join(tmpdir(), 'ferry-connect-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(tokenFile: string, redirectUri = 'http://127.0.0.1:9/callback'): string {
  const file = join(dir, 'ferry.yml');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    file,
    [
      'folders:',
      `  - { id: src, path: ${JSON.stringify(join(dir, 'src'))} }`,
      'destinations:',
      '  - id: box',
      '    type: dropbox',
      `    app_key: ${emu.appKey}`,
      `    endpoint: ${emu.url}`,
      `    refresh_token: file:${tokenFile}`,
      `    redirect_uri: ${redirectUri}`,
      `  - { id: nas, type: local, path: ${JSON.stringify(join(dir, 'nas'))} }`,
      'rules: [{ name: all, from: [src], to: [box] }]',
      '',
    ].join('\n'),
  );
  return file;
}

it('ferry connect: the person allows Ferry in the browser, the refresh token lands in a private file, and the destination works', async () => {
  const tokenFile = join(dir, 'dropbox.token');
  const cfg = config(tokenFile, await registeredRedirectUri(emu));
  const child = spawnFerry(['connect', 'box', '--config', cfg, '--token-file', tokenFile, '--timeout', '60']);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const until = Date.now() + 30_000;
  while (!/http:\/\/\S+oauth2\/authorize\S+/.test(out)) {
    if (Date.now() > until) throw new Error(`no address printed: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The browser: the consent page redirects to Ferry's loopback listener, which answers a page.
  const url = /http:\/\/\S+oauth2\/authorize\S+/.exec(out)?.[0] as string;
  const consent = await fetch(url, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const landing = await fetch(consent.headers.get('location') as string);
  expect(landing.status).toBe(200);
  expect(await exited).toBe(0);
  expect(out).toContain(`refresh_token: file:${tokenFile}`);
  expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(tokenFile, 'utf8').trim()).not.toBe('');
  // The secret is in the file, never on the screen.
  expect(out).not.toContain(readFileSync(tokenFile, 'utf8').trim());

  const check = await runFerry(['check', '--config', cfg, 'box']);
  expect(check.stdout).toMatch(/✓ box/);
  expect(check.code).toBe(0);
});

it('ferry connect refuses a destination that is not Dropbox, naming it', async () => {
  const cfg = config(join(dir, 'unused.token'));
  const r = await runFerry(['connect', 'nas', '--config', cfg, '--token-file', join(dir, 'x')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/destination "nas" is of type local/);
});
