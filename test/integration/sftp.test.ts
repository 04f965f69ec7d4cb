import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startRcloneSftp, startSshd, type SftpServer } from '../servers/sshd';
import { everyBytes, startTcpFaultProxy, type TcpFaultProxy } from '../servers/tcpFaultProxy';

/**
 * The SFTP destination through the real CLI, against OpenSSH's sshd (and rclone serve sftp for
 * password logins), with a TCP proxy in between that counts the bytes Ferry sends and injects faults.
 * What arrived is read from the server's data folder on disk, not through Ferry.
 */

type DestOpts = {
  server: SftpServer;
  via?: TcpFaultProxy;
  path: string;
  user?: string;
  hostKey?: string | null;
  password?: string;
  extra?: string[];
};

function sftpDestination(o: DestOpts): string {
  const lines = [
    '  - id: box',
    '    type: sftp',
    `    host: 127.0.0.1`,
    `    port: ${o.via?.port ?? o.server.port}`,
    `    user: ${o.user ?? o.server.user}`,
    `    path: ${JSON.stringify(o.path)}`,
  ];
  if (o.hostKey !== null) lines.push(`    host_key: ${o.hostKey ?? o.server.hostKey}`);
  if (o.password !== undefined) lines.push(`    password: ${o.password}`);
  else if (o.server.clientKeyFile) lines.push(`    private_key: file:${o.server.clientKeyFile}`);
  else lines.push(`    password: file:${o.server.passwordFile}`);
  return [...lines, ...(o.extra ?? []).map((l) => `    ${l}`)].join('\n');
}

function sftpWorkspace(o: DestOpts & { settings?: string }): Workspace {
  mkdirSync(o.path, { recursive: true });
  return workspace({
    rules: [{ mode: 'mirror', to: ['box'] }],
    extraDestinations: sftpDestination(o),
    ...(o.settings ? { settings: o.settings } : {}),
  });
}

/** Files and Ferry temporaries below a folder on disk. */
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

let sshd: SftpServer;
let proxy: TcpFaultProxy;
beforeAll(async () => {
  sshd = await startSshd();
  proxy = await startTcpFaultProxy({ host: sshd.host, port: sshd.port });
});
afterAll(async () => {
  await proxy?.close();
  await sshd?.stop();
});

describe('sftp through the CLI: a generated tree reaches an OpenSSH server', () => {
  let ws: Workspace;
  let paths: string[];
  let remote: string;
  beforeAll(() => {
    remote = join(sshd.dataDir, 'tree');
    ws = sftpWorkspace({ server: sshd, via: proxy, path: remote });
    paths = makeTree(ws.src, { files: 2100, seed: 11 });
    // One file big enough that re-sending it could not hide in the SSH chatter.
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
    const before = proxy.stats.bytesUp;
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
    // Only the listing's requests went up: far less than the tree's bytes.
    expect(proxy.stats.bytesUp - before).toBeLessThan(1024 * 1024);
  });

  it('a local rename becomes a rename on the server: no file bytes are sent again', async () => {
    mkdirSync(join(ws.src, 'moved here'), { recursive: true });
    renameSync(join(ws.src, 'docs', 'to-rename.bin'), join(ws.src, 'moved here', 'renamed.bin'));
    const before = proxy.stats.bytesUp;
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(1);
    expect(snapshot(remote)).toEqual(snapshot(ws.src));
    expect(proxy.stats.bytesUp - before).toBeLessThan(512 * 1024);
  });
});

describe('sftp through the CLI: a killed large upload resumes', () => {
  let ws: Workspace;
  let remote: string;
  beforeAll(() => {
    remote = join(sshd.dataDir, 'resume');
    // A bandwidth cap stretches the upload so that the kill lands in its middle.
    ws = sftpWorkspace({ server: sshd, via: proxy, path: remote, settings: '  bandwidth: 24000000' });
    writeFileSync(join(ws.src, 'big.bin'), randomBytes(64 * 1024 * 1024));
    writeFileSync(join(ws.src, 'small.txt'), 'small');
  });
  afterAll(() => ws.cleanup());

  it('is killed half way, then the next run sends only the rest, and the copy is byte-identical', async () => {
    const start = proxy.stats.bytesUp;
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
    const firstRun = proxy.stats.bytesUp - start;
    expect(census(remote).temps).toBe(1);

    const before = proxy.stats.bytesUp;
    const r = await syncJson(ws.config, ws.state);
    const secondRun = proxy.stats.bytesUp - before;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The leftover was resumed, not swept: nothing to clean, and less than the whole file went up.
    expect(r.summary?.cleanedPartials).toBe(0);
    expect(secondRun).toBeLessThan(64 * 1024 * 1024 - 20 * 1024 * 1024);
    expect(firstRun + secondRun).toBeLessThan(64 * 1024 * 1024 * 1.1);
    expect(snapshot(remote)).toEqual(snapshot(ws.src));
    expect(census(remote).temps).toBe(0);
  });
});

