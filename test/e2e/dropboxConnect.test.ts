import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DROPBOX_REDIRECT_URI } from '../../src/main/engine/providers/dropbox/oauth';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { accessibilityViolations, openWindow, sandbox, screenshot, type Daemon, type Sandbox } from './harness';

/**
 * Connecting a Dropbox destination from the window: the consent page (the Dropbox emulator's
 * /oauth2/authorize, which allows at once) opens in a new tab, Dropbox sends the browser back to the
 * engine's loopback listener, and the form ends up with a keychain reference — the token never
 * reaches the window nor the config file.
 */
describe('"Connect to Dropbox" in the destination form, in Chromium, against the Dropbox emulator', () => {
  let emu: DropboxEmulator;
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    emu = await startDropboxEmulator();
    // The window connects through Ferry's registered redirect URI, as the App Console lists it.
    emu.redirectUris.add(DROPBOX_REDIRECT_URI);
    sb = sandbox();
    writeFileSync(
      sb.config,
      ['folders:', `  - { id: work, path: ${JSON.stringify(sb.src)} }`, 'destinations: []', 'rules: []', ''].join('\n'),
    );
    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await emu?.close();
    sb?.cleanup();
  });

  it('opens Dropbox’s consent page, keeps the refresh token in the keychain, and the destination works', async () => {
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name: 'Destinations' }).click();
    await page.getByRole('button', { name: 'Add destination' }).first().click();
    const form = page.getByTestId('destination-form');
    await form.getByLabel('Type').selectOption('dropbox');
    const connect = form.getByRole('button', { name: 'Connect to Dropbox' });
    expect(await connect.isDisabled()).toBe(true);
    await form.getByLabel('ID').fill('box');
    await form.getByLabel('App key').fill(emu.appKey);
    await form.getByText('More options').click();
    await form.getByLabel('Endpoint').fill(emu.url);

    const consent = page.waitForEvent('popup');
    await connect.click();
    const tab = await consent;
    await tab.waitForLoadState();
    // Dropbox sent the browser back to the registered redirect URI, Ferry's loopback listener, which answers a page.
    expect(tab.url()).toMatch(/^http:\/\/localhost:\d+\/callback\?/);
    await form.getByText('keychain:box.refresh_token').waitFor({ timeout: 30_000 });
    await form.getByRole('button', { name: 'Connect to Dropbox again' }).waitFor();
    await screenshot(page, 'destinations-dropbox-connected-light');
    expect(await accessibilityViolations(page), 'dropbox form').toEqual([]);

    await form.getByRole('button', { name: 'Test connection' }).click();
    await form.getByText('Connection works').waitFor({ timeout: 30_000 });
    await form.getByRole('button', { name: 'Save destination' }).click();
    await page.getByTestId('destination-card').filter({ hasText: 'box' }).waitFor();
    const written = readFileSync(sb.config, 'utf8');
    expect(written).toContain('refresh_token: keychain:box.refresh_token');
    expect(written).not.toMatch(/refresh_token: (?!keychain:)/);
    expect(problems).toEqual([]);
  });
});
