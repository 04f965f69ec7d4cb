import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { stopOnExit } from './sshd';

export { stopChild } from './sshd';

/** A running FTP server for a test: where it listens, how to log in, and where its files land on disk. */
export type FtpServer = {
  /** Which server this is, for test names and messages. */
  name: string;
  host: string;
  port: number;
  pid: number;
  /** The login's FTP root on disk: the test's independent look at what arrived. */
  dataDir: string;
  user: string;
  password: string;
  /** A file holding the password, for `password: file:…`. */
  passwordFile: string;
  /** The server's self-signed certificate (PEM), for `ca_file`. */
  certFile: string;
  /** The uid/gid the login writes files as (a folder it must write in belongs to them). */
  uid: number;
  gid: number;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
};

/**
 * How a test server is offered TLS: not at all, offered beside plain FTP, or required for the
 * login and the data (a plain client is refused).
 */
export type FtpTlsMode = 'off' | 'optional' | 'required';

/** Where scripts/test-servers.sh unpacks the servers apt cannot install beside pure-ftpd. */
export const TEST_SERVERS_DIR =
  process.env.FERRY_TEST_SERVERS ?? join(__dirname, '..', '..', 'node_modules', '.cache', 'ferry-test-servers');
export const TEST_SERVERS_ROOT = join(TEST_SERVERS_DIR, 'root');
/** The libraries unpacked beside them (ProFTPD links some this machine lacks). */
export const TEST_SERVERS_LIBS = join(TEST_SERVERS_ROOT, 'usr', 'lib', 'x86_64-linux-gnu');

/** The path of an unpacked server binary; throws, with the command that provides it, when it is missing. */
export function unpackedBinary(relative: string): string {
  const bin = join(TEST_SERVERS_ROOT, relative);
  if (!existsSync(bin) || !existsSync(join(TEST_SERVERS_DIR, '.complete')))
    throw new Error(`${bin} is missing: run \`sudo scripts/test-servers.sh\` (it fetches vsftpd and ProFTPD with apt)`);
  return bin;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A run of `count` ports that were all free a moment ago (for the passive range). */
export async function freeRange(count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = start; p < start + count && ok; p++) ok = await portFree(p);
    if (ok) return [start, start + count - 1];
  }
  throw new Error('no free passive port range');
}

/** Waits until the server on `port` greets with a 220 line. */
export async function waitForBanner(name: string, port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      let data = '';
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.on('data', (d: Buffer) => {
        data += d.toString();
        if (/^220 /m.test(data)) done(true);
      });
      s.on('error', () => done(false));
      s.setTimeout(1000, () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not answer on port ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A self-signed certificate for 127.0.0.1 and localhost: `key.pem` and `cert.pem` in `dir`. */
export function selfSignedCert(dir: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

/** Starts a server in the foreground with its output kept (for failure messages); killed with the test process. */
export function spawnLogged(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
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

/** A file's text, or '' when it is not there (yet). */
export function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
