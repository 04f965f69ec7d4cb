import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openWindow, sandbox, screenshot, waitFor, type Daemon, type Sandbox } from './harness';

type Saved = {
  folders?: { id: string; path: string }[];
  destinations?: { id: string; path: string }[];
  rules?: { name: string }[];
};

/**
 * The person's work, in Chromium against a real daemon, in a 900×600 window: what a form flags is
 * not saved behind the person's back, a half-written rule or welcome step outlives a look at another
 * page, the config stays readable YAML, and the pages fit and say things plainly.
 */
describe("the window keeps the person's work: from an empty config (900×600)", () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const saved = () => parse(readFileSync(sb.config, 'utf8')) as Saved;

  beforeAll(async () => {
    sb = sandbox();
    mkdirSync(join(sb.src, 'docs'));
    writeFileSync(join(sb.src, 'docs', 'a.txt'), 'alpha\n');
    ({ daemon, browser, page, problems } = await openWindow(sb, { width: 900, height: 600 }));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  const go = async (name: string) => {
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };
  const welcome = () => page.getByTestId('welcome');

  it('keeps a welcome step half-typed while the person looks at another page', async () => {
    await welcome().getByLabel('Folder to back up').fill(sb.src);
    await welcome().getByText('a folder with 1 entry').waitFor();
    await welcome().getByRole('button', { name: 'Next' }).click();
    await welcome().getByLabel('Destination folder').fill(sb.dest);
    await go('Folders');
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name: 'Status', exact: true }).click();
    await page.getByRole('heading', { level: 2, name: 'Where should the copies go?' }).waitFor();
    expect(await welcome().getByLabel('Destination folder').inputValue()).toBe(sb.dest);
    await welcome().getByRole('button', { name: 'Back' }).click();
    expect(await welcome().getByLabel('Folder to back up').inputValue()).toBe(sb.src);
  });

  it('says what is wrong inline instead of a browser tooltip', async () => {
    await go('Folders');
    await page.getByRole('button', { name: 'Add folder' }).first().click();
    const form = page.getByTestId('folder-form');
    await form.getByRole('button', { name: 'Save folder' }).click();
    await form.getByText('type a short name for this folder').waitFor();
    await form.getByText('type the path of a folder on this computer').waitFor();
    // No native constraint left to raise a browser bubble of its own.
    expect(await form.locator(':invalid').count()).toBe(0);
  });

  it('writes what the window adds to an empty config in block style', async () => {
    const form = page.getByTestId('folder-form');
    await form.getByLabel('ID').fill('work');
    await form.getByLabel('Path').fill(sb.src);
    await form.getByText('a folder with 1 entry').waitFor();
    await form.getByRole('button', { name: 'Save folder' }).click();
    await page.getByTestId('folder-card').filter({ hasText: sb.src }).waitFor();
    const text = readFileSync(sb.config, 'utf8');
    expect(text).not.toContain('[{');
    expect(text).toMatch(/^folders:\n {2}- id: work\n {4}path: /m);
  });

  it('does not save a folder path it just flagged as missing, unless the person says so', async () => {
    await page.getByRole('button', { name: 'Add folder' }).first().click();
    const form = page.getByTestId('folder-form');
    await form.getByLabel('ID').fill('usb-photos');
    await form.getByLabel('Path').fill(join(sb.root, 'unplugged'));
    await form.getByText('there is no folder at').waitFor();
    await form.getByRole('button', { name: 'Save folder' }).click();
    await form.getByTestId('missing-folder-confirm').getByText('Not saved').waitFor();
    await page.waitForTimeout(500);
    expect(saved().folders?.map((f) => f.id)).toEqual(['work']);
    // Asked explicitly, it is saved: a disk that is not plugged in yet.
    await form.getByRole('button', { name: 'Save anyway' }).click();
    await page.getByTestId('folder-card').filter({ hasText: 'usb-photos' }).waitFor();
    expect(saved().folders?.map((f) => f.id)).toEqual(['work', 'usb-photos']);
  });

  it('does not save a folder inside a watched folder', async () => {
    await page.getByRole('button', { name: 'Add folder' }).first().click();
    const form = page.getByTestId('folder-form');
    await form.getByLabel('ID').fill('docs');
    await form.getByLabel('Path').fill(join(sb.src, 'docs'));
    await form.getByText('this is inside folder "work"').waitFor();
    await form.getByRole('button', { name: 'Save folder' }).click();
    await page.waitForTimeout(500);
    expect(saved().folders?.map((f) => f.id)).toEqual(['work', 'usb-photos']);
    await form.getByRole('button', { name: 'Cancel' }).click();
    expect(problems).toEqual([]);
  });
});

