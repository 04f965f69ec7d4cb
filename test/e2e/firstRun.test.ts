import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { accessibilityViolations, openWindow, sandbox, screenshot, type Daemon, type Sandbox } from './harness';

/**
 * The first run, end to end: a daemon with the default empty config, the window's welcome flow
 * (folder, destination, rule) driven as a person would, then the config file and the copy checked.
 */
describe('the first-run flow, in Chromium, against a real daemon', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    sb = sandbox();
    writeFileSync(join(sb.src, 'notes.txt'), 'first file\n');
    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  const welcome = () => page.getByTestId('welcome');
  const stepHeading = (name: string) => page.getByRole('heading', { level: 2, name });

  it('welcomes instead of an empty status, and keeps the nav', async () => {
    await page.getByRole('heading', { level: 1, name: 'Welcome to Ferry' }).waitFor();
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name: 'Folders', exact: true }).waitFor();
    expect(await page.title()).toBe('Welcome · Ferry');
    await checkPage('welcome-folder');
  });

  it('step 1: checks the folder as it is typed, and refuses one that is not there', async () => {
    const path = welcome().getByLabel('Folder to back up');
    await path.fill(join(sb.root, 'nowhere'));
    await welcome().getByText('there is no folder at').waitFor();
    await welcome().getByRole('button', { name: 'Next' }).click();
    await stepHeading('Which folder should Ferry keep safe?').waitFor();
    await path.fill(sb.src);
    await welcome().getByText('a folder with 1 entry').waitFor();
    await welcome().getByRole('button', { name: 'Next' }).click();
    // Focus moves to the new step's heading.
    await stepHeading('Where should the copies go?').waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Where should the copies go?');
  });

  it('step 2: a local destination, not inside the folder; other kinds are for the Destinations page', async () => {
    await welcome().getByText('can be added later on the').waitFor();
    const path = welcome().getByLabel('Destination folder');
    await path.fill(join(sb.src, '.'));
    await welcome().getByText('this is the folder you are backing up').waitFor();
    await path.fill(sb.dest);
    await welcome().getByText('a folder with 0 entries').waitFor();
    await checkPage('welcome-destination');
    await welcome().getByRole('button', { name: 'Next' }).click();
    await stepHeading('How should Ferry copy?').waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('How should Ferry copy?');
  });

  it('step 3: a rule named after the folder, backup by default with mirror on offer; saving lands on Status', async () => {
    expect(await welcome().getByLabel('Rule name').inputValue()).toBe('Back up src');
    expect(
      await welcome()
        .getByRole('radio', { name: /Back up/ })
        .isChecked(),
    ).toBe(true);
    await welcome()
      .getByRole('radio', { name: /Mirror/ })
      .check();
    await welcome()
      .getByRole('radio', { name: /Back up/ })
      .check();
    await checkPage('welcome-rule');
    await welcome().getByRole('button', { name: 'Start syncing' }).click();
    await page.getByRole('heading', { level: 1, name: 'Status' }).waitFor();
    expect(await welcome().count()).toBe(0);

    const saved = parse(readFileSync(sb.config, 'utf8')) as {
      folders: { id: string; path: string }[];
      destinations: { id: string; type: string; path: string }[];
      rules: { name: string; from: string[]; to: string[]; mode: string; match?: string[] }[];
    };
    expect(saved.folders).toMatchObject([{ id: 'src', path: sb.src }]);
    expect(saved.destinations).toMatchObject([{ id: 'dest', type: 'local', path: sb.dest }]);
    expect(saved.rules).toMatchObject([{ name: 'Back up src', from: ['src'], to: ['dest'], mode: 'backup' }]);
  });

  it('ships the folder: the file already there, and one added now', async () => {
    await waitFor(() => readable(join(sb.dest, 'notes.txt')) === 'first file\n');
    writeFileSync(join(sb.src, 'later.txt'), 'second file\n');
    await waitFor(() => readable(join(sb.dest, 'later.txt')) === 'second file\n');
    expect(problems).toEqual([]);
  });

  /** A screenshot light and dark, and no serious WCAG 2 A/AA finding in either. */
  async function checkPage(name: string): Promise<void> {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} (${scheme}) is wider than the window`).toBeLessThanOrEqual(0);
      await screenshot(page, `${name}-${scheme}`);
      expect(await accessibilityViolations(page), `${name} (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }
});

function readable(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 100));
  }
}
