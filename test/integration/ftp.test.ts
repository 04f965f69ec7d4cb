import { randomBytes } from 'node:crypto';
import { chownSync, lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { FTP_GID, FTP_UID, startPureFtpd, type PureFtpServer as FtpServer } from '../servers/pureFtpd';

/**
 * The FTP destination through the real CLI, against pure-ftpd with explicit TLS. What arrived is read
 * from the server's data folder on disk, and what was sent from the server's own transfer log.
 */

type DestOpts = { path: string; password?: string; caFile?: string | null; extra?: string[] };

let ftp: FtpServer;
beforeAll(async () => {
  ftp = await startPureFtpd();
});
afterAll(async () => {
  await ftp?.stop();
});

function ftpDestination(o: DestOpts): string {
  const lines = [
    '  - id: box',
    '    type: ftp',
    `    host: 127.0.0.1`,
    `    port: ${ftp.port}`,
    `    user: ${ftp.user}`,
    `    password: ${o.password ?? `file:${ftp.passwordFile}`}`,
    `    path: ${JSON.stringify(o.path)}`,
    '    tls: explicit',
  ];
  if (o.caFile !== null) lines.push(`    ca_file: ${JSON.stringify(o.caFile ?? ftp.certFile)}`);
  return [...lines, ...(o.extra ?? []).map((l) => `    ${l}`)].join('\n');
}

/** A workspace whose one rule mirrors into folder `name` of the FTP root (made, and owned by the FTP user). */
function ftpWorkspace(name: string, o: Partial<DestOpts> & { settings?: string; owned?: boolean } = {}): Workspace {
  const dir = join(ftp.dataDir, name);
  if (o.owned !== false) {
    mkdirSync(dir, { recursive: true });
    chownSync(dir, FTP_UID, FTP_GID);
  }
  return workspace({
    rules: [{ mode: 'mirror', to: ['box'] }],
    extraDestinations: ftpDestination({ path: `/${name}`, ...o }),
    ...(o.settings ? { settings: o.settings } : {}),
  });
}

function census(root: string): { files: number; temps: number; bigTempBytes: number } {
  let files = 0;
  let temps = 0;
  let bigTempBytes = 0;
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      let st;
      try {
        st = lstatSync(join(dir, n));
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(join(dir, n));
      else if (n.startsWith('.ferrytmp-')) {
        temps++;
        bigTempBytes = Math.max(bigTempBytes, st.size);
      } else files++;
    }
  };
  walk(root);
  return { files, temps, bigTempBytes };
}

describe('ftp through the CLI: a generated tree reaches pure-ftpd over explicit TLS', () => {
  let ws: Workspace;
  let paths: string[];
  let remote: string;
  beforeAll(() => {
    ws = ftpWorkspace('tree');
    remote = join(ftp.dataDir, 'tree');
    paths = makeTree(ws.src, { files: 800, seed: 13 });
    writeFileSync(join(ws.src, 'docs', 'to-rename.bin'), randomBytes(3 * 1024 * 1024));
    paths.push('docs/to-rename.bin');
  });
  afterAll(() => ws.cleanup());

  it('ships every file byte-identical: nested folders, empty files, spaces, NFC and NFD names', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(paths.length);
    const src = snapshot(ws.src);
    const there = snapshot(remote);
    expect(src.size).toBe(paths.length);
    expect(there).toEqual(src);
    expect([...there.keys()].some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...there.keys()].some((p) => p.includes('café'.normalize('NFC')))).toBe(true);
    expect(census(remote).temps).toBe(0);
  });

  it('ships nothing on a second run', async () => {
    const before = ftp.uploadedBytes();
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
    expect(ftp.uploadedBytes() - before).toBe(0);
  });

  it('a local rename becomes RNFR/RNTO on the server: the server receives no bytes', async () => {
    mkdirSync(join(ws.src, 'moved here'), { recursive: true });
    renameSync(join(ws.src, 'docs', 'to-rename.bin'), join(ws.src, 'moved here', 'renamed.bin'));
    const before = ftp.uploadedBytes();
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(1);
    expect(snapshot(remote)).toEqual(snapshot(ws.src));
    expect(ftp.uploadedBytes() - before).toBe(0);
  });
});