describe("the window keeps the person's work: with a folder, a destination and a rule (900×600)", () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const saved = () => parse(readFileSync(sb.config, 'utf8')) as Saved;

  beforeAll(async () => {
    // Set up by hand, so that each test here stands on its own.
    sb = sandbox();
    mkdirSync(join(sb.src, 'docs'));
    writeFileSync(join(sb.src, 'docs', 'a.txt'), 'alpha\n');
    mkdirSync(join(sb.root, 'other'));
    writeFileSync(join(sb.root, 'other', 'only.txt'), 'one entry\n');
    mkdirSync(join(sb.root, 'usb'));
    writeFileSync(
      sb.config,
      `folders:\n  - id: work\n    path: ${sb.src}\ndestinations:\n  - id: nas\n    type: local\n    path: ${sb.dest}\nrules:\n  - name: docs\n    from: [work]\n    to: [nas]\n    match: ["docs/**"]\n`,
    );
    ({ daemon, browser, page, problems } = await openWindow(sb, { width: 900, height: 600 }));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  const go = async (name: string) => {
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };

  it('drops a "duplicate id" message once the id is changed', async () => {
    await go('Folders');
    await page.getByRole('button', { name: 'Add folder' }).first().click();
    const form = page.getByTestId('folder-form');
    await form.getByLabel('Path').fill(join(sb.root, 'other'));
    await form.getByLabel('ID').fill('work');
    await form.getByText(/already called "work"|duplicate id/).waitFor();
    await form.getByRole('button', { name: 'Save folder' }).click();
    await page.waitForTimeout(300);
    await form.getByLabel('ID').fill('other');
    await page.waitForTimeout(300);
    expect(await form.getByText(/already called|duplicate id/).count()).toBe(0);
    // The one entry of that folder is said as one.
    await form.getByTestId('ignore-preview').getByText('(1 entry looked at)').waitFor();
    await form.getByRole('button', { name: 'Save folder' }).click();
    await page.getByTestId('folder-card').filter({ hasText: 'other' }).first().waitFor();
  });

  it('does not save a destination whose connection test just failed, unless the person says so', async () => {
    await go('Destinations');
    await page.getByRole('button', { name: 'Add destination' }).first().click();
    const form = page.getByTestId('destination-form');
    await form.getByLabel('Type').selectOption('local');
    await form.getByLabel('ID').fill('usb');
    await form.getByLabel('Path', { exact: true }).fill(join(sb.root, 'unplugged'));
    await form.getByRole('button', { name: 'Test connection' }).click();
    await form.getByTestId('test-result').getByText('failed').first().waitFor();
    await form.getByRole('button', { name: 'Save destination' }).click();
    await form.getByTestId('failed-test-confirm').getByText('Not saved').waitFor();
    await page.waitForTimeout(500);
    expect(saved().destinations?.map((d) => d.id)).toEqual(['nas']);
    await form.getByLabel('Path', { exact: true }).fill(join(sb.root, 'usb'));
    await form.getByRole('button', { name: 'Test connection' }).click();
    await form.getByTestId('test-result').getByText('passed').first().waitFor();
    await form.getByRole('button', { name: 'Save destination' }).click();
    await page.getByTestId('destination-card').filter({ hasText: 'usb' }).waitFor();
    expect(saved().destinations?.map((d) => d.id)).toEqual(['nas', 'usb']);
  });

  it('keeps a half-written rule across pages, and shows its preview in sight', async () => {
    await go('Rules');
    await page.getByRole('button', { name: 'Add rule' }).first().click();
    const form = page.getByTestId('rule-form');
    await form.getByLabel('Name').fill('texts');
    await form.getByRole('checkbox', { name: 'work', exact: true }).check();
    await form.getByRole('checkbox', { name: 'usb', exact: true }).check();
    await form.getByLabel('Match').fill('**/*.txt');
    await go('History');
    await go('Rules');
    await page.getByTestId('draft-restored').waitFor();
    expect(await form.getByLabel('Name').inputValue()).toBe('texts');
    expect(await form.getByLabel('Match').inputValue()).toBe('**/*.txt');
    expect(await form.getByRole('checkbox', { name: 'usb', exact: true }).isChecked()).toBe(true);
    const preview = page.getByTestId('rule-preview');
    await preview.getByTestId('preview-total').filter({ hasText: '1' }).waitFor();
    // With the Match field in view, the preview is in view too: no scrolling to see what the draft catches.
    await form.getByLabel('Match').scrollIntoViewIfNeeded();
    const box = await preview.boundingBox();
    expect(box && box.y < 600 && box.y + box.height > 0).toBe(true);
    expect(await preview.getByTestId('preview-row').first().isVisible()).toBe(true);
    await form.getByRole('button', { name: 'Save rule' }).click();
    await page.getByTestId('rule-card').filter({ hasText: 'texts' }).waitFor();
    await waitFor(() => readable(join(sb.root, 'usb', 'docs', 'a.txt')) === 'alpha\n');
  });

  it('shows History with dates, where each file went, and columns that are not cut to "e…"', async () => {
    await go('History');
    const table = page.getByTestId('history-table');
    const row = table.getByRole('row').filter({ hasText: 'docs/a.txt' }).first();
    await row.waitFor();
    const year = String(new Date().getFullYear());
    expect(await row.getByRole('cell').first().textContent()).toContain(year);
    expect(await row.getByTestId('history-remote').textContent()).toBe('→ docs/a.txt');
    // Rule and destination read in full, no ellipsis.
    const cut = await row.evaluate((el) =>
      [...el.querySelectorAll('.truncate')].filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent),
    );
    expect(cut).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('labels months with their year, not as a date', async () => {
    await go('Activity');
    await page.getByRole('tab', { name: 'Months' }).click();
    await page.getByText('The same figures as a table').click();
    const thisMonth = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric' }).format(new Date());
    await page.getByTestId('activity-table').getByRole('row').filter({ hasText: thisMonth }).waitFor();
    // "2 files shipped", not "2 files shipped" with a gap or "1 files".
    expect(await page.locator('.page-header__lead').textContent()).toMatch(/^2 files shipped in the last 12 months$/);
  });

  it('says the queue in one plain sentence', async () => {
    await go('Queue');
    const lead = page.locator('.page-header__lead');
    await lead.filter({ hasText: 'Nothing to ship' }).waitFor();
    expect(await lead.textContent()).not.toMatch(/^0 transfers|0 running/);
  });

  it('shows the theme as it is chosen, and puts the saved one back when left unsaved', async () => {
    await go('Settings');
    const theme = () => page.evaluate(() => document.documentElement.dataset['theme'] ?? 'system');
    await page.getByRole('radio', { name: 'Dark' }).check();
    expect(await theme()).toBe('dark');
    await go('Status');
    expect(await theme()).toBe('system');
  });

  it('names a rule, not rules[0].from[0], when a change would break it', async () => {
    await go('Folders');
    await page.getByRole('button', { name: 'Remove folder work' }).click();
    await page.getByRole('button', { name: 'Remove work', exact: true }).click();
    const note = page.getByRole('alert').filter({ hasText: 'unknown folder' });
    await note.waitFor();
    expect(await note.textContent()).toContain('Rule "docs"');
    expect(await note.textContent()).not.toMatch(/rules\[\d+\]/);
  });

  it('fits every page, and the forms, in an 800×600 window', async () => {
    await page.setViewportSize({ width: 800, height: 600 });
    const fits = async (name: string) => {
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} is wider than an 800×600 window`).toBeLessThanOrEqual(0);
      await screenshot(page, `narrow-800x600-${name}`);
    };
    for (const name of [
      'Status',
      'Queue',
      'Conflicts',
      'Folders',
      'Destinations',
      'Rules',
      'History',
      'Activity',
      'Settings',
    ]) {
      await go(name);
      await fits(name.toLowerCase());
    }
    await go('Folders');
    await page.getByRole('button', { name: 'Add folder' }).first().click();
    await fits('folder-form');
    await page.getByTestId('folder-form').getByRole('button', { name: 'Cancel' }).click();
    await go('Destinations');
    await page.getByRole('button', { name: 'Add destination' }).first().click();
    await page.getByTestId('destination-form').getByLabel('Type').selectOption('sftp');
    await fits('destination-form');
    await go('Rules');
    await page.getByRole('button', { name: 'Edit rule docs' }).click();
    await page.getByTestId('rule-preview').getByTestId('preview-row').first().waitFor();
    await fits('rule-editor');
    const field = page.getByTestId('rule-form').getByLabel('Match');
    await field.focus();
    const hidden = await field.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit === null || !(hit === el || el.contains(hit));
    });
    expect(hidden, 'the field being typed in is under something').toBe(false);
    expect(await page.getByTestId('rule-preview').getByTestId('preview-row').first().isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });
});

function readable(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
