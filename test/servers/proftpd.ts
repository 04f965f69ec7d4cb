import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TEST_SERVERS_LIBS,
  TEST_SERVERS_ROOT,
  freeRange,
  readIfThere,
  selfSignedCert,
  spawnLogged,
  stopChild,
  unpackedBinary,
  waitForBanner,
  type FtpServer,
  type FtpTlsMode,
} from './ftpKit';
import { freePort } from './sshd';

/** The uid/gid ProFTPD's virtual user writes files as: `nobody`/`nogroup`. */
const UID = 65534;
const GID = 65534;

/**
 * ProFTPD 1.3.8 (Debian's build, unpacked by scripts/test-servers.sh with the libraries it needs) as
 * TEST-SERVERS.md says: a private config in the foreground (`-n`), on free ports of 127.0.0.1
 * including the passive range, one virtual user from an `AuthUserFile` (SHA-512 crypt hash) chrooted
 * to this server's data folder, dot files listed. MLSD, MFMT and HASH (mod_digest, SHA-256). `tls`:
 * `off` (no mod_tls engine: AUTH TLS refused), `optional` (explicit FTPS offered, plain allowed) or
 * `required` (`TLSRequired on`: control and data). Stopped by PID.
 */
export async function startProftpd(
  opts: { tls?: FtpTlsMode; user?: string; password?: string } = {},
): Promise<FtpServer> {
  const tls = opts.tls ?? 'optional';
  const bin = unpackedBinary('usr/sbin/proftpd');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-proftpd-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  chownSync(dataDir, UID, GID);
  const user = opts.user ?? 'ferry';
  const password = opts.password ?? 'ftp-secret';
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const hash = execFileSync('openssl', ['passwd', '-6', password]).toString().trim();
  const passwd = join(dir, 'ftpd.passwd');
  writeFileSync(passwd, `${user}:${hash}:${UID}:${GID}::${dataDir}:/bin/false\n`, { mode: 0o600 });
  const { key, cert } = selfSignedCert(dir);
  const port = await freePort();
  const [low, high] = await freeRange(40);
  const conf = join(dir, 'proftpd.conf');
  const systemLog = join(dir, 'system.log');
  const tlsLog = join(dir, 'tls.log');
  writeFileSync(
    conf,
    [
      'ServerType standalone',
      'ServerName "ferry test"',
      'DefaultAddress 127.0.0.1',
      'SocketBindTight on',
      `Port ${port}`,
      'UseIPv6 off',
      'User nobody',
      'Group nogroup',
      `PidFile ${join(dir, 'proftpd.pid')}`,
      `ScoreboardFile ${join(dir, 'proftpd.scoreboard')}`,
      'DelayTable none',
      'WtmpLog off',
      'UseReverseDNS off',
      'UseLastlog off',
      'UseFtpUsers off',
      `ModulePath ${join(TEST_SERVERS_ROOT, 'usr', 'lib', 'proftpd')}`,
      'LoadModule mod_tls.c',
      'LoadModule mod_digest.c',
      'AuthOrder mod_auth_file.c',
      `AuthUserFile ${passwd}`,
      'AuthPAM off',
      'RequireValidShell off',
      'DefaultRoot ~',
      `PassivePorts ${low} ${high}`,
      'MasqueradeAddress 127.0.0.1',
      'AllowOverwrite on',
      'ListOptions "-a"',
      'Umask 022',
      'MaxInstances 100',
      `SystemLog ${systemLog}`,
      '<IfModule mod_delay.c>',
      '  DelayEngine off',
      '</IfModule>',
      '<IfModule mod_digest.c>',
      '  DigestEngine on',
      '</IfModule>',
      '<IfModule mod_tls.c>',
      `  TLSEngine ${tls === 'off' ? 'off' : 'on'}`,
      `  TLSLog ${tlsLog}`,
      `  TLSRSACertificateFile ${cert}`,
      `  TLSRSACertificateKeyFile ${key}`,
      `  TLSRequired ${tls === 'required' ? 'on' : 'off'}`,
      '  TLSVerifyClient off',
      '</IfModule>',
      '',
    ].join('\n'),
  );
  const { child, log: out } = spawnLogged(bin, ['-n', '-c', conf], {
    ...process.env,
    LD_LIBRARY_PATH: TEST_SERVERS_LIBS,
  });
  const log = () => `${out()}\n${readIfThere(systemLog).slice(-10_000)}\n${readIfThere(tlsLog).slice(-10_000)}`;
  await waitForBanner('proftpd', port, child, log);
  return {
    name: `ProFTPD${tls === 'off' ? '' : tls === 'required' ? ', TLS required' : ', TLS offered'}`,
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    dataDir,
    user,
    password,
    passwordFile,
    certFile: cert,
    uid: UID,
    gid: GID,
    dir,
    log,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
