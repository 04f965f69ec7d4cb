import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openToAll, runFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => {
  if (ws) chmodSync(ws.dest, 0o777);
  ws?.cleanup();
  ws = undefined;
});

describe('bad input gets a clear message, a non-zero exit, and the rest of the work goes on', () => {
  it('an invalid config names the file, the line, the field and what is wrong (exit 2)', async () => {
    ws = workspace();
    const cfg = join(ws.root, 'broken.yml');
    writeFileSync(
      cfg,
      [
        'folders:',
        '  - id: work',
        `    path: ${ws.src}`,
        'destinations:',
        '  - id: nas',
        '    type: local',
        `    path: ${ws.dest}`,
        'rules:',
        '  - name: r',
        '    from: [work]',
        '    to: [nass]',
        '',
      ].join('\n'),
    );
    const r = await runFerry(['sync', '--once', '--config', cfg, '--state-dir', ws.state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cfg}:11:`);
    expect(r.stderr).toContain('rules[0].to[0]');
    expect(r.stderr).toContain('unknown destination "nass"');
  });

  it('a config file that does not exist is named (exit 2)', async () => {
    ws = workspace();
    const r = await runFerry(['sync', '--once', '--config', join(ws.root, 'nope.yml'), '--state-dir', ws.state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.yml.*does not exist/);
  });

  it('an empty config says nothing is configured (exit 2), for sync, plan and check', async () => {
    ws = workspace();
    for (const text of ['', 'folders: []\ndestinations: []\nrules: []\n']) {
      const cfg = join(ws.root, 'empty.yml');
      writeFileSync(cfg, text);
      for (const args of [['sync', '--once', '--state-dir', ws.state], ['plan', '--state-dir', ws.state], ['check']]) {
        const r = await runFerry([...args, '--config', cfg]);
        expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${cfg}: nothing configured (0 folders, 0 destinations, 0 rules)`);
      }
    }
  });

  it('a missing folder is named; the other folder is still shipped', async () => {
    ws = workspace();
    const missing = join(ws.root, 'not-there');
    const cfg = join(ws.root, 'two-folders.yml');
    writeFileSync(
      cfg,
      [
        'folders:',
        '  - id: work',
        `    path: ${ws.src}`,
        '  - id: gone',
        `    path: ${missing}`,
        'destinations:',
        '  - id: nas',
        '    type: local',
        `    path: ${ws.dest}`,
        'rules:',
        '  - name: both',
        '    from: [work, gone]',
        '    to: [nas]',
        '    mode: mirror',
        '',
      ].join('\n'),
    );
    makeTree(ws.src, { files: 50, seed: 2 });
    const r = await syncJson(cfg, ws.state);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('not-there');
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
  });

  it('an unreadable file is named; every other file is shipped', async () => {
    ws = workspace();
    makeTree(ws.src, { files: 60, seed: 3 });
    const secret = join(ws.src, 'locked.txt');
    writeFileSync(secret, 'no access');
    chmodSync(secret, 0o000);
    const r = await runFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], { asNobody: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/locked\.txt: cannot read/);
    const src = snapshot(ws.src);
    src.delete('locked.txt');
    expect(snapshot(ws.dest)).toEqual(src);
    chmodSync(secret, 0o644);
  });

  it('a destination that is not writable is named with what to do; the other destination gets everything', async () => {
    ws = workspace({
      rules: [{ mode: 'mirror', to: ['nas', 'spare'] }],
      extraDestinations: '  - id: spare\n    type: local\n    path: ./spare',
    });
    const spare = join(ws.root, 'spare');
    mkdirSync(spare);
    openToAll(spare);
    makeTree(ws.src, { files: 40, seed: 4 });
    chmodSync(ws.dest, 0o555);
    const r = await syncJson(ws.config, ws.state, { asNobody: true });
    expect(r.code).toBe(1);
    // A routine pass writes no probe: the destination's files fail at their first write, each saying why.
    const failed = (r.summary?.failures ?? []).filter((f) => f.destination === 'nas');
    expect(failed.length).toBeGreaterThan(0);
    expect((r.summary?.failures ?? []).every((f) => f.destination === 'nas')).toBe(true);
    for (const f of failed)
      expect(`${f.error.message} — ${f.error.hint ?? ''}`).toMatch(/not allowed to write .*write access/);
    expect(snapshot(spare)).toEqual(snapshot(ws.src));
  });

  it('a destination folder that does not exist is named, and nothing is created in its place', async () => {
    ws = workspace();
    const cfg = join(ws.root, 'nodest.yml');
    writeFileSync(
      cfg,
      readFileSync(ws.config, 'utf8').replace(JSON.stringify(ws.dest), JSON.stringify(join(ws.root, 'unmounted/nas'))),
    );
    writeFileSync(join(ws.src, 'a.txt'), 'a');
    const r = await runFerry(['sync', '--once', '--config', cfg, '--state-dir', ws.state]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/unmounted\/nas does not exist — mount the drive it lives on/);
    expect(existsSync(join(ws.root, 'unmounted'))).toBe(false);
  });
});
