import axe from 'axe-core';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { spawnFerry } from '../helpers/cli';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM = process.env['FERRY_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the e2e run saves a screenshot of every page, light and dark (named in the README). */
export const SCREENSHOTS = join(__dirname, 'screenshots');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export type Daemon = { child: ChildProcess; url: string; token: string; windowUrl: string; stop: () => Promise<void> };

/** `ferry daemon` serving the built window on 127.0.0.1 with a fresh token; resolves once it listens. */
export async function startDaemon(config: string, stateDir: string, logFile: string): Promise<Daemon> {
  const child = spawnFerry([
    'daemon',
    '--config',
    config,
    '--state-dir',
    stateDir,
    '--port',
    '0',
    '--log-file',
    logFile,
  ]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 30_000;
  while (!/window: (\S+)/.test(out)) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`the daemon did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url: /on (http:\/\/\S+)/.exec(out)?.[1] as string,
    token: /token: (\S+)/.exec(out)?.[1] as string,
    windowUrl: /window: (\S+)/.exec(out)?.[1] as string,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await closed;
    },
  };
}

export type Sandbox = { root: string; src: string; dest: string; state: string; config: string; cleanup: () => void };

/** A temp directory with an empty source folder, an empty destination folder, a state dir and a config. */
export function sandbox(yaml = 'folders: []\ndestinations: []\nrules: []\n'): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));
  const src = join(root, 'src');
  const dest = join(root, 'dest');
  const state = join(root, 'state');
  for (const d of [src, dest, state]) mkdirSync(d);
  const config = join(root, 'ferry.yml');
  writeFileSync(config, yaml);
  return { root, src, dest, state, config, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A full-page screenshot under SCREENSHOTS, named by page and theme. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Page problems the window must never have: script errors, refused CSP loads, failed requests. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return problems;
}

/** axe-core's serious and critical WCAG 2.1 A/AA findings on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  // Injected through the debugging protocol, which the page's CSP does not govern (it must still refuse inline scripts).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const { axe: injected } = window as unknown as { axe: typeof axe };
    const result = await injected.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
      resultTypes: ['violations'],
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id}: ${v.help} — ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(' | ')}`,
      );
  });
}

export type OpenWindow = { daemon: Daemon; browser: Browser; page: Page; problems: string[] };

/** A daemon on the sandbox's config and Chromium showing its window (1280×800 unless told, light), watched for errors. */
export async function openWindow(
  sb: Sandbox,
  viewport: { width: number; height: number } = { width: 1280, height: 800 },
): Promise<OpenWindow> {
  const daemon = await startDaemon(sb.config, sb.state, join(sb.root, 'ferry.log'));
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport, colorScheme: 'light' });
    const problems = watchConsole(page);
    await page.goto(daemon.windowUrl);
    return { daemon, browser, page, problems };
  } catch (error) {
    // A set-up that fails (no Chromium, a page that does not load) stops what it started.
    await browser?.close().catch(() => undefined);
    await daemon.stop();
    throw error;
  }
}

/** Polls `cond` (a look at the file system) until it holds; fails after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 100));
  }
}