describe('ftp through the CLI: a killed large upload resumes (REST)', () => {
  let ws: Workspace;
  let remote: string;
  beforeAll(() => {
    ws = ftpWorkspace('resume', { settings: '  bandwidth: 24000000' });
    remote = join(ftp.dataDir, 'resume');
    writeFileSync(join(ws.src, 'big.bin'), randomBytes(64 * 1024 * 1024));
    writeFileSync(join(ws.src, 'small.txt'), 'small');
  });
  afterAll(() => ws.cleanup());

  it('is killed half way, then the next run sends only the rest, and the copy is byte-identical', async () => {
    const start = ftp.uploadedBytes();
    const child = spawnFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state]);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    const done = new Promise<void>((resolve) =>
      child.on('close', () => {
        exited = true;
        resolve();
      }),
    );
    while (!exited && census(remote).bigTempBytes < 28 * 1024 * 1024) await new Promise((r) => setTimeout(r, 20));
    expect(exited, output).toBe(false);
    child.kill('SIGKILL');
    await done;
    await new Promise((r) => setTimeout(r, 500)); // the server notices the cut and logs it
    expect(census(remote).temps).toBe(1);
    const firstRun = ftp.uploadedBytes() - start;

    const before = ftp.uploadedBytes();
    const r = await syncJson(ws.config, ws.state);
    const secondRun = ftp.uploadedBytes() - before;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.cleanedPartials).toBe(0);
    expect(secondRun).toBeLessThan(64 * 1024 * 1024 - 20 * 1024 * 1024);
    expect(firstRun + secondRun).toBeLessThan(64 * 1024 * 1024 * 1.1);
    expect(snapshot(remote)).toEqual(snapshot(ws.src));
    expect(census(remote).temps).toBe(0);
  });
});

describe('ftp through the CLI: problems get a clear message from `ferry check` and from sync', () => {
  const spaces: Workspace[] = [];
  afterAll(() => {
    for (const w of spaces) w.cleanup();
  });

  async function both(ws: Workspace): Promise<{ check: string; sync: string }> {
    spaces.push(ws);
    writeFileSync(join(ws.src, 'a.txt'), 'a');
    const check = await runFerry(['check', '--config', ws.config, 'box']);
    expect(check.code).not.toBe(0);
    const sync = await syncJson(ws.config, ws.state);
    expect(sync.code).not.toBe(0);
    expect(sync.summary?.stats.done).toBe(0);
    // A destination that cannot be reached is reported as such; one that may not be written, by its
    // files' failures (a routine pass writes no probe).
    const e = sync.summary?.destinationErrors[0]?.error ?? sync.summary?.failures[0]?.error;
    return { check: check.stdout + check.stderr, sync: `${e?.message ?? ''} — ${e?.hint ?? ''}` };
  }

  it('a wrong password', async () => {
    const secret = join(ftp.dir, 'wrong-password');
    writeFileSync(secret, 'not-it');
    const r = await both(ftpWorkspace('wrong-password', { password: `file:${secret}` }));
    expect(r.check).toMatch(/✗ box: auth failed: .*refused the login of user "ferry"/);
    expect(r.check).toMatch(/check the user name and the password/);
    expect(r.sync).toMatch(/refused the login of user "ferry"/);
  });

  it('a folder that does not exist on the server', async () => {
    const r = await both(ftpWorkspace('never-made', { owned: false }));
    expect(r.check).toMatch(/✗ box: container failed: .*the folder \/never-made does not exist on the server/);
    expect(r.check).toMatch(/create \/never-made on the server/);
    expect(r.sync).toMatch(/never-made does not exist/);
  });

  it('a folder this login may not write in', async () => {
    mkdirSync(join(ftp.dataDir, 'read-only'), { recursive: true }); // root's: the FTP user (nobody) cannot write
    const r = await both(ftpWorkspace('read-only', { owned: false }));
    expect(r.check).toMatch(/✗ box: write failed: .*this login may not write in \/read-only/);
    expect(r.check).toMatch(/give the user "ferry" write permission/);
    expect(r.sync).toMatch(/may not write there: give the FTP user write permission/);
  });

  it('a server certificate that is not trusted', async () => {
    const r = await both(ftpWorkspace('untrusted', { caFile: null }));
    expect(r.check).toMatch(/✗ box: connect failed: .*TLS certificate that is not trusted/);
    expect(r.check).toMatch(/ca_file/);
    expect(r.sync).toMatch(/not trusted/);
  });
});
