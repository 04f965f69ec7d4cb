import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, openWindow, sandbox, screenshot, type Daemon, type Sandbox } from './harness';

/**
 * The window end to end: a real daemon (web mode) with a temp folder and a local destination, driven
 * through Debian's Chromium exactly as a person would — add things through the forms, watch the queue.
 */
describe('the window, in Chromium, against a real daemon', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    // A bandwidth cap of 8 MB/s makes a 40 MB file take five seconds: long enough to watch it move.
    sb = sandbox('folders: []\ndestinations: []\nrules: []\nsettings:\n  bandwidth: 8000000\n');
    mkdirSync(join(sb.src, 'docs'));
    writeFileSync(join(sb.src, 'docs', 'a.txt'), 'alpha\n');
    writeFileSync(join(sb.src, 'docs', 'b.txt'), 'beta\n');
    writeFileSync(join(sb.src, 'picture.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    ({ daemon, browser, page, problems } = await openWindow(sb));
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

  it('keeps the token out of the address bar and refuses the API without it', async () => {
    expect(page.url()).not.toContain('token');
    const res = await fetch(`${daemon.url}/api/status:get`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
  });

  it('adds a folder through the form, checking the path as it is typed', async () => {
    await go('Folders');
    await page.getByRole('button', { name: 'Add folder' }).first().click();
    const form = page.getByTestId('folder-form');
    await form.getByLabel('ID').fill('work');
    await form.getByLabel('Path').fill(join(sb.root, 'nowhere'));
    await form.getByText('there is no folder at').waitFor();
    await form.getByLabel('Path').fill(sb.src);
    await form.getByText('a folder with 2 entries').waitFor();
    await form.getByLabel('Ignore patterns').fill('*.jpg');
    await form.getByTestId('ignore-preview').getByText('picture.jpg').waitFor();
    await form.getByLabel('Ignore patterns').fill('');
    await form.getByRole('button', { name: 'Save folder' }).click();
    await page.getByTestId('folder-card').filter({ hasText: sb.src }).waitFor();
    expect(readFileSync(sb.config, 'utf8')).toContain(sb.src);
  });

  it('adds a local destination through the form generated from the schema', async () => {
    await go('Destinations');
    await page.getByRole('button', { name: 'Add destination' }).first().click();
    const form = page.getByTestId('destination-form');
    await form.getByLabel('Type').selectOption('local');
    await form.getByLabel('ID').fill('nas');
    await form.getByLabel('Path', { exact: true }).fill(sb.dest);
    await form.getByRole('button', { name: 'Save destination' }).click();
    await page.getByTestId('destination-card').filter({ hasText: 'nas' }).waitFor();
  });

  it('writes a rule whose live preview lists the files it catches', async () => {
    await go('Rules');
    await page.getByRole('button', { name: 'Add rule' }).first().click();
    const form = page.getByTestId('rule-form');
    await form.getByLabel('Name').fill('docs');
    await form.getByRole('checkbox', { name: 'work', exact: true }).check();
    await form.getByRole('checkbox', { name: 'nas', exact: true }).check();
    await form.getByLabel('Match').fill('**/*.txt');
    const preview = page.getByTestId('rule-preview');
    await preview.getByTestId('preview-total').filter({ hasText: '2' }).waitFor();
    const rows = await preview.getByTestId('preview-row').allTextContents();
    expect(rows.join('\n')).toContain('docs/a.txt');
    expect(rows.join('\n')).toContain('docs/b.txt');
    expect(rows.join('\n')).not.toContain('picture.jpg');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await page.getByTestId('rule-card').filter({ hasText: 'docs' }).waitFor();
    // The rule runs: both files arrive.
    await waitFor(() => exists(join(sb.dest, 'docs', 'b.txt')));
  });

  it('shows a dropped file go from the queue, with a moving progress bar, into history', async () => {
    await go('Queue');
    // Layout shifts while the transfer streams in (the Cumulative Layout Shift of web vitals).
    await page.evaluate(() => {
      const w = window as unknown as { shift: number };
      w.shift = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.shift += (e as unknown as { value: number }).value;
      }).observe({ type: 'layout-shift' });
    });
    const big = Buffer.alloc(40 * 1024 * 1024, 7);
    writeFileSync(join(sb.src, 'docs', 'big.txt'), big);
    const bar = page.getByTestId('active-transfer').filter({ hasText: 'big.txt' }).getByRole('progressbar');
    await bar.waitFor({ timeout: 30_000 });
    const first = await valueNow(bar);
    let later = first;
    for (let i = 0; i < 60 && later <= first; i++) {
      await page.waitForTimeout(250);
      later = await valueNow(bar).catch(() => later);
    }
    expect(later).toBeGreaterThan(first);
    await bar.waitFor({ state: 'detached', timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { shift: number }).shift)).toBeLessThan(0.1);
    await go('History');
    await page.getByTestId('history-table').getByText('docs/big.txt', { exact: true }).waitFor();
    expect(readFileSync(join(sb.dest, 'docs', 'big.txt')).equals(big)).toBe(true);
  });

  it('shows why a transfer failed, and ships it on Retry once the cause is fixed', async () => {
    // A folder sits where the file must go: the destination refuses it until it is moved away.
    mkdirSync(join(sb.dest, 'docs', 'blocked.txt'));
    writeFileSync(join(sb.src, 'docs', 'blocked.txt'), 'let me in\n');
    await go('Queue');
    await page.getByRole('tab', { name: /Failed/ }).click();
    const row = page.getByTestId('queue-failed').getByRole('row').filter({ hasText: 'blocked.txt' });
    await row.waitFor({ timeout: 60_000 });
    expect(await row.textContent()).toMatch(/folder|directory|EISDIR|exists/i);
    rmSync(join(sb.dest, 'docs', 'blocked.txt'), { recursive: true });
    await row.getByRole('button', { name: 'Retry docs/blocked.txt' }).click();
    await waitFor(
      () =>
        exists(join(sb.dest, 'docs', 'blocked.txt')) &&
        readFileSync(join(sb.dest, 'docs', 'blocked.txt'), 'utf8') === 'let me in\n',
    );
    await row.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it("charts today's files", async () => {
    await go('Activity');
    const chart = page.getByTestId('activity-chart');
    await chart.locator('.recharts-bar-rectangle').first().waitFor();
    await page.getByText('The same figures as a table').click();
    const today = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }).format(new Date());
    const row = page.getByTestId('activity-table').getByRole('row').filter({ hasText: today });
    // a.txt, b.txt, big.txt and blocked.txt reached nas today.
    expect(await row.textContent()).toContain('4');
  });

  it('saves a screenshot of every page, light and dark, without script errors or refused loads', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
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
        await page.waitForTimeout(300);
        // Nothing wider than the window: no horizontal scrolling, nothing cut off at the right.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} (${scheme}) is wider than the window`).toBeLessThanOrEqual(0);
        await screenshot(page, `${name.toLowerCase()}-${scheme}`);
        // WCAG 2 A/AA (labels, names, contrast, keyboard): nothing serious or critical.
        expect(await accessibilityViolations(page), `${name} (${scheme})`).toEqual([]);
      }
    }
    expect(problems).toEqual([]);
  });
});

async function valueNow(bar: ReturnType<Page['getByRole']>): Promise<number> {
  return Number(await bar.getAttribute('aria-valuenow', { timeout: 1000 }));
}

function exists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 100));
  }
}
