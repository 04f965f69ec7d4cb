import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
 * The Conflicts page end to end: two Ferry instances edit the same files before they sync through one
 * local destination ("hub"), as in test/integration/twoWay.test.ts; the first one's daemon serves the
 * window, which lists the conflicted copies and settles them with real file operations in the folder.
 */
type Side = { folder: string; state: string; config: string };

const configFor = (folder: string, hub: string) =>
  [
    'folders:',
    `  - { id: work, path: ${JSON.stringify(folder)} }`,
    'destinations:',
    `  - { id: hub, type: local, path: ${JSON.stringify(hub)} }`,
    'rules:',
    '  - { name: notebook, from: [work], to: [hub], mode: two-way }',
    '',
  ].join('\n');

async function sync(side: Side): Promise<void> {
  const r = await syncJson(side.config, side.state);
  expect(r.code, r.stderr + r.stdout).toBe(0);
}

describe('the Conflicts page, in Chromium, against a real daemon', () => {
  let sb: Sandbox;
  let mine: Side;
  let theirs: Side;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    sb = sandbox();
    // This side is the sandbox's source folder; the other has its own folder and state; `dest` is the hub.
    mine = { folder: sb.src, state: sb.state, config: sb.config };
    theirs = {
      folder: join(sb.root, 'other'),
      state: join(sb.root, 'other-state'),
      config: join(sb.root, 'other.yml'),
    };
    mkdirSync(theirs.folder);
    writeFileSync(mine.config, configFor(mine.folder, sb.dest));
    writeFileSync(theirs.config, configFor(theirs.folder, sb.dest));

    writeFileSync(join(mine.folder, 'notes.md'), 'shared\n');
    writeFileSync(join(mine.folder, 'todo.txt'), 'shared todo\n');
    await sync(mine);
    await sync(theirs);
    expect(readFileSync(join(theirs.folder, 'notes.md'), 'utf8')).toBe('shared\n');

    // Both sides change a file; the other side syncs first, so this side finds the conflict. One file per
    // round, so that each pass ships one conflicted copy: small uploads sent as a batch do not record the
    // two-way base yet (executeUploadBatch), and a copy settled here would come back from the hub.
    await conflict('notes.md', 'mine\n', 'theirs, edited elsewhere\n');
    await sync(mine);
    await conflict('todo.txt', 'my todo\n', 'their todo\n');
    expect(copies()).toHaveLength(2);

    ({ daemon, browser, page, problems } = await openWindow(sb));
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    sb?.cleanup();
  });

  /** A file changed on both sides, the other side first: this side's sync keeps theirs as a conflicted copy. */
  async function conflict(file: string, ours: string, other: string): Promise<void> {
    writeFileSync(join(mine.folder, file), ours);
    writeFileSync(join(theirs.folder, file), other);
    await sync(theirs);
    await sync(mine);
  }
  /** The conflicted copies in this side's folder (the trash left out). */
  const copies = () => readdirSync(mine.folder).filter((n) => n.includes('(conflicted copy from '));
  const nav = () => page.getByRole('navigation', { name: 'Ferry' });
  const card = (file: string) =>
    page.getByTestId('conflict').filter({ has: page.getByRole('heading', { level: 2, name: file, exact: true }) });

  it('lists both files with their two versions, and counts them in the sidebar', async () => {
    // The link's name carries the count once it is known: "Conflicts 2 conflicts".
    await nav()
      .getByRole('link', { name: /^Conflicts/ })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Conflicts' }).waitFor();
    await card('notes.md').waitFor({ timeout: 30_000 });
    await card('todo.txt').waitFor();
    await nav().getByLabel('2 conflicts').waitFor();

    const notes = card('notes.md');
    const [copy] = copies().filter((n) => n.startsWith('notes '));
    expect(copy).toBeDefined();
    expect(await notes.textContent()).toContain(copy);
    expect(await notes.getByRole('columnheader', { name: /^Theirs \(from .+\)$/ }).count()).toBe(1);
    // Sizes of both sides: "mine\n" is 5 bytes, the other version 25.
    const sizes = await notes.getByRole('row', { name: /^Size/ }).getByRole('cell').allTextContents();
    expect(sizes).toEqual(['5 B', '25 B']);
    for (const keep of ['mine', 'theirs', 'both'])
      await notes.getByRole('button', { name: `Keep ${keep} for notes.md` }).waitFor();

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `conflicts (${scheme}) is wider than the window`).toBeLessThanOrEqual(0);
      await screenshot(page, `conflicts-${scheme}`);
      expect(await accessibilityViolations(page), `conflicts (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('"Keep theirs" puts the other version at the file\'s name and removes the copy', async () => {
    await card('notes.md').getByRole('button', { name: 'Keep theirs for notes.md' }).click();
    await page.getByRole('status').filter({ hasText: 'notes.md now holds the version from' }).waitFor();
    await card('notes.md').waitFor({ state: 'detached' });
    expect(readFileSync(join(mine.folder, 'notes.md'), 'utf8')).toBe('theirs, edited elsewhere\n');
    expect(copies().filter((n) => n.startsWith('notes '))).toEqual([]);
    // Mine is not lost: it went to the folder's trash.
    const trash = join(mine.folder, '.ferry-trash');
    const trashed = (readdirSync(trash, { recursive: true }) as string[]).filter((p) => p.endsWith('notes.md'));
    expect(trashed.map((p) => readFileSync(join(trash, p), 'utf8'))).toContain('mine\n');
    await nav().getByLabel('1 conflict', { exact: true }).waitFor();
  });

  it('"Keep both" keeps mine at the name and theirs under a plain name, and the list is empty', async () => {
    await card('todo.txt').getByRole('button', { name: 'Keep both for todo.txt' }).click();
    await page.getByRole('status').filter({ hasText: 'kept both' }).waitFor();
    await page.getByText('No conflicts', { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByText('When a file changes on both sides before they sync').waitFor();
    expect(readFileSync(join(mine.folder, 'todo.txt'), 'utf8')).toBe('my todo\n');
    expect(copies()).toEqual([]);
    const plain = readdirSync(mine.folder).filter((n) => /^todo \(from .+ \d{4}-\d{2}-\d{2}\)\.txt$/.test(n));
    expect(plain).toHaveLength(1);
    expect(readFileSync(join(mine.folder, plain[0] as string), 'utf8')).toBe('their todo\n');
    await nav().getByRole('link', { name: 'Conflicts', exact: true }).waitFor();
    // And the settled files travel: the hub ends up with the chosen versions, without the conflicted copies.
    await waitFor(
      () =>
        existsSync(join(sb.dest, plain[0] as string)) &&
        readFileSync(join(sb.dest, 'notes.md'), 'utf8') === 'theirs, edited elsewhere\n' &&
        !readdirSync(sb.dest).some((n) => n.includes('(conflicted copy from ')),
    );
    expect(problems).toEqual([]);
  });
});
