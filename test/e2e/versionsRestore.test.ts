import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
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
 * The Versions panel end to end: a mirror to a local destination replaced one file and deleted
 * another; the window, reached from a folder's context, lists their versions, previews what restoring
 * the folder as it was would change, restores it (real files, verified), and the file it replaced is
 * kept as a version.
 */
const read = (p: string) => readFileSync(p, 'utf8');

describe('the Versions panel, in Chromium, against a real daemon', () => {
  let sb: Sandbox;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let moment: number;

  beforeAll(async () => {
    sb = sandbox();
    writeFileSync(
      sb.config,
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(sb.src)} }`,
        'destinations:',
        `  - { id: backup, type: local, path: ${JSON.stringify(sb.dest)} }`,
        'rules:',
        '  - { name: mirror, from: [work], to: [backup], mode: mirror }',
        '',
      ].join('\n'),
    );
    mkdirSync(join(sb.src, 'docs', 'deep'), { recursive: true });
    writeFileSync(join(sb.src, 'docs', 'a.txt'), 'a as it was\n');
    writeFileSync(join(sb.src, 'docs', 'deep', 'b.txt'), 'b as it was\n');
    expect((await syncJson(sb.config, sb.state)).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    moment = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    writeFileSync(join(sb.src, 'docs', 'a.txt'), 'a edited later\n');
    unlinkSync(join(sb.src, 'docs', 'deep', 'b.txt'));
    expect((await syncJson(sb.config, sb.state)).code).toBe(0);
    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  const file = (path: string) =>
    page.getByTestId('version-file').filter({ has: page.getByRole('heading', { level: 2, name: path, exact: true }) });

  it("lists a folder's versions from its context in the Folders page", async () => {
    await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name: 'Folders' }).click();
    await page.getByRole('link', { name: 'Versions of folder work' }).click();
    await page.getByRole('heading', { level: 1, name: 'Versions' }).waitFor();
    await file('docs/a.txt').waitFor({ timeout: 30_000 });
    expect(await file('docs/a.txt').getByTestId('version').textContent()).toContain('replaced by a sync');
    expect(await file('docs/deep/b.txt').getByTestId('version').textContent()).toContain('deleted by a sync');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `versions (${scheme}) is wider than the window`).toBeLessThanOrEqual(0);
      await screenshot(page, `versions-${scheme}`);
      expect(await accessibilityViolations(page), `versions (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('previews and restores the folder as it was, keeping the replaced file as a version', async () => {
    // The moment, to the second, in the input's local time.
    const local = new Date(moment - new Date(moment).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.getByLabel('Moment', { exact: true }).fill(local);
    const preview = page.getByTestId('restore-preview');
    await preview.getByText('docs/a.txt').waitFor();
    expect(await preview.textContent()).toMatch(
      /docs\/a\.txt: back to the version kept .*docs\/deep\/b\.txt: back to the version kept/,
    );
    await page.getByRole('button', { name: 'Restore as it was then' }).click();
    const result = page.getByTestId('restore-result');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain('Restored 2 files');
    expect(read(join(sb.src, 'docs', 'a.txt'))).toBe('a as it was\n');
    expect(read(join(sb.src, 'docs', 'deep', 'b.txt'))).toBe('b as it was\n');
    // The daemon ships the restored folder; the edit it replaced is a version now.
    await waitFor(() => {
      try {
        return (
          read(join(sb.dest, 'docs', 'a.txt')) === 'a as it was\n' &&
          read(join(sb.dest, 'docs', 'deep', 'b.txt')) === 'b as it was\n'
        );
      } catch {
        return false;
      }
    });
    await file('docs/a.txt').getByText('replaced by a restore').waitFor({ timeout: 30_000 });
    expect(problems).toEqual([]);
  });
});
