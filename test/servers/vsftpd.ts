import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TEST_SERVERS_DIR,
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

/** The system user scripts/test-servers.sh makes for vsftpd (its logins go through PAM to /etc/shadow). */
const VSFTPD_USER = 'ferry-ftp';
const PAM_SERVICE = 'ferry-test-vsftpd';

function localUser(): { uid: number; gid: number; password: string } {
  const fix = 'run `sudo scripts/test-servers.sh` (it creates the user and its PAM service)';
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', VSFTPD_USER]).toString();
  } catch {
    throw new Error(`vsftpd's test user "${VSFTPD_USER}" does not exist: ${fix}`);
  }
  const [, , uid, gid] = line.split(':');
  const password = readIfThere(join(TEST_SERVERS_DIR, `${VSFTPD_USER}.password`)).trim();
  if (password === '') throw new Error(`no password for "${VSFTPD_USER}" in ${TEST_SERVERS_DIR}: ${fix}`);
  return { uid: Number(uid), gid: Number(gid), password };
}

/**
 * vsftpd 3.0.3 (Debian's build, unpacked by scripts/test-servers.sh) as TEST-SERVERS.md says: a
 * private config, in the foreground, on free ports of 127.0.0.1 including the passive range, the
 * local user `ferry-ftp` chrooted to this server's data folder (`local_root`), dot files listed.
 * `tls`: `off` (AUTH TLS refused), `optional` (explicit FTPS offered, plain FTP allowed) or
 * `required` (logins and data only over TLS). No MLSD, no MFMT, no HASH: LIST, SIZE and MDTM only.
 * Stopped by PID.
 */
export async function startVsftpd(opts: { tls?: FtpTlsMode } = {}): Promise<FtpServer> {
  const tls = opts.tls ?? 'optional';
  const bin = unpackedBinary('usr/sbin/vsftpd');
  const { uid, gid, password } = localUser();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-vsftpd-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  chownSync(dataDir, uid, gid);
  // vsftpd's unprivileged helper chroots here: empty, and not writable by the user.
  mkdirSync(join(dir, 'empty'), { mode: 0o755 });
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const { key, cert } = selfSignedCert(dir);
  const port = await freePort();
  const [low, high] = await freeRange(40);
  const conf = join(dir, 'vsftpd.conf');
  const logFile = join(dir, 'vsftpd.log');
  writeFileSync(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${port}`,
      'background=NO',
      'anonymous_enable=NO',
      'local_enable=YES',
      'write_enable=YES',
      'local_umask=022',
      'chroot_local_user=YES',
      'allow_writeable_chroot=YES',
      `local_root=${dataDir}`,
      `pam_service_name=${PAM_SERVICE}`,
      `secure_chroot_dir=${join(dir, 'empty')}`,
      'pasv_enable=YES',
      `pasv_min_port=${low}`,
      `pasv_max_port=${high}`,
      'pasv_address=127.0.0.1',
      'connect_from_port_20=NO',
      // Debian's 3.0.3 build with its seccomp filter kills sessions on some syscalls of newer libcs.
      'seccomp_sandbox=NO',
      'force_dot_files=YES',
      'use_localtime=NO',
      'delay_failed_login=0',
      'max_clients=100',
      'max_per_ip=100',
      'xferlog_enable=YES',
      `vsftpd_log_file=${logFile}`,
      'log_ftp_protocol=YES',
      ...(tls === 'off'
        ? ['ssl_enable=NO']
        : [
            'ssl_enable=YES',
            `rsa_cert_file=${cert}`,
            `rsa_private_key_file=${key}`,
            `force_local_logins_ssl=${tls === 'required' ? 'YES' : 'NO'}`,
            `force_local_data_ssl=${tls === 'required' ? 'YES' : 'NO'}`,
            'debug_ssl=YES',
          ]),
      '',
    ].join('\n'),
  );
  const { child, log: out } = spawnLogged(bin, [conf]);
  const log = () => `${out()}\n${readIfThere(logFile).slice(-20_000)}`;
  await waitForBanner('vsftpd', port, child, log);
  return {
    name: `vsftpd${tls === 'off' ? '' : tls === 'required' ? ', TLS required' : ', TLS offered'}`,
    host: '127.0.0.1',
    port,
    pid: child.pid as number,
    dataDir,
    user: VSFTPD_USER,
    password,
    passwordFile,
    certFile: cert,
    uid,
    gid,
    dir,
    log,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
