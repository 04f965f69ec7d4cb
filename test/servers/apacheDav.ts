import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DavServer, processAlive, shaPassword, stopPid, waitForListener } from './davServer';
import { freePort } from './sshd';

/** The account Apache's children run as (it will not run them as root). */
const WWW_USER = 'nobody';
const NOBODY = { uid: 65534, gid: 65534 };

export type ApacheDavServer = DavServer & {
  auth: 'basic' | 'digest';
  /** Hands what a test wrote into the data folder to the server's account, so that it may replace it. */
  own: () => void;
};

const MODULES = [
  'mpm_event',
  'authn_core',
  'authn_file',
  'authz_core',
  'authz_user',
  'auth_basic',
  'auth_digest',
  'dav',
  'dav_fs',
  'alias',
];

/**
 * Apache httpd (Debian's apache2) with mod_dav and mod_dav_fs, Basic or Digest auth from a user file:
 * `apache2 -f CONF -k start` with a private config in a fresh folder (PidFile, DavLockDB, logs, mutexes
 * inside it), on a free port of 127.0.0.1, stopped by the PID in its PidFile.
 */
export async function startApacheDav(opts: { auth?: 'basic' | 'digest' } = {}): Promise<ApacheDavServer> {
  const auth = opts.auth ?? 'basic';
  const dir = mkdtempSync(join(tmpdir(), 'ferry-apache-'));
  const dataDir = join(dir, 'data');
  const run = join(dir, 'run');
  // The children (nobody) must reach the data folder and read the user file.
  chmodSync(dir, 0o755);
  mkdirSync(dataDir);
  mkdirSync(run);
  chownSync(dataDir, NOBODY.uid, NOBODY.gid);
  chownSync(run, NOBODY.uid, NOBODY.gid);
  const user = 'ferry';
  const pass = 'apache-secret';
  const realm = 'ferry test';
  const users = join(dir, 'users');
  writeFileSync(
    users,
    auth === 'digest'
      ? `${user}:${realm}:${createHash('md5').update(`${user}:${realm}:${pass}`).digest('hex')}\n`
      : `${user}:${shaPassword(pass)}\n`,
  );
  const pidFile = join(run, 'httpd.pid');
  const errorLog = join(dir, 'error.log');
  const log = () => {
    try {
      return readFileSync(errorLog, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'httpd.conf');
    writeFileSync(
      conf,
      [
        `ServerRoot ${dir}`,
        ...MODULES.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`),
        `Listen 127.0.0.1:${port}`,
        'ServerName 127.0.0.1',
        `User ${WWW_USER}`,
        'Group nogroup',
        `PidFile ${pidFile}`,
        `DefaultRuntimeDir ${run}`,
        `Mutex file:${run} default`,
        `ErrorLog ${errorLog}`,
        'LogLevel warn',
        'StartServers 1',
        'ServerLimit 2',
        'ThreadsPerChild 32',
        'MaxRequestWorkers 64',
        `DavLockDB ${join(run, 'davlock')}`,
        '<Directory />',
        '  AllowOverride None',
        '  Require all denied',
        '</Directory>',
        `DocumentRoot ${dataDir}`,
        `Alias /dav ${dataDir}`,
        `<Directory ${dataDir}>`,
        '  Dav On',
        '  Options None',
        '  AllowOverride None',
        `  AuthType ${auth === 'digest' ? 'Digest' : 'Basic'}`,
        `  AuthName "${realm}"`,
        ...(auth === 'digest'
          ? ['  AuthDigestProvider file', '  AuthDigestDomain /dav/']
          : ['  AuthBasicProvider file']),
        `  AuthUserFile ${users}`,
        '  Require valid-user',
        '</Directory>',
        '',
      ].join('\n'),
    );
    try {
      execFileSync('/usr/sbin/apache2', ['-f', conf, '-k', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: Buffer };
      throw new Error(`apache2 -k start failed: ${e.stderr?.toString() ?? String(err)}\n${log()}`);
    }
    const pidOf = (): number | undefined => {
      try {
        return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
      } catch {
        return undefined;
      }
    };
    const started = Date.now();
    while (pidOf() === undefined && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    const pid = pidOf();
    try {
      if (pid === undefined) throw new Error(`apache2 wrote no PID file:\n${log()}`);
      await waitForListener(port, () => processAlive(pid), log, 'apache2');
    } catch (err) {
      if (pid !== undefined) await stopPid(pid);
      if (attempt < 3 && /address already in use/i.test(log())) continue;
      throw err;
    }
    const own = () => {
      const walk = (p: string) => {
        chownSync(p, NOBODY.uid, NOBODY.gid);
        if (statSync(p).isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
      };
      walk(dataDir);
    };
    return {
      url: `http://127.0.0.1:${port}/dav`,
      port,
      pid,
      dataDir,
      user,
      pass,
      dir,
      auth,
      log,
      own,
      stop: async () => {
        await stopPid(pid);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
