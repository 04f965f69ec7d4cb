import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, openWindow, sandbox, screenshot, type Daemon, type Sandbox } from './harness';

/** The Settings page edits settings.bandwidth_schedule: checked as typed, shown as a week, in force once saved. */
describe('the bandwidth schedule on the Settings page', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    sb = sandbox();
    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  it('names what is wrong as it is typed, shows the week and the limit now, and saves it in force', async () => {
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await page.getByTestId('bandwidth-in-force').getByText('In force now: no limit').waitFor();
    const field = page.getByLabel('Bandwidth schedule');

    await field.fill('08:00,2M Fry-18:00,off');
    await page.getByRole('alert').getByText('"Fry-18:00,off": "Fry" is not a day').waitFor();
    expect(await page.getByRole('button', { name: 'Save settings' }).isDisabled()).toBe(true);

    // Monday to Friday at 1M:256k, the weekend unlimited.
    await field.fill('Mon-00:00,1M:256k Sat-00:00,off');
    await page.getByTestId('bandwidth-grid').waitFor();
    const day = new Date().getDay();
    const expected = day === 0 || day === 6 ? 'no limit' : 'up 1M/s, down 256k/s';
    await page.getByTestId('bandwidth-draft-now').getByText(expected).waitFor();
    const cells = page.getByTestId('bandwidth-grid').locator('td');
    expect(await cells.count()).toBe(7 * 24);
    expect(await cells.first().getAttribute('title')).toBe('Mon 00:00 — up 1M/s, down 256k/s');
    expect(await cells.last().getAttribute('title')).toBe('Sun 23:00 — no limit');
    // Painting an hour rewrites the timetable: Monday 09:00 at 2M.
    await page.getByLabel('Paint hours with').fill('2M');
    await page.getByRole('button', { name: 'Mon 09:00 — up 1M/s, down 256k/s' }).click();
    expect(await field.inputValue()).toBe('Mon-00:00,1M:256k Mon-09:00,2M Mon-10:00,1M:256k Sat-00:00,off');
    await page.getByRole('button', { name: 'Mon 09:00 — 2M/s each way' }).waitFor();
    await page.getByLabel('Paint hours with').fill('1M:256k');
    await page.getByRole('button', { name: 'Mon 09:00 — 2M/s each way' }).click();
    expect(await field.inputValue()).toBe('Mon-00:00,1M:256k Sat-00:00,off');
    await screenshot(page, 'settings-schedule-light');
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    expect(readFileSync(sb.config, 'utf8')).toMatch(/bandwidth_schedule: ["']?Mon-00:00,1M:256k Sat-00:00,off/);
    await page.getByTestId('bandwidth-in-force').getByText(`In force now: ${expected}`).waitFor();
    expect(problems).toEqual([]);
  });
});
