import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running SFTP server for a test: where it listens, how to log in, and where its files land on disk. */
export type SftpServer = {
  host: string;
  port: number;
  pid: number;
  /** The folder the server's files live in: the test's independent look at what arrived. */
  dataDir: string;
  /** The host key's fingerprint as OpenSSH prints it (`SHA256:…`), for `host_key` in a config. */
  hostKey: string;
  user: string;
  /** The client's private key (OpenSSH format) and a file holding it, for `private_key: file:…`. */
  clientKey?: string;
  clientKeyFile?: string;
  /** The password, and a file holding it, for `password: file:…` (rclone only). */
  password?: string;
  passwordFile?: string;
  /** Work folder of this server (keys, config, logs). */
  dir: string;
  /** The server's own output so far (for failure messages). */
  log: () => string;
  stop: () => Promise<void>;
};

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until something on the port answers with an SSH banner. */
export async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the SFTP server exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      let data = '';
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.on('data', (d: Buffer) => {
        data += d.toString();
        if (data.includes('SSH-2.0')) done(true);
      });
      s.on('error', () => done(false));
      s.setTimeout(1000, () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the SFTP server did not answer on port ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A new ed25519 key pair without a passphrase: `file` and `file.pub`. */
export function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test', '-f', file]);
}

/** `SHA256:…` of a public key file, as `ssh-keygen -l` prints it. */
export function fingerprintOf(pubFile: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile]).toString();
  const m = /(SHA256:[A-Za-z0-9+/]+)/.exec(out);
  if (!m?.[1]) throw new Error(`no fingerprint in: ${out}`);
  return m[1];
}

/** Kills the server with the test process, should the test end without stopping it. */
export function stopOnExit(child: ChildProcess): void {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

export function spawnServer(cmd: string, args: string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  stopOnExit(child);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => out };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
}

/**
 * OpenSSH's sshd with a private config, exactly as TEST-SERVERS.md says: keys made for this run,
 * public-key login only, `ForceCommand internal-sftp -d DATA` (so no shell and no hash commands),
 * on a free port of 127.0.0.1, stopped by PID. Any local user may log in with the client key (the
 * authorized_keys file is shared): root for the usual tests, `nobody` where a folder must be
 * read-only (tests run as root, for whom permissions do not bite).
 */
export async function startSshd(opts: { user?: string } = {}): Promise<SftpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  // sshd reads authorized_keys as the user logging in: `nobody` must be able to reach it.
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  mkdirSync('/run/sshd', { recursive: true });
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o644);
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      `ForceCommand internal-sftp -d ${dataDir}`,
      // Many test connections start at once (a pool per run, several runs): do not throttle them.
      'MaxStartups 100:30:200',
      'MaxSessions 64',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const { child, log } = spawnServer('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')]);
  await waitForBanner(port, child, log);
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    dataDir,
    hostKey: fingerprintOf(join(dir, 'host_key.pub')),
    user: opts.user ?? 'root',
    clientKey: readFileSync(join(dir, 'client_key'), 'utf8'),
    clientKeyFile: join(dir, 'client_key'),
    dir,
    log,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `rclone serve sftp` (see TEST-SERVERS.md): password login, and it answers `md5sum`/`sha1sum` over
 * exec (rclone 1.60 has no `sha256sum`). `--vfs-cache-mode writes` is needed for random-access writes
 * (resuming); `--vfs-write-back 0s` hands a closed file to the data folder at once, so that its hash
 * can be asked for right away and the test can read the data folder without waiting 5 s.
 */
export async function startRcloneSftp(opts: { user?: string; password?: string } = {}): Promise<SftpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rclone-sftp-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  keygen(join(dir, 'host_key'));
  const user = opts.user ?? 'ferry';
  const password = opts.password ?? 'sftp-secret';
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const port = await freePort();
  const { child, log } = spawnServer('rclone', [
    'serve',
    'sftp',
    dataDir,
    '--addr',
    `127.0.0.1:${port}`,
    '--user',
    user,
    '--pass',
    password,
    '--key',
    join(dir, 'host_key'),
    '--vfs-cache-mode',
    'writes',
    '--vfs-write-back',
    '0s',
    '--cache-dir',
    join(dir, 'cache'),
    '--config',
    '/dev/null',
  ]);
  await waitForBanner(port, child, log);
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    dataDir,
    hostKey: fingerprintOf(join(dir, 'host_key.pub')),
    user,
    password,
    passwordFile,
    dir,
    log,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
