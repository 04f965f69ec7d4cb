import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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
 * A new user's first session, in Chromium against a real daemon, at a desktop size and a small one:
 * empty config → welcome (folder, destination, rule) → two rules of their own, written with the
 * preview → a big file shipped under a bandwidth cap → pause and resume → history searched and
 * exported → activity. Every page is saved as a screenshot (test/e2e/screenshots/journey-<size>-<step>.png)
 * and checked with axe-core; none is wider than the window.
 */
describe.each([
  { width: 1280, height: 800 },
  { width: 900, height: 600 },
])('a new user, from an empty config to the activity chart ($width×$height)', (viewport) => {
  const size = `${viewport.width}x${viewport.height}`;
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    sb = sandbox();
    mkdirSync(join(sb.src, 'camera'));
    writeFileSync(join(sb.src, 'camera', 'beach.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    writeFileSync(join(sb.src, 'camera', 'hills.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 4, 5, 6]));
    mkdirSync(join(sb.src, 'notes'));
    writeFileSync(join(sb.src, 'notes', 'todo.txt'), 'buy milk\n');
    ({ daemon, browser, page, problems } = await openWindow(sb, viewport));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  const welcome = () => page.getByTestId('welcome');
  const nav = () => page.getByRole('navigation', { name: 'Ferry' });
  const go = async (name: string) => {
    await nav().getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };
  /** The page as it is now: a screenshot, nothing wider than the window, no serious WCAG 2 A/AA finding. */
  const checkPage = async (step: string) => {
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${step} is wider than the window`).toBeLessThanOrEqual(0);
    await screenshot(page, `journey-${size}-${step}`);
    expect(await accessibilityViolations(page), step).toEqual([]);
  };

  it('welcome: a folder, a place for the copies and a first rule', async () => {
    await page.getByRole('heading', { level: 1, name: 'Welcome to Ferry' }).waitFor();
    await checkPage('01-welcome-folder');
    await welcome().getByLabel('Folder to back up').fill(sb.src);
    await welcome().getByText('a folder with 2 entries').waitFor();
    await welcome().getByRole('button', { name: 'Next' }).click();
    await welcome().getByLabel('Destination folder').fill(sb.dest);
    await welcome().getByText('a folder with 0 entries').waitFor();
    await checkPage('02-welcome-destination');
    await welcome().getByRole('button', { name: 'Next' }).click();
    await welcome().getByLabel('Rule name').fill('Everything');
    await checkPage('03-welcome-rule');
    await welcome().getByRole('button', { name: 'Start syncing' }).click();
    await page.getByRole('heading', { level: 1, name: 'Status' }).waitFor();
    await waitFor(() => readable(join(sb.dest, 'notes', 'todo.txt')) === 'buy milk\n');
    await checkPage('04-status');
  });

  it('two rules of their own, each written with the preview of what it catches', async () => {
    await go('Rules');
    await checkPage('05-rules');
    await addRule('Photos by name', '**/*.jpg', 'photos/{name}', [
      ['camera/beach.jpg', 'photos/beach.jpg'],
      ['camera/hills.jpg', 'photos/hills.jpg'],
    ]);
    await addRule('Notes', 'notes/**', 'text/{path}', [['notes/todo.txt', 'text/notes/todo.txt']]);
    expect((parse(readFileSync(sb.config, 'utf8')) as { rules: { name: string }[] }).rules.map((r) => r.name)).toEqual([
      'Everything',
      'Photos by name',
      'Notes',
    ]);
    await waitFor(() => readable(join(sb.dest, 'photos', 'hills.jpg')) !== undefined);
    await waitFor(() => readable(join(sb.dest, 'text', 'notes', 'todo.txt')) === 'buy milk\n');
  });

  it('a big file shipped under a bandwidth cap, paused and resumed on the way', async () => {
    await go('Settings');
    await page.getByLabel('Bandwidth cap (MB/s)').fill('4');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await checkPage('06-settings');
    expect(readFileSync(sb.config, 'utf8')).toMatch(/bandwidth: 4000000/);

    await go('Queue');
    // 16 MB at 4 MB/s: about four seconds on the way, time enough to pause it.
    const big = Buffer.alloc(16_000_000, 3);
    writeFileSync(join(sb.src, 'notes', 'video.txt'), big);
    const row = page.getByTestId('active-transfer').filter({ hasText: 'video.txt' }).first();
    await row.waitFor({ timeout: 30_000 });
    await checkPage('07-queue-running');
    await page.getByRole('button', { name: 'Pause all' }).click();
    await page.getByRole('button', { name: 'Resume all' }).waitFor();
    await checkPage('08-queue-paused');
    await page.getByRole('button', { name: 'Resume all' }).click();
    await page.getByRole('button', { name: 'Pause all' }).waitFor();
    await waitFor(() => readable(join(sb.dest, 'notes', 'video.txt'))?.length === big.length, 60_000);
    await waitFor(() => readable(join(sb.dest, 'text', 'notes', 'video.txt'))?.length === big.length, 60_000);
    expect(readFileSync(join(sb.dest, 'notes', 'video.txt')).equals(big)).toBe(true);
  });

  it('history: searched, and exported as CSV', async () => {
    await go('History');
    const table = page.getByTestId('history-table');
    await table.getByRole('row').filter({ hasText: 'camera/beach.jpg' }).first().waitFor();
    await checkPage('09-history');
    // Every rule name and remote path reads in full: no column squeezed to "e…".
    const cut = await table.evaluate((el) =>
      [...el.querySelectorAll('[role="row"] .truncate')]
        .filter((c) => c.scrollWidth > c.clientWidth + 1)
        .map((c) => c.textContent),
    );
    expect(cut).toEqual([]);
    await page.getByLabel('Search').fill('beach');
    await page.locator('.page-header__lead').filter({ hasText: /match/ }).waitFor();
    // The search keeps only beach.jpg: once by "Everything", once by "Photos by name".
    const found = async () => (await table.getByRole('row').allTextContents()).slice(1);
    // The rows shown may still be the unfiltered ones, or none while the filtered page loads: wait for the answer.
    await expect
      .poll(async () => {
        const rows = await found();
        return rows.length === 2 && rows.every((r) => r.includes('camera/beach.jpg'));
      })
      .toBe(true);
    const rows = await found();
    expect(rows.join('\n')).toContain('→ photos/beach.jpg');
    await checkPage('10-history-search');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path()) as string, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(csv[0]).toMatch(/^time,outcome,kind,rule,destination,folder,path,remote_path/);
    expect(csv.slice(1)).toHaveLength(2);
    expect(csv.slice(1).every((l) => l.includes('camera/beach.jpg'))).toBe(true);
    expect(download.suggestedFilename()).toMatch(/^ferry-history-\d{4}-\d{2}-\d{2}\.csv$/);
  });

  it('activity: what reached the destination today', async () => {
    await go('Activity');
    await page.getByTestId('activity-chart').locator('.recharts-bar-rectangle').first().waitFor();
    await checkPage('11-activity');
    await page.getByText('The same figures as a table').click();
    const today = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }).format(new Date());
    const row = page.getByTestId('activity-table').getByRole('row').filter({ hasText: today });
    // Everything (4 files), Photos by name (2), Notes (2): eight copies today.
    expect(await row.textContent()).toContain('8');
    await checkPage('12-activity-table');
    expect(problems).toEqual([]);
  });

  /** Adds a rule through the editor, checking its preview lists each file with its remote path first. */
  async function addRule(name: string, match: string, template: string, expected: [string, string][]) {
    await page.getByRole('button', { name: 'Add rule' }).first().click();
    const form = page.getByTestId('rule-form');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Match').fill(match);
    await form.getByLabel('Path template').fill(template);
    const preview = page.getByTestId('rule-preview');
    await preview
      .getByTestId('preview-total')
      .filter({ hasText: String(expected.length) })
      .waitFor();
    for (const [path, remote] of expected) {
      const row = preview.getByTestId('preview-row').filter({ hasText: path });
      await expect.poll(() => row.textContent()).toContain(remote);
    }
    // In sight beside (or pinned below) the field being typed in, and not over it.
    const field = form.getByLabel('Path template');
    await field.focus();
    await field.scrollIntoViewIfNeeded();
    expect(await preview.getByTestId('preview-row').first().isVisible()).toBe(true);
    const hidden = await field.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit === null || !(hit === el || el.contains(hit));
    });
    expect(hidden, 'the preview covers the field being typed in').toBe(false);
    await checkPage(`rule-${name.toLowerCase().replace(/\W+/g, '-')}`);
    await form.getByRole('button', { name: 'Save rule' }).click();
    await page.getByTestId('rule-card').filter({ hasText: name }).waitFor();
  }
});

function readable(path: string): Buffer | string | undefined {
  try {
    const data = readFileSync(path);
    return data.length < 1000 ? data.toString('utf8') : data;
  } catch {
    return undefined;
  }
}
