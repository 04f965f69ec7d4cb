import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeRange, selfSignedCert, spawnLogged, stopChild, waitForBanner, type FtpServer } from './ftpKit';

export type { FtpServer } from './ftpKit';
import { freePort } from './sshd';

/** The uid/gid pure-ftpd's virtual user writes files as: `nobody` (pure-ftpd refuses root). */
export const FTP_UID = 65534;
export const FTP_GID = 65534;

/** pure-ftpd, with what only its test helper knows: its transfer log and its quotas. */
export type PureFtpServer = FtpServer & {
  /** Bytes the server received in uploads (STOR/APPE, completed or cut off) so far, from its transfer log. */
  uploadedBytes: () => number;
  /** Sets a quota on the virtual user (MB); takes effect for new logins. */
  setQuotaMb: (mb: number | undefined) => void;
};

/**
 * pure-ftpd (see TEST-SERVERS.md) with a private puredb whose one virtual user has a SHA-512 password
 * hash (`openssl passwd -6`: with pure-pw's default argon2 every login takes ~3.5 s), chrooted to its
 * data folder (owned by `nobody`, the uid it writes as), on free ports including the passive range,
 * with TLS from a self-signed certificate made for this run (`-Y 1`: explicit FTPS offered, plain FTP
 * still allowed), dot files shown (`-D`, Ferry's temporaries start with a dot). Stopped by PID.
 */
export async function startPureFtpd(opts: { user?: string; password?: string } = {}): Promise<PureFtpServer> {
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
  const { key, cert } = selfSignedCert(dir);
  // pure-ftpd wants the key and the certificate in one PEM file (its default is /etc/ssl/private/pure-ftpd.pem).
  const pem = join(dir, 'pure-ftpd.pem');
  writeFileSync(pem, readFileSync(key, 'utf8') + readFileSync(cert, 'utf8'), { mode: 0o600 });
  const port = await freePort();
  const [low, high] = await freeRange(40);
  const { child, log } = spawnLogged('pure-ftpd', [
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
  ]);
  await waitForBanner('pure-ftpd', port, child, log);
  return {
    name: 'pure-ftpd',
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    dataDir,
    user,
    password,
    passwordFile,
    certFile: cert,
    uid: FTP_UID,
    gid: FTP_GID,
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
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