describe('sftp through the CLI: problems get a clear message from `ferry check` and from sync', () => {
  let rclone: SftpServer;
  const spaces: Workspace[] = [];
  beforeAll(async () => {
    rclone = await startRcloneSftp();
  });
  afterAll(async () => {
    for (const w of spaces) w.cleanup();
    await rclone?.stop();
  });

  async function both(o: DestOpts): Promise<{ check: string; sync: string; checkCode: number | null }> {
    const ws = sftpWorkspace(o);
    spaces.push(ws);
    writeFileSync(join(ws.src, 'a.txt'), 'a');
    const check = await runFerry(['check', '--config', ws.config, 'box']);
    const sync = await syncJson(ws.config, ws.state);
    expect(sync.code).not.toBe(0);
    expect(sync.summary?.stats.done).toBe(0);
    // A destination that cannot be reached is reported as such; one that may not be written, by its
    // files' failures (a routine pass writes no probe).
    const e = sync.summary?.destinationErrors[0]?.error ?? sync.summary?.failures[0]?.error;
    return {
      check: check.stdout + check.stderr,
      sync: `${e?.message ?? ''} — ${e?.hint ?? ''}`,
      checkCode: check.code,
    };
  }

  it('a wrong password', async () => {
    const secret = join(rclone.dir, 'wrong-password');
    writeFileSync(secret, 'not-it');
    const r = await both({ server: rclone, path: '/', password: `file:${secret}` });
    expect(r.checkCode).not.toBe(0);
    expect(r.check).toMatch(/✗ box: auth failed: .*refused the login of user "ferry"/);
    expect(r.check).toMatch(/check the user name and the password/);
    expect(r.sync).toMatch(/refused the login of user "ferry"/);
  });

  it('a folder that does not exist on the server', async () => {
    const missing = join(sshd.dataDir, 'never-made');
    const ws = workspace({
      rules: [{ mode: 'mirror', to: ['box'] }],
      extraDestinations: sftpDestination({ server: sshd, path: missing }),
    });
    spaces.push(ws);
    writeFileSync(join(ws.src, 'a.txt'), 'a');
    const check = await runFerry(['check', '--config', ws.config, 'box']);
    expect(check.stdout).toMatch(/✗ box: container failed: .*never-made does not exist on the server/);
    expect(check.stdout).toMatch(/create .*never-made on the server/);
    const sync = await syncJson(ws.config, ws.state);
    expect(sync.code).not.toBe(0);
    expect(sync.summary?.destinationErrors[0]?.error.message).toMatch(/never-made does not exist/);
  });

  it('a folder this login may not write in', async () => {
    // Tests run as root, for whom permissions do not bite: log in as `nobody` to a root-owned folder.
    const r = await both({ server: sshd, path: join(sshd.dataDir, 'read-only'), user: 'nobody' });
    expect(r.check).toMatch(/✗ box: write failed: .*this login may not write in/);
    expect(r.check).toMatch(/give the user "nobody" write permission/);
    expect(r.sync).toMatch(/may not write there: give the SFTP user write permission/);
  });

  it('an unknown host key: refused, with its fingerprint and the line to add', async () => {
    const r = await both({ server: sshd, path: join(sshd.dataDir, 'unknown-key'), hostKey: null });
    expect(r.check).toMatch(/✗ box: connect failed: .*presented host key SHA256:/);
    expect(r.check).toContain(`host_key: ${sshd.hostKey}`);
    expect(r.sync).toContain(`host_key: ${sshd.hostKey}`);
  });

  it('a host key that changed: refused as a possible man-in-the-middle, naming both keys', async () => {
    const r = await both({ server: sshd, path: join(sshd.dataDir, 'changed-key'), hostKey: rclone.hostKey });
    expect(r.check).toContain(sshd.hostKey);
    expect(r.check).toContain(rclone.hostKey);
    expect(r.check).toMatch(/man-in-the-middle/);
    expect(r.sync).toMatch(/man-in-the-middle/);
  });
});

describe('sftp through the CLI: connection resets and stalls during a 1,000-file sync', () => {
  let ws: Workspace;
  let faulty: TcpFaultProxy;
  let remote: string;
  let paths: string[];
  beforeAll(async () => {
    faulty = await startTcpFaultProxy({ host: sshd.host, port: sshd.port }, { stallMs: 60_000 });
    remote = join(sshd.dataDir, 'faults');
    // A short timeout: a stalled connection is given up after about 3 s (keepalives unanswered).
    ws = sftpWorkspace({ server: sshd, via: faulty, path: remote, extra: ['timeout: 3'] });
    paths = makeTree(ws.src, { files: 1000, seed: 23 });
  });
  afterAll(async () => {
    ws.cleanup();
    await faulty.close();
  });

  it('every file arrives once, byte-identical, with no temporary left behind', async () => {
    let n = 0;
    // After every ~1.5 MB sent: a reset, a reset, a stall, … (six faults in all).
    faulty.setFaults(everyBytes(1_500_000, () => (++n % 3 === 0 ? 'stall' : 'reset'), 6));
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(faulty.stats.resets).toBeGreaterThanOrEqual(3);
    expect(faulty.stats.stalls).toBeGreaterThanOrEqual(1);
    expect(r.summary?.stats.failed).toBe(0);
    expect(r.summary?.stats.done).toBe(paths.length);
    expect(snapshot(remote)).toEqual(snapshot(ws.src));
    expect(census(remote).temps).toBe(0);
    faulty.setFaults(undefined);
    const again = await syncJson(ws.config, ws.state);
    expect(again.summary?.stats.done).toBe(0);
    expect(again.summary?.inSync).toBe(paths.length);
  });
});
