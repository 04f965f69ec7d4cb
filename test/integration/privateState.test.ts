import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RUN_AS_NOBODY, runFerry } from '../helpers/cli';
import { answers, startDaemon, stopDaemon, type Daemon } from '../helpers/daemon';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
let daemon: Daemon | undefined;

afterEach(async () => {
  await stopDaemon(daemon);
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('the state directory is private', () => {
  it('is 0700 with its database, daemon.json and log 0600, also when they existed with looser modes', async () => {
    const w = (ws = workspace());
    mkdirSync(w.state, { mode: 0o755 });
    chmodSync(w.state, 0o755);
    const log = join(w.root, 'ferry.log');
    for (const f of [join(w.state, 'state.db'), join(w.state, 'daemon.json'), log]) {
      writeFileSync(f, '');
      chmodSync(f, 0o644);
    }
    const d = (daemon = await startDaemon(w));
    expect(await answers(d)).toBe(true);
    expect(mode(w.state)).toBe('700');
    for (const f of ['state.db', 'state.db-wal', 'daemon.json', 'ferry.lock', 'instance-id'])
      expect(mode(join(w.state, f)), f).toBe('600');
    expect(mode(log)).toBe('600');
  });

  it.skipIf(!RUN_AS_NOBODY)('a read-only state.db is named with what to do (exit 3), not a stack trace', async () => {
    const w = (ws = workspace());
    writeFileSync(join(w.src, 'a.txt'), 'a');
    const first = await runFerry(['sync', '--once', '--config', w.config, '--state-dir', w.state], { asNobody: true });
    expect(first.code, first.stderr).toBe(0);
    // A database that opens but cannot be written: the next pass failed mid-scan with a stack trace.
    writeFileSync(join(w.src, 'b.txt'), 'b');
    const db = join(w.state, 'state.db');
    chmodSync(db, 0o444);
    const r = await runFerry(['sync', '--once', '--config', w.config, '--state-dir', w.state], { asNobody: true });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`cannot write ${db}`);
    expect(r.stderr).toMatch(/chmod u\+w/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
