import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/engine/events';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { Dispatcher } from '../../src/main/engine/rules/dispatch';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import { Store } from '../../src/main/engine/store/store';
import { executeJob } from '../../src/main/engine/transfer/executor';
import { runFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

function seed(w: Workspace): void {
  makeTree(w.src, { files: 200, seed: 11 });
  mkdirSync(join(w.src, 'edits'), { recursive: true });
  writeFileSync(join(w.src, 'edits/edit-me.txt'), 'first version\n');
  writeFileSync(join(w.src, 'edits/rename-me.bin'), Buffer.alloc(300_000, 7));
  writeFileSync(join(w.src, 'edits/delete-me.txt'), 'doomed\n');
}

async function editRenameDelete(w: Workspace) {
  writeFileSync(join(w.src, 'edits/edit-me.txt'), 'second, longer version\n');
  mkdirSync(join(w.src, 'moved'), { recursive: true });
  renameSync(join(w.src, 'edits/rename-me.bin'), join(w.src, 'moved/renamed.bin'));
  unlinkSync(join(w.src, 'edits/delete-me.txt'));
}

describe('changes after a first sync', () => {
  it('mirror: re-ships the edit, renames on the destination without re-uploading, applies the deletion', async () => {
    ws = workspace({ rules: [{ mode: 'mirror' }] });
    seed(ws);
    expect((await syncJson(ws.config, ws.state)).code).toBe(0);
    const before = statSync(join(ws.dest, 'edits/rename-me.bin'));

    await editRenameDelete(ws);
    const plan = await runFerry(['plan', '--config', ws.config, '--state-dir', ws.state, '--json']);
    const actions = (JSON.parse(plan.stdout) as { actions: { kind: string; path: string; fromRemotePath?: string }[] })
      .actions;
    expect(actions.map((a) => `${a.kind} ${a.path}`).sort()).toEqual([
      'delete-remote edits/delete-me.txt',
      'move-remote moved/renamed.bin',
      'upload edits/edit-me.txt',
    ]);

    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Only the edit's bytes crossed: the rename moved the very same file (same inode) on the destination.
    expect(r.summary?.stats.bytes).toBe(Buffer.byteLength('second, longer version\n'));
    const after = statSync(join(ws.dest, 'moved/renamed.bin'));
    expect(after.ino).toBe(before.ino);
    expect(existsSync(join(ws.dest, 'edits/rename-me.bin'))).toBe(false);
    expect(existsSync(join(ws.dest, 'edits/delete-me.txt'))).toBe(false);
    expect(readFileSync(join(ws.dest, 'edits/edit-me.txt'), 'utf8')).toBe('second, longer version\n');
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));

    const history = await runFerry(['plan', '--config', ws.config, '--state-dir', ws.state, '--json']);
    expect((JSON.parse(history.stdout) as { actions: unknown[] }).actions).toEqual([]);
  });

  it('backup: never deletes at the destination; a rename is copied on the destination, not uploaded', async () => {
    ws = workspace({ rules: [{ mode: 'backup' }] });
    seed(ws);
    expect((await syncJson(ws.config, ws.state)).code).toBe(0);
    await editRenameDelete(ws);
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.bytes).toBe(Buffer.byteLength('second, longer version\n'));
    expect(readFileSync(join(ws.dest, 'edits/delete-me.txt'), 'utf8')).toBe('doomed\n');
    expect(existsSync(join(ws.dest, 'edits/rename-me.bin'))).toBe(true);
    expect(readFileSync(join(ws.dest, 'moved/renamed.bin')).equals(Buffer.alloc(300_000, 7))).toBe(true);
  });

  it('move: removes each source only after its upload is verified, and keeps it when the destination refuses', async () => {
    ws = workspace({
      rules: [
        { name: 'to nas', mode: 'move', match: ['inbox/**'] },
        { name: 'stuck', mode: 'move', match: ['stuck/**'], to: ['broken'] },
      ],
      extraDestinations: `  - id: broken\n    type: local\n    path: ${JSON.stringify('/proc/ferry-cannot-write-here')}`,
    });
    mkdirSync(join(ws.src, 'inbox/sub'), { recursive: true });
    mkdirSync(join(ws.src, 'stuck'), { recursive: true });
    writeFileSync(join(ws.src, 'inbox/a.txt'), 'A');
    writeFileSync(join(ws.src, 'inbox/sub/b.bin'), Buffer.alloc(5_000_000, 1));
    writeFileSync(join(ws.src, 'stuck/keep.txt'), 'stays');
    const r = await syncJson(ws.config, ws.state);
    expect(r.code).toBe(1);
    expect(existsSync(join(ws.src, 'inbox/a.txt'))).toBe(false);
    expect(existsSync(join(ws.src, 'inbox/sub/b.bin'))).toBe(false);
    expect(readFileSync(join(ws.dest, 'inbox/a.txt'), 'utf8')).toBe('A');
    expect(statSync(join(ws.dest, 'inbox/sub/b.bin')).size).toBe(5_000_000);
    expect(readFileSync(join(ws.src, 'stuck/keep.txt'), 'utf8')).toBe('stays');
    expect(r.summary?.destinationErrors.map((d) => d.destination)).toEqual(['broken']);
  });

  it('move: a source edited after its upload is not removed', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'move' }] }));
    const abs = join(w.src, 'report.txt');
    writeFileSync(abs, 'v1');
    const store = Store.open(w.state);
    const pool = new FileWorkers(1);
    try {
      const scan = await scanFolder(
        { id: 'work', path: w.src, ignore: [], paused: false, watch: 'auto' as const },
        [],
        {
          index: store.index,
          workers: pool,
          events: new EventBus(),
        },
      );
      const file = scan.files.get('report.txt');
      expect(file).toBeDefined();
      const dest = new LocalDestination({ id: 'nas', path: w.dest }, pool);
      const dispatcher = new Dispatcher([
        compileRule({
          name: 'r',
          from: ['work'],
          to: ['nas'],
          match: ['**'],
          exclude: [],
          stop: false,
          path: '{path}',
          mode: 'move',
          tags: [],
          hooks: [],
          remote_exclude: [],
        }),
      ]);
      const deps = {
        store,
        destinations: new Map([['nas', dest]]),
        folders: new Map([['work', { id: 'work', path: w.src, ignore: [], paused: false, watch: 'auto' as const }]]),
        dispatcher,
        workers: pool,
        stagingDir: store.stagingDir,
        rehash: async () => undefined,
      };
      const job = (kind: 'upload' | 'delete-local') => ({
        id: 1,
        key: kind,
        kind,
        phase: 0,
        state: 'pending' as const,
        rule: 'r',
        destination: 'nas',
        folder: 'work',
        path: 'report.txt',
        remotePath: 'report.txt',
        size: 2,
        reason: 'test',
        attempts: 0,
        notBefore: 0,
        lastError: null,
        createdAt: 0,
      });
      const opts = { signal: new AbortController().signal };
      expect((await executeJob(job('upload'), opts, deps)).outcome).toBe('done');
      // Edited between the verified upload and the removal: the newer content must stay.
      writeFileSync(abs, 'v2, edited after the upload');
      const res = await executeJob(job('delete-local'), opts, deps);
      expect(res.outcome).toBe('skipped');
      expect(readFileSync(abs, 'utf8')).toBe('v2, edited after the upload');
    } finally {
      await pool.close();
      store.close();
    }
  });
});
