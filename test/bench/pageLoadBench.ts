/**
 * Page loads of the window, served by a real daemon to Debian's Chromium at 1280×800 and 900×600:
 * for every page, the time from the start of a fresh load of its address (`#/rules`, …) to its
 * heading, and the time from a click in the sidebar to the new page's heading. The aim is under 1 s
 * for every page (issue 17); printed as medians, not asserted. Runnable alone:
 * `node --import tsx test/bench/pageLoadBench.ts` (after `npm run build`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, startDaemon } from '../e2e/harness';
import { runStandalone } from './standalone';
import type { BenchOptions } from './versusRclone';

const PAGES = [
  ['status', 'Status'],
  ['queue', 'Queue'],
  ['conflicts', 'Conflicts'],
  ['folders', 'Folders'],
  ['destinations', 'Destinations'],
  ['rules', 'Rules'],
  ['history', 'History'],
  ['activity', 'Activity'],
  ['settings', 'Settings'],
] as const;

export type PageLoadFigures = Record<string, { loadMs: number; navigateMs: number }>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function pageLoadBench(opts: BenchOptions): Promise<Record<string, PageLoadFigures>> {
  const [src, dest, state] = ['src', 'dest', 'state'].map((d) => join(opts.dir, d)) as [string, string, string];
  for (const d of [src, dest, state]) mkdirSync(d, { recursive: true });
  for (let i = 0; i < 200; i++) writeFileSync(join(src, `file-${i}.txt`), `file ${i}\n`);
  const config = join(opts.dir, 'ferry.yml');
  writeFileSync(
    config,
    [
      'folders:',
      `  - id: work`,
      `    path: ${JSON.stringify(src)}`,
      'destinations:',
      `  - id: nas`,
      `    type: local`,
      `    path: ${JSON.stringify(dest)}`,
      'rules:',
      '  - name: all',
      '    from: [work]',
      '    to: [nas]',
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon(config, state, join(opts.dir, 'ferry.log'));
  const browser = await launchChromium();
  const out: Record<string, PageLoadFigures> = {};
  try {
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 900, height: 600 },
    ]) {
      const size = `${viewport.width}x${viewport.height}`;
      const page = await browser.newPage({ viewport });
      await page.goto(daemon.windowUrl); // keeps the token for this tab
      const heading = (name: string) => page.getByRole('heading', { level: 1, name, exact: true });
      await heading('Status').waitFor();
      const loads = new Map<string, number[]>();
      const navs = new Map<string, number[]>();
      for (let run = 0; run < Math.max(3, opts.runs); run++)
        for (const [id, name] of PAGES) {
          await page.goto('about:blank');
          let t0 = Date.now();
          await page.goto(`${daemon.url}/#/${id}`);
          await heading(name).waitFor();
          loads.set(id, [...(loads.get(id) ?? []), Date.now() - t0]);
          // Then in the window: away to Status and back by the sidebar.
          if (id !== 'status') {
            await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name: 'Status' }).click();
            await heading('Status').waitFor();
          }
          t0 = Date.now();
          await page.getByRole('navigation', { name: 'Ferry' }).getByRole('link', { name, exact: true }).click();
          await heading(name).waitFor();
          navs.set(id, [...(navs.get(id) ?? []), Date.now() - t0]);
        }
      out[size] = Object.fromEntries(
        PAGES.map(([id]) => [id, { loadMs: median(loads.get(id) ?? []), navigateMs: median(navs.get(id) ?? []) }]),
      );
      const slowest = Math.max(...Object.values(out[size]).map((f) => f.loadMs));
      opts.log(`  ${size}: slowest page load ${slowest} ms (aim: under 1000 ms)`);
      await page.close();
    }
    return out;
  } finally {
    await browser.close();
    await daemon.stop();
  }
}

runStandalone('pageLoadBench', pageLoadBench);
