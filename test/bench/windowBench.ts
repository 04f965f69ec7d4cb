/**
 * The window with long lists: 50,000 pending transfers in the queue and 100,000 rows of history,
 * served by a real daemon to Debian's Chromium. Measures time to the first rows, time to scroll to the
 * last row, and frame times while scrolling (how smooth it stays). Runnable alone:
 * `node --import tsx test/bench/windowBench.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Action } from '../../src/shared/models';
import { Store } from '../../src/main/engine/store/store';
import { launchChromium, startDaemon } from '../e2e/harness';
import { runStandalone } from './standalone';
import type { BenchOptions } from './versusRclone';

export type WindowFigures = {
  pending: number;
  history: number;
  queue: ListFigures;
  historyList: ListFigures;
};

type ListFigures = { firstRowsMs: number; scrollToEndMs: number; frameP95Ms: number; frameMaxMs: number };

/** Fills a state dir with `pending` queued uploads and `history` transfer records. */
function seed(stateDir: string, pending: number, history: number): void {
  const store = Store.open(stateDir);
  try {
    const actions: Action[] = [];
    for (let i = 0; i < pending; i++)
      actions.push({
        kind: 'upload',
        rule: 'all',
        destination: 'nas',
        folder: 'work',
        path: `photos/${String(Math.floor(i / 500)).padStart(3, '0')}/IMG_${String(i).padStart(6, '0')}.jpg`,
        remotePath: `photos/IMG_${i}.jpg`,
        size: 1_000_000 + i,
        sha256: i.toString(16).padStart(64, '0'),
        reason: 'new file',
      });
    store.jobs.replacePlan(actions);
    const start = Date.now() - 90 * 86_400_000;
    store.transaction(() => {
      for (let i = 0; i < history; i++)
        store.history.add({
          at: start + Math.floor((i / history) * 90 * 86_400_000),
          kind: 'upload',
          rule: i % 3 === 0 ? 'documents' : 'photos',
          destination: i % 2 === 0 ? 'nas' : 's3',
          folder: 'work',
          path: `archive/${String(i % 1000).padStart(4, '0')}/file-${i}.dat`,
          remotePath: `archive/file-${i}.dat`,
          bytes: 4096 + (i % 100_000),
          durationMs: 5 + (i % 200),
          outcome: i % 97 === 0 ? 'failed' : 'done',
          error:
            i % 97 === 0 ? { kind: 'retryable', code: 'ECONNRESET', message: 'connection reset', context: {} } : null,
          tags: [],
        });
    });
  } finally {
    store.close();
  }
}

/**
 * In the page: scrolls the list's scroll box to the end and resolves when its last row shows real
 * content (not the loading placeholder); then scrolls back up in steps, one per frame, recording frame
 * gaps. Returns milliseconds.
 */
async function measureList(page: Page, testId: string, total: number): Promise<Omit<ListFigures, 'firstRowsMs'>> {
  return page.evaluate(
    async ({ testId, total }) => {
      const box = document.querySelector(`[data-testid="${testId}"] [data-testid="vtable-scroll"]`) as HTMLElement;
      // (No named local functions: tsx would wrap them in a helper the page does not have.)
      const t0 = performance.now();
      box.scrollTop = box.scrollHeight;
      for (;;) {
        await new Promise<number>((r) => requestAnimationFrame(r));
        const last = box.querySelector(`[aria-rowindex="${total + 1}"]`);
        if (last && !last.classList.contains('vtable__row--loading')) break;
        if (performance.now() - t0 > 30_000) throw new Error('the last row never showed');
      }
      const scrollToEndMs = performance.now() - t0;
      // 120 frames of fast scrolling upwards (2,000 px a frame, about 50 rows).
      const gaps: number[] = [];
      let prev = await new Promise<number>((r) => requestAnimationFrame(r));
      for (let i = 0; i < 120; i++) {
        box.scrollTop = Math.max(0, box.scrollTop - 2000);
        const t = await new Promise<number>((r) => requestAnimationFrame(r));
        gaps.push(t - prev);
        prev = t;
      }
      gaps.sort((a, b) => a - b);
      return {
        scrollToEndMs,
        frameP95Ms: gaps[Math.floor(gaps.length * 0.95)] ?? 0,
        frameMaxMs: gaps[gaps.length - 1] ?? 0,
      };
    },
    { testId, total },
  );
}

/** Navigates to a list and times the first real rows, from the start of the navigation. */
async function openList(page: Page, url: string, testId: string, firstRow: string): Promise<number> {
  await page.goto('about:blank');
  const t0 = Date.now();
  await page.goto(url);
  await page
    .locator(`[data-testid="${testId}"] [aria-rowindex="2"]`)
    .filter({ hasText: firstRow })
    .waitFor({ timeout: 30_000 });
  return Date.now() - t0;
}

export async function windowBench(opts: BenchOptions): Promise<WindowFigures> {
  const pending = Math.round(50_000 * opts.scale);
  const history = Math.round(100_000 * opts.scale);
  const dir = opts.dir;
  const [src, dest, state] = ['src', 'dest', 'state'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [src, dest, state]) mkdirSync(d, { recursive: true });
  // The folder is paused: the seeded queue stays queued while the window is measured.
  const config = join(dir, 'ferry.yml');
  writeFileSync(
    config,
    [
      'folders:',
      `  - { id: work, path: ${JSON.stringify(src)}, paused: true }`,
      'destinations:',
      `  - { id: nas, type: local, path: ${JSON.stringify(dest)} }`,
      'rules:',
      '  - { name: all, from: [work], to: [nas] }',
      '',
    ].join('\n'),
  );
  opts.log(`  seeding ${pending.toLocaleString()} pending transfers and ${history.toLocaleString()} history rows`);
  seed(state, pending, history);
  const daemon = await startDaemon(config, state, join(dir, 'ferry.log'));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(daemon.windowUrl); // keeps the token for this tab
    const runs: { queue: ListFigures; historyList: ListFigures }[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const qFirst = await openList(page, `${daemon.url}/#/queue/pending`, 'queue-pending', 'IMG_000000.jpg');
      const q = await measureList(page, 'queue-pending', pending);
      const hFirst = await openList(page, `${daemon.url}/#/history`, 'history-table', `file-${history - 1}.dat`);
      const h = await measureList(page, 'history-table', history);
      runs.push({ queue: { firstRowsMs: qFirst, ...q }, historyList: { firstRowsMs: hFirst, ...h } });
      opts.log(
        `  run ${i + 1}: queue first rows ${qFirst} ms, to the end ${q.scrollToEndMs.toFixed(0)} ms, frames p95 ${q.frameP95Ms.toFixed(1)} ms; ` +
          `history first rows ${hFirst} ms, to the end ${h.scrollToEndMs.toFixed(0)} ms, frames p95 ${h.frameP95Ms.toFixed(1)} ms`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const agg = (pick: (r: (typeof runs)[number]) => ListFigures): ListFigures => ({
      firstRowsMs: median(runs.map((r) => pick(r).firstRowsMs)),
      scrollToEndMs: median(runs.map((r) => pick(r).scrollToEndMs)),
      frameP95Ms: median(runs.map((r) => pick(r).frameP95Ms)),
      frameMaxMs: Math.max(...runs.map((r) => pick(r).frameMaxMs)),
    });
    return { pending, history, queue: agg((r) => r.queue), historyList: agg((r) => r.historyList) };
  } finally {
    await browser.close();
    await daemon.stop();
  }
}

runStandalone('windowBench', windowBench);
