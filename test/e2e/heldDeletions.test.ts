import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { snapshot } from '../helpers/tree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessibilityViolations,
  openWindow,
  sandbox,
  screenshot,
  waitFor,
  type Daemon,
  type Sandbox,
} from './harness';

/**
 * The deletion brake in the window: a mirror rule whose folder loses 8 of its 10 files holds those
 * deletions at the destination; the Status page says so with the numbers, and only the person's click
 * lets them through.
 */
describe('held deletions on the Status page, in Chromium, against a real daemon', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const atDestination = () => snapshot(sb.dest).size;

  beforeAll(async () => {
    sb = sandbox();
    writeFileSync(
      sb.config,
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(sb.src)} }`,
        'destinations:',
        `  - { id: nas, type: local, path: ${JSON.stringify(sb.dest)} }`,
        'rules:',
        '  - { name: nightly, from: [work], to: [nas], mode: mirror }',
        '',
      ].join('\n'),
    );
    // Eight files in a folder that then leaves in one rename: the watcher sees the 8 deletions at once.
    mkdirSync(join(sb.src, 'old'));
    for (let i = 0; i < 10; i++) writeFileSync(join(sb.src, i < 8 ? 'old' : '', `report-${i}.txt`), `report ${i}\n`);
    ({ daemon, browser, page, problems } = await openWindow(sb));
    await waitFor(() => atDestination() === 10);
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  it('shows the rule, the numbers and the way out, and deletes nothing by itself', async () => {
    renameSync(join(sb.src, 'old'), join(sb.root, 'moved-away'));
    const held = page.getByTestId('held-deletions');
    await held.waitFor({ timeout: 30_000 });
    expect(await held.textContent()).toContain('Rule nightly would delete 8 files of 10 at destination "nas"');
    await page
      .getByTestId('status-summary')
      .getByText('Waiting for you: rule "nightly" would delete 8 of 10 files at nas')
      .waitFor();
    await held.getByRole('button', { name: 'Delete 8 files' }).waitFor();
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(200);
      await screenshot(page, `status-held-deletions-${scheme}`);
      expect(await accessibilityViolations(page), `held deletions (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(atDestination()).toBe(10);
  });

  it('"Delete 8 files" lets the deletions through, and the hold clears', async () => {
    await page.getByTestId('held-deletions').getByRole('button', { name: 'Delete 8 files' }).click();
    await waitFor(() => atDestination() === 2);
    await page.getByTestId('held-deletions').waitFor({ state: 'detached', timeout: 30_000 });
    expect([...snapshot(sb.dest).keys()].sort()).toEqual(['report-8.txt', 'report-9.txt']);
    expect(problems).toEqual([]);
  });
});
