import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintOf, freePort, keygen, spawnServer, stopChild, waitForBanner, type SftpServer } from './sshd';

/** The login the chroot is made for: `nobody`, as a hosting account would be an unprivileged user. */
const USER = 'nobody';
const UID = 65534;
const GID = 65534;

/**
 * OpenSSH's sshd serving internal-sftp in a chroot, as people confine SFTP-only accounts: `nobody`
 * logs in with an ed25519 key, `ChrootDirectory` is a root-owned folder whose every parent is
 * root-owned and not writable by others (sshd refuses it otherwise, so not below /tmp or /var/tmp:
 * below /var/lib), and the session starts in `/data` inside it, the one folder the user owns.
 * Everything (keys, config, the chroot) lives in one folder removed by stop().
 */
export async function startChrootSshd(): Promise<SftpServer & { chrootDir: string }> {
  const dir = mkdtempSync('/var/lib/ferry-sftp-');
  chmodSync(dir, 0o755);
  const chrootDir = join(dir, 'chroot');
  mkdirSync(chrootDir, { mode: 0o755 });
  chmodSync(chrootDir, 0o755);
  const dataDir = join(chrootDir, 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  chownSync(dataDir, UID, GID);
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
      'PubkeyAcceptedAlgorithms ssh-ed25519',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin no',
      `AllowUsers ${USER}`,
      'Subsystem sftp internal-sftp',
      `ChrootDirectory ${chrootDir}`,
      'ForceCommand internal-sftp -d /data',
      'AllowTcpForwarding no',
      'X11Forwarding no',
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
    chrootDir,
    hostKey: fingerprintOf(join(dir, 'host_key.pub')),
    user: USER,
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
