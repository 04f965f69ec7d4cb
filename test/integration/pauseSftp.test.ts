import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArrivalMeter } from '../helpers/capMeter';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/daemon';
import { snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startSshd, type SftpServer } from '../servers/sshd';
import { startTcpFaultProxy, type TcpFaultProxy } from '../servers/tcpFaultProxy';

/**
 * The cap and the pause over the network: the daemon ships to OpenSSH's sshd through a proxy that
 * counts the bytes sent; what arrived is read from the server's folder on disk.
 */
let sshd: SftpServer;
let proxy: TcpFaultProxy;
let ws: Workspace | undefined;
let daemon: Daemon | undefined;
let meter: ArrivalMeter | undefined;

beforeAll(async () => {
  sshd = await startSshd();
  proxy = await startTcpFaultProxy({ host: sshd.host, port: sshd.port });
});
afterAll(async () => {
  await proxy?.close();
  await sshd?.stop();
});
afterEach(async () => {
  meter?.stop();
  meter = undefined;
  await stopDaemon(daemon);
  daemon = undefined;
  ws?.cleanup();
  ws = undefined;
});

function sftpWorkspace(remote: string, settings: string): Workspace {
  mkdirSync(remote, { recursive: true });
  return workspace({
    rules: [{ mode: 'backup', to: ['box'] }],
    extraDestinations: [
      '  - id: box',
      '    type: sftp',
      '    host: 127.0.0.1',
      `    port: ${proxy.port}`,
      `    user: ${sshd.user}`,
      `    path: ${JSON.stringify(remote)}`,
      `    host_key: ${sshd.hostKey}`,
      `    private_key: file:${sshd.clientKeyFile as string}`,
    ].join('\n'),
    settings,
  });
}

async function api<T>(d: Daemon, name: string, body: unknown = {}): Promise<T> {
  const res = await fetch(`${d.url}/api/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as T;
}

async function until(what: string, check: () => boolean, limitMs = 120_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const finals = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('big'));

describe('over SFTP', () => {
  it('the bandwidth cap holds within 10 % over every 3 s window', async () => {
    const cap = 8_000_000;
    const remote = join(sshd.dataDir, 'cap');
    const w = (ws = sftpWorkspace(remote, `  bandwidth: ${cap}\n  transfers: 4`));
    for (let i = 0; i < 4; i++) writeFileSync(join(w.src, `big${i}.bin`), randomBytes(16 * 1024 * 1024));
    meter = new ArrivalMeter(remote);
    meter.start();
    daemon = await startDaemon(w);
    await until('every file to arrive', () => finals(remote).length === 4);
    meter.stop();
    const worst = meter.worstWindow(cap, 3000);
    console.log(`sftp: worst 3 s window ${worst.ratio.toFixed(3)} × the cap over ${worst.windows} windows`);
    expect(worst.windows).toBeGreaterThan(10);
    expect(worst.ratio).toBeLessThanOrEqual(1.1);
    expect(snapshot(remote)).toEqual(snapshot(w.src));
  });

  it('a paused upload keeps what the server holds and, resumed, sends only the rest', async () => {
    const size = 48 * 1024 * 1024;
    const remote = join(sshd.dataDir, 'pause');
    const w = (ws = sftpWorkspace(remote, '  bandwidth: 8000000'));
    writeFileSync(join(w.src, 'big.bin'), randomBytes(size));
    meter = new ArrivalMeter(remote);
    meter.start();
    daemon = await startDaemon(w);
    await until('half the file to be on the server', () => meter!.bytes >= size / 2);
    await api(daemon, 'sync:pause');
    const sentAtPause = proxy.stats.bytesUp;
    await new Promise((r) => setTimeout(r, 1000));
    // The temporary file stays on the server for the resume.
    expect(readdirSync(remote).filter((n) => n.startsWith('.ferrytmp-'))).toHaveLength(1);
    await api(daemon, 'sync:resume');
    await until('the file to arrive', () => finals(remote).length === 1);
    // Resumed from where it stood (the last saved offset, every 4 MiB), not sent again whole.
    expect(proxy.stats.bytesUp - sentAtPause).toBeLessThan(size * 0.75);
    expect(snapshot(remote)).toEqual(snapshot(w.src));
  });
});
