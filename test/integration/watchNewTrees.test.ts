import type { ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusResult } from '../../src/shared/contract';
import { runFerry, spawnFerry } from '../helpers/cli';
import { snapshot, writeConfig } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

/**
 * Directories that appear in a watched folder — made with `mkdir -p`, moved in from elsewhere, renamed —
 * are watched at every depth by every watcher backend: what is written into them later ships at once,
 * not at the hourly rescan (which these tests leave at its default, far beyond their time limits).
 */
let ws: Workspace | undefined;
let daemon: ChildProcess | undefined;

afterEach(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon?.once('close', r));
  }
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

// Node's own watcher is the fallback where the native module cannot load: made so here by refusing it,
// to import() (an ESM resolve hook) and to require() alike.
const NO_NATIVE_MODULE = `
import Module, { register } from 'node:module';
const refuse = () => Object.assign(new Error("Cannot find module '@parcel/watcher'"), { code: 'MODULE_NOT_FOUND' });
register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, next) { if (s === '@parcel/watcher') throw Object.assign(new Error('no native watcher here'), { code: 'ERR_MODULE_NOT_FOUND' }); return next(s, c); }",
));
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@parcel/watcher') throw refuse();
  return resolve.call(this, request, ...rest);
};
`;

async function until(what: string, check: () => boolean | Promise<boolean>, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The destination holds exactly the source, soon: only a watcher event can have made it so. */
async function shipped(w: Workspace, what: string): Promise<void> {
  const same = () => {
    const src = snapshot(w.src);
    const dest = snapshot(w.dest);
    return src.size === dest.size && [...src].every(([p, h]) => dest.get(p) === h);
  };
  try {
    await until(what, same, 30_000);
  } catch {
    expect(snapshot(w.dest), `not shipped: ${what}`).toEqual(snapshot(w.src));
  }
}

const BACKENDS = [
  { name: 'native (@parcel/watcher)', watch: 'native', backend: 'native' },
  { name: 'poll (chokidar)', watch: 'poll', backend: 'poll' },
  { name: "Node's fs.watch (chokidar), the fallback", watch: 'auto', backend: 'fs-events', noNative: true },
] as const;

describe.each(BACKENDS)('the $name watcher', ({ watch, backend, ...b }) => {
  it('watches trees made with mkdir -p, moved in, and renamed, at every depth', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    writeConfig(w.config, `${snapshotConfig(w)}`.replace('    path: ', `    watch: ${watch}\n    path: `));
    const env: NodeJS.ProcessEnv = {};
    if ('noNative' in b) {
      const preload = join(w.root, 'no-native-watcher.mjs');
      writeFileSync(preload, NO_NATIVE_MODULE);
      env.NODE_OPTIONS = `--import=${pathToFileURL(preload).href}`;
    }
    writeFileSync(join(w.src, 'first.txt'), 'there at start');
    daemon = spawnFerry(['daemon', '--config', w.config, '--state-dir', w.state, '--port', '0', '--no-webapp'], {
      env,
    });
    daemon.stdout?.on('data', () => undefined);
    daemon.stderr?.on('data', () => undefined);
    await shipped(w, 'the first sync');
    const st = await runFerry(['status', '--json', '--state-dir', w.state]);
    expect((JSON.parse(st.stdout) as StatusResult).folders[0]?.watcher).toBe(backend);

    // mkdir -p, a file at once, and another once the daemon has long seen the folders.
    mkdirSync(join(w.src, 'a/b/c'), { recursive: true });
    writeFileSync(join(w.src, 'a/b/c/at-once.txt'), 'at once');
    await shipped(w, 'a file written right after mkdir -p');
    writeFileSync(join(w.src, 'a/b/c/later.txt'), 'later');
    await shipped(w, 'a file written later in a/b/c');

    // A tree moved in from outside the folder, then edited and added to deep inside.
    const outside = join(w.root, 'Downloads');
    mkdirSync(join(outside, 'x/y/z'), { recursive: true });
    writeFileSync(join(outside, 'x/y/z/report.txt'), 'first draft');
    renameSync(join(outside, 'x'), join(w.src, 'x'));
    await shipped(w, 'the tree moved in');
    writeFileSync(join(w.src, 'x/y/z/report.txt'), 'second draft, longer');
    writeFileSync(join(w.src, 'x/y/z/new.txt'), 'new in the moved tree');
    await shipped(w, 'an edit and a new file deep in the moved-in tree');

    // A directory renamed, then written into below its new name.
    renameSync(join(w.src, 'a'), join(w.src, 'renamed'));
    await shipped(w, 'the rename');
    writeFileSync(join(w.src, 'renamed/b/c/after.txt'), 'after the rename');
    mkdirSync(join(w.src, 'renamed/b/c/d/e'), { recursive: true });
    writeFileSync(join(w.src, 'renamed/b/c/d/e/deeper.txt'), 'deeper');
    await shipped(w, 'files written below the renamed directory');
  });
});

/** The workspace's config text, to add a folder's `watch` mode to. */
function snapshotConfig(w: Workspace): string {
  return [
    'folders:',
    `  - id: work`,
    `    path: ${JSON.stringify(w.src)}`,
    'destinations:',
    `  - id: nas`,
    `    type: local`,
    `    path: ${JSON.stringify(w.dest)}`,
    'rules:',
    `  - name: mirror`,
    `    from: [work]`,
    `    to: [nas]`,
    `    mode: mirror`,
    '',
  ].join('\n');
}
