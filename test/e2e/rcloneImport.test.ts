import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRcloneWebdav, type RcloneServer } from '../servers/rcloneServe';
import { accessibilityViolations, openWindow, sandbox, screenshot, type Daemon, type Sandbox } from './harness';

/** The Destinations page imports rclone remotes as `ferry import-rclone` does, and the result connects. */
describe('Import from rclone on the Destinations page', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let dav: RcloneServer;
  let rcloneConf: string;
  const pass = 'window dav pässword';

  beforeAll(async () => {
    sb = sandbox();
    const davDir = join(sb.root, 'dav-data');
    mkdirSync(join(davDir, 'shared'), { recursive: true });
    dav = await startRcloneWebdav(davDir, { user: 'ann', pass });
    rcloneConf = join(sb.root, 'rclone.conf');
    const create = (...args: string[]) =>
      execFileSync('rclone', ['--config', rcloneConf, 'config', 'create', ...args, '--non-interactive'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    create('team-dav', 'webdav', `url=${dav.url}`, 'vendor=other', 'user=ann', `pass=${pass}`);
    create('archive', 's3', 'provider=Other', 'access_key_id=K', 'secret_access_key=S', 'endpoint=http://127.0.0.1:1');
    create('photos', 'drive', 'scope=drive');
    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await dav?.stop();
    sb?.cleanup();
  });

  it('lists the remotes with why not, asks a bucket for S3, imports, and the WebDAV one connects', async () => {
    await page
      .getByRole('navigation', { name: 'Ferry' })
      .getByRole('link', { name: 'Destinations', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Destinations' }).waitFor();
    await page.getByRole('button', { name: 'Import from rclone' }).click();
    const panel = page.getByTestId('rclone-import');
    await panel.getByLabel('rclone config').fill(rcloneConf);
    await panel.getByRole('button', { name: 'Look for remotes' }).click();
    await panel.getByText('Not imported: Ferry has no "drive" destination').waitFor();
    expect(await panel.getByRole('checkbox', { name: /photos/ }).isDisabled()).toBe(true);
    // team-dav is chosen already; archive waits for its bucket.
    expect(await panel.getByRole('checkbox', { name: /team-dav/ }).isChecked()).toBe(true);
    await panel.getByRole('checkbox', { name: /archive/ }).check();
    await panel.getByText('needed to import it').waitFor();
    expect(await panel.getByRole('button', { name: 'Import 2 remotes' }).isDisabled()).toBe(true);
    await panel.getByLabel('Bucket (and folder) for archive').fill('backups/ferry');
    await screenshot(page, 'destinations-rclone-import-light');
    expect(await accessibilityViolations(page)).toEqual([]);
    await panel.getByRole('button', { name: 'Import 2 remotes' }).click();
    await panel.getByTestId('rclone-results').getByText('✓ team-dav → destination “team-dav” (webdav)').waitFor();

    const written = readFileSync(sb.config, 'utf8');
    expect(written).toContain('password: keychain:rclone-team-dav-password');
    expect(written).toContain('bucket: backups');
    expect(written).not.toContain(pass);

    await panel.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Test connection of team-dav' }).click();
    await page.getByTestId('test-result').filter({ hasText: 'Connection works' }).waitFor();
    expect(problems).toEqual([]);
  });
});
