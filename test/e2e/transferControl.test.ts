import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrivalMeter } from '../helpers/capMeter';
import { snapshot } from '../helpers/tree';
import {
  accessibilityViolations,
  openWindow,
  sandbox,
  screenshot,
  waitFor,
  type Daemon,
  type Sandbox,
} from './harness';

/** 4 MB/s: a 30 MB file takes some eight seconds, long enough to pause, resume and cancel it. */
const CAP = 4_000_000;
const BIG = 30 * 1024 * 1024;

/**
 * Pause, resume, cancel and a failure, from the window, in Chromium against a real daemon: the bytes
 * at the destination say whether a pause really pauses.
 */
describe('pausing, resuming, cancelling and failing transfers in the window', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let meter: ArrivalMeter;

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
        '  - { name: backup, from: [work], to: [nas], mode: backup }',
        'settings:',
        `  bandwidth: ${CAP}`,
        '  transfers: 2',
        '',
      ].join('\n'),
    );
    meter = new ArrivalMeter(sb.dest, 50);
    meter.start();
    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    meter?.stop();
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  const go = async (name: string) => {
    // The link's name carries its count ("Queue 2 to go"), when there is one.
    await page
      .getByRole('navigation', { name: 'Ferry' })
      .getByRole('link', { name: new RegExp(`^${name}\\b`) })
      .click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };
  const arrived = (prefix: string) => readdirSync(sb.dest).filter((n) => n.startsWith(prefix)).length;

  it('"Pause all" stops the bytes at once; "Resume all" shows at once and finishes the files', async () => {
    await go('Queue');
    for (let i = 0; i < 2; i++) writeFileSync(join(sb.src, `big${i}.bin`), randomBytes(BIG));
    await waitFor(() => meter.bytes >= CAP);
    const paused = page.waitForResponse((r) => decodeURIComponent(r.url()).endsWith('/api/sync:pause'));
    await page.getByRole('button', { name: 'Pause all' }).click();
    await paused;
    // Stopped before the answer: at most the slice each copy had in flight arrives after it.
    await page.waitForTimeout(200);
    const atPause = meter.bytes;
    await page.getByRole('button', { name: 'Resume all' }).waitFor({ timeout: 5_000 });
    await page.waitForTimeout(3000);
    expect(meter.bytes - atPause).toBeLessThanOrEqual(2 * (CAP / 20));
    expect(await page.getByRole('tab', { name: /Active/ }).textContent()).toBe('Active (0)');
    expect(arrived('big')).toBe(0);
    await go('Status');
    await page
      .getByTestId('status-summary')
      .getByText(/paused/i)
      .first()
      .waitFor();

    await go('Queue');
    const resumed = page.waitForResponse((r) => decodeURIComponent(r.url()).endsWith('/api/sync:resume'));
    await page.getByRole('button', { name: 'Resume all' }).click();
    await resumed;
    // Immediate: the window shows it running again without waiting for the pass.
    await page.getByRole('button', { name: 'Pause all' }).waitFor({ timeout: 3_000 });
    await page.getByTestId('active-transfer').first().waitFor({ timeout: 30_000 });
    await waitFor(() => arrived('big') === 2, 120_000);
    expect(snapshot(sb.dest)).toEqual(snapshot(sb.src));
  });

  it('a cancelled transfer is no failure: the banner stays calm and nothing is "failed"', async () => {
    await go('Queue');
    // Moved in whole, so the watcher sees it once and no later pass plans it again behind the cancel.
    writeFileSync(join(sb.root, 'unwanted.bin'), randomBytes(BIG));
    renameSync(join(sb.root, 'unwanted.bin'), join(sb.src, 'unwanted.bin'));
    const row = page.getByTestId('active-transfer').filter({ hasText: 'unwanted.bin' });
    await row.waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Cancel unwanted.bin' }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await page.getByRole('tab', { name: 'Failed (0)' }).waitFor();
    await go('Status');
    const banner = page.getByTestId('status-summary');
    await banner.waitFor();
    await page.waitForTimeout(1000);
    expect(await banner.getAttribute('class')).not.toContain('verdict--error');
    expect(await banner.textContent()).not.toMatch(/fail/i);
    expect(await page.locator('main').textContent()).not.toContain('check the destination');
    // It comes back with the next change or rescan, not by itself.
    expect(existsSync(join(sb.dest, 'unwanted.bin'))).toBe(false);
  });

  it('a failure reads as a sentence naming the path, with its fix, shown in full', async () => {
    mkdirSync(join(sb.dest, 'blocked.txt'));
    writeFileSync(join(sb.src, 'blocked.txt'), 'let me in\n');
    await go('Queue');
    await page.getByRole('tab', { name: /Failed/ }).click();
    const row = page.getByTestId('queue-failed').getByRole('row').filter({ hasText: 'blocked.txt' });
    await row.waitFor({ timeout: 60_000 });
    const text = (await row.textContent()) ?? '';
    expect(text).toContain(
      `Cannot upload blocked.txt: a file and a folder want the same name at ${join(sb.dest, 'blocked.txt')}.`,
    );
    expect(text).toContain('Fix: Rename one of them, then retry.');
    expect(text).not.toMatch(/E[A-Z]{3,}|ferrytmp/);
    // Nothing of it is cut off.
    const reason = row.getByTestId('failure-reason');
    const clipped = await reason.evaluate(
      (el) => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1,
    );
    expect(clipped).toBe(false);
    await screenshot(page, 'queue-failed-reason');
    expect(await accessibilityViolations(page)).toEqual([]);
    rmSync(join(sb.dest, 'blocked.txt'), { recursive: true });
    expect(problems).toEqual([]);
  });
});
