import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopOnExit } from './sshd';

/** The uid/gid pure-ftpd's virtual user writes files as: `nobody` (pure-ftpd refuses root). */
export const FTP_UID = 65534;
export const FTP_GID = 65534;

export type FtpServer = {
  host: string;
  port: number;
  pid: number;
  /** The virtual user's home (the FTP root after chroot): the test's independent look at what arrived. */
  dataDir: string;
  user: string;
  password: string;
  /** A file holding the password, for `password: file:…`. */
  passwordFile: string;
  /** The server's self-signed certificate (PEM), for `ca_file`. */
  certFile: string;
  dir: string;
  log: () => string;
  /** Bytes the server received in uploads (STOR/APPE, completed or cut off) so far, from its transfer log. */
  uploadedBytes: () => number;
  /** Sets a quota on the virtual user (MB); takes effect for new logins. */
  setQuotaMb: (mb: number | undefined) => void;
  stop: () => Promise<void>;
};

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A run of `count` ports that were all free a moment ago (for the passive range). */
async function freeRange(count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = start; p < start + count && ok; p++) ok = await portFree(p);
    if (ok) return [start, start + count - 1];
  }
  throw new Error('no free passive port range');
}

async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`pure-ftpd exited (${child.exitCode ?? child.signalCode}): ${log()}`);
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
    if (Date.now() > deadline) throw new Error(`pure-ftpd did not answer on port ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * pure-ftpd (see TEST-SERVERS.md) with a private puredb whose one virtual user has a SHA-512 password
 * hash (`openssl passwd -6`: with pure-pw's default argon2 every login takes ~3.5 s), chrooted to its
 * data folder (owned by `nobody`, the uid it writes as), on free ports including the passive range,
 * with TLS from a self-signed certificate made for this run (`-Y 1`: explicit FTPS offered, plain FTP
 * still allowed), dot files shown (`-D`, Ferry's temporaries start with a dot). Stopped by PID.
 */
export async function startPureFtpd(opts: { user?: string; password?: string } = {}): Promise<FtpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pureftpd-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  chownSync(dataDir, FTP_UID, FTP_GID);
  const user = opts.user ?? 'ferry';
  const password = opts.password ?? 'ftp-secret';
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const passwd = join(dir, 'pureftpd.passwd');
  const pdb = join(dir, 'pureftpd.pdb');
  const hash = execFileSync('openssl', ['passwd', '-6', password]).toString().trim();
  // pure-pw's line: user:hash:uid:gid:gecos:home/./ ("/./" chroots there), then 12 limits; the 7th is
  // the size quota in bytes.
  const line = (quotaMb?: number) =>
    `${user}:${hash}:${FTP_UID}:${FTP_GID}::${dataDir}/./:::::::${quotaMb === undefined ? '' : quotaMb * 1024 * 1024}:::::\n`;
  writeFileSync(passwd, line(), { mode: 0o600 });
  execFileSync('pure-pw', ['mkdb', pdb, '-f', passwd]);
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
  // pure-ftpd wants the key and the certificate in one PEM file (its default is /etc/ssl/private/pure-ftpd.pem).
  const pem = join(dir, 'pure-ftpd.pem');
  writeFileSync(pem, readFileSync(key, 'utf8') + readFileSync(cert, 'utf8'), { mode: 0o600 });
  const port = await freePort();
  const [low, high] = await freeRange(40);
  const child = spawn(
    'pure-ftpd',
    [
      '-S',
      `127.0.0.1,${port}`,
      '-l',
      `puredb:${pdb}`,
      '-E', // no anonymous logins
      '-A', // chroot everyone
      '-j', // create the home folder if missing
      '-H', // no reverse DNS
      '-4',
      '-D', // list dot files
      '-p',
      `${low}:${high}`,
      '-P',
      '127.0.0.1',
      '-Y',
      '1',
      '-2',
      pem,
      '-c',
      '50',
      '-C',
      '50',
      '-g',
      join(dir, 'pure-ftpd.pid'),
      // Every transfer with its byte count (partial ones too): the test's own count of what was sent.
      '-O',
      `clf:${join(dir, 'transfer.log')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  stopOnExit(child);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const log = () => out;
  await waitForBanner(port, child, log);
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    dataDir,
    user,
    password,
    passwordFile,
    certFile: cert,
    dir,
    log,
    uploadedBytes: () => {
      let text = '';
      try {
        text = readFileSync(join(dir, 'transfer.log'), 'utf8');
      } catch {
        return 0;
      }
      let sum = 0;
      for (const m of text.matchAll(/"PUT [^"]*" \d+ (\d+)$/gm)) sum += Number(m[1]);
      return sum;
    },
    setQuotaMb: (mb) => {
      writeFileSync(passwd, line(mb), { mode: 0o600 });
      execFileSync('pure-pw', ['mkdb', pdb, '-f', passwd]);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
