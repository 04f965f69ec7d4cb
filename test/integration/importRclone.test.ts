import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry } from '../helpers/cli';
import { startRcloneWebdav, type RcloneServer } from '../servers/rcloneServe';
import { startS3rver, type S3rver } from '../servers/s3rver';
import { startRcloneSftp, startSshd, type SftpServer } from '../servers/sshd';

/**
 * rclone.conf written by rclone itself (`rclone config create`, which obscures the passwords) for
 * remotes on real servers started here; `ferry import-rclone` turns them into destinations and
 * `ferry check` reaches each with the secrets it moved into Ferry's secret store.
 */
describe('ferry import-rclone, against the real servers rclone was configured for', () => {
  let root: string;
  let s3: S3rver;
  let dav: RcloneServer;
  let rsftp: SftpServer;
  let sshd: SftpServer;
  let rcloneConf: string;
  const davPass = 'dav pässword, with "quotes"';

  /** `rclone config create` into the test's own rclone.conf (AWS_CA_BUNDLE off: TEST-SERVERS.md). */
  const rcloneCreate = (name: string, type: string, ...kv: string[]) => {
    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE;
    execFileSync('rclone', ['--config', rcloneConf, 'config', 'create', name, type, ...kv, '--non-interactive'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  };
  const knownHosts = (server: SftpServer) =>
    `[127.0.0.1]:${server.port} ${readFileSync(join(server.dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ferry-import-rclone-'));
    rcloneConf = join(root, 'rclone.conf');
    const davDir = join(root, 'dav');
    mkdirSync(davDir);
    [s3, dav, rsftp, sshd] = await Promise.all([
      startS3rver(['import-bucket']),
      startRcloneWebdav(davDir, { user: 'ann', pass: davPass }),
      startRcloneSftp({ user: 'bob', password: 'sftp secret ü' }),
      startSshd(),
    ]);
    mkdirSync(join(rsftp.dataDir, 'inbox'));
    writeFileSync(join(root, 'known_hosts'), knownHosts(rsftp) + knownHosts(sshd));
    rcloneCreate(
      'bucket',
      's3',
      'provider=Other',
      'access_key_id=S3RVER',
      'secret_access_key=S3RVER',
      `endpoint=${s3.url}`,
      'acl=private',
    );
    rcloneCreate('nas-dav', 'webdav', `url=${dav.url}`, 'vendor=other', 'user=ann', `pass=${davPass}`);
    rcloneCreate(
      'box',
      'sftp',
      'host=127.0.0.1',
      `port=${rsftp.port}`,
      'user=bob',
      `pass=${rsftp.password as string}`,
      `known_hosts_file=${join(root, 'known_hosts')}`,
      'shell_type=unix',
    );
    rcloneCreate(
      'ssh-box',
      'sftp',
      'host=127.0.0.1',
      `port=${sshd.port}`,
      `user=${sshd.user}`,
      `key_file=${sshd.clientKeyFile as string}`,
      `known_hosts_file=${join(root, 'known_hosts')}`,
    );
    rcloneCreate('gdrive', 'drive', 'scope=drive');
  });

  afterAll(async () => {
    await Promise.all([s3?.stop(), dav?.stop(), rsftp?.stop(), sshd?.stop()]);
    rmSync(root, { recursive: true, force: true });
  });

  it('imports the s3, webdav and sftp remotes, lists what it cannot, and ferry check passes on each', async () => {
    // The passwords are obscured in the file rclone wrote, not in clear.
    const conf = readFileSync(rcloneConf, 'utf8');
    expect(conf).not.toContain(davPass);
    expect(conf).toMatch(/pass = [A-Za-z0-9_-]{20,}/);

    const config = join(root, 'ferry.yml');
    writeFileSync(config, '# my destinations\nfolders: []\ndestinations: []\nrules: []\n');
    const state = join(root, 'state');
    const r = await runFerry([
      'import-rclone',
      '--rclone-config',
      rcloneConf,
      '--config',
      config,
      '--state-dir',
      state,
      'bucket:import-bucket/photos',
      'nas-dav',
      'box:inbox',
      'ssh-box',
      'gdrive',
    ]);
    // gdrive cannot be imported: said, with why; the others are.
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(
      '✓ bucket (s3) → destination "bucket" (s3); secrets kept as keychain:rclone-bucket-access_key_id, keychain:rclone-bucket-secret_access_key',
    );
    expect(r.stdout).toContain("    ignored acl: Ferry does not set object ACLs: the bucket's own policy applies");
    expect(r.stdout).toContain(
      '✓ nas-dav (webdav) → destination "nas-dav" (webdav); secrets kept as keychain:rclone-nas-dav-password',
    );
    expect(r.stdout).toContain('✓ box (sftp) → destination "box" (sftp)');
    expect(r.stdout).toContain("    ignored shell_type: Ferry finds the server's hash commands by itself");
    expect(r.stdout).toContain('✓ ssh-box (sftp) → destination "ssh-box" (sftp)');
    expect(r.stdout).toContain('✗ gdrive (drive): not imported: Ferry has no "drive" destination');

    const written = readFileSync(config, 'utf8');
    expect(written.startsWith('# my destinations\n')).toBe(true);
    // Only references in the config: no key, password or private key in clear.
    for (const secret of ['S3RVER', davPass, rsftp.password as string, 'PRIVATE KEY'])
      expect(written).not.toContain(secret);
    expect(written).toContain('password: keychain:rclone-nas-dav-password');
    expect(written).toContain(`private_key: file:${sshd.clientKeyFile as string}`);
    expect(written).toContain(`host_key: ${rsftp.hostKey}`);
    expect(written).toContain('bucket: import-bucket');
    expect(written).toContain('prefix: photos');

    const check = await runFerry(['check', '--config', config, '--state-dir', state]);
    expect(check.stdout + check.stderr).toMatch(/✓ bucket: /);
    expect(check.stdout).toMatch(/✓ nas-dav: /);
    expect(check.stdout).toMatch(/✓ box: /);
    expect(check.stdout).toMatch(/✓ ssh-box: /);
    expect(check.code, check.stdout + check.stderr).toBe(0);

    // Importing again changes nothing and says why.
    const again = await runFerry([
      'import-rclone',
      '--rclone-config',
      rcloneConf,
      '--config',
      config,
      '--state-dir',
      state,
      'nas-dav',
    ]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('✗ nas-dav (webdav): not imported: the config already has a destination "nas-dav"');
    expect(readFileSync(config, 'utf8')).toBe(written);
  });

  it('names a missing rclone config, an unknown remote, and an S3 remote given without its bucket', async () => {
    const config = join(root, 'other.yml');
    const missing = await runFerry(['import-rclone', '--rclone-config', join(root, 'nope.conf'), '--config', config]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(root, 'nope.conf')}: cannot read the rclone config (it does not exist)`);
    const unknown = await runFerry(['import-rclone', '--rclone-config', rcloneConf, '--config', config, 'nas']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'no remote "nas" in the rclone config (remotes: bucket, nas-dav, box, ssh-box, gdrive)',
    );
    const noBucket = await runFerry([
      'import-rclone',
      '--rclone-config',
      rcloneConf,
      '--config',
      config,
      '--state-dir',
      join(root, 'state2'),
      'bucket',
    ]);
    expect(noBucket.code).toBe(1);
    expect(noBucket.stdout).toContain(
      '✗ bucket (s3): not imported: an S3 destination needs a bucket: give it as bucket:BUCKET',
    );
  });
});
