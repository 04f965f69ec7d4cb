import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/daemon';
import { workspace, type Workspace } from '../helpers/workspace';

/**
 * The daemon's live path plans a watcher's changes on their own; a name that changes kind under a
 * backup rule needs the kept copy moved aside, which only the full plan weighs (keptAside.ts): the
 * live path hands it over, and the change is carried over without a rescan or a restart.
 */
let ws: Workspace | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await stopDaemon(daemon);
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

async function until(what: string, check: () => boolean, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('a running daemon keeps the backed-up file aside when a folder takes its name, and sends the folder', async () => {
  const w = (ws = workspace({ rules: [{ mode: 'backup' }] }));
  writeFileSync(join(w.src, 'notes.txt'), 'the old notes');
  daemon = await startDaemon(w);
  await until('the file to be backed up', () => existsSync(join(w.dest, 'notes.txt')));
  unlinkSync(join(w.src, 'notes.txt'));
  mkdirSync(join(w.src, 'notes.txt'));
  writeFileSync(join(w.src, 'notes.txt', 'todo.md'), 'now a folder');
  const inFolder = join(w.dest, 'notes.txt', 'todo.md');
  await until('the folder to arrive', () => existsSync(inFolder) && readFileSync(inFolder, 'utf8') === 'now a folder');
  const kept = readdirSync(w.dest).filter((n) => n.startsWith('notes (replaced by a folder '));
  expect(kept).toHaveLength(1);
  expect(readFileSync(join(w.dest, kept[0] as string), 'utf8')).toBe('the old notes');
});
