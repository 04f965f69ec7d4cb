import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DavServer, processAlive, shaPassword, stopPid, waitForListener } from './davServer';
import { freePort, stopOnExit } from './sshd';

/**
 * nginx (Debian's nginx-extras) as a WebDAV server, the way people run it: the core dav module for
 * PUT/DELETE/MKCOL/COPY/MOVE and dav_ext for PROPFIND and OPTIONS, Basic auth from a user file, a
 * `location` with `alias`. A private config in a fresh folder (pid, logs and every temp path inside it),
 * `daemon off` so the master process is ours, on a free port of 127.0.0.1, stopped by PID.
 *
 * What this server does that friendlier ones do not: PROPFIND answers carry no getetag, listings leave
 * out every name that starts with a dot (dav_ext skips them), and a body above `client_max_body_size`
 * is refused with 413.
 */
export async function startNginxDav(opts: { maxBodySize?: string } = {}): Promise<DavServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-nginx-'));
  const dataDir = join(dir, 'data');
  const tmp = join(dir, 'tmp');
  mkdirSync(dataDir);
  mkdirSync(tmp);
  const user = 'ferry';
  const pass = 'nginx-secret';
  writeFileSync(join(dir, 'htpasswd'), `${user}:${shaPassword(pass)}\n`);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      [
        'daemon off;',
        'master_process on;',
        'worker_processes 1;',
        // Tests run as root and write into the data folder directly: the worker must be able to replace those files.
        'user root root;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} warn;`,
        'load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;',
        'events { worker_connections 512; }',
        'http {',
        `  access_log ${join(dir, 'access.log')};`,
        `  client_body_temp_path ${join(tmp, 'body')};`,
        `  proxy_temp_path ${join(tmp, 'proxy')};`,
        `  fastcgi_temp_path ${join(tmp, 'fastcgi')};`,
        `  uwsgi_temp_path ${join(tmp, 'uwsgi')};`,
        `  scgi_temp_path ${join(tmp, 'scgi')};`,
        '  server {',
        `    listen 127.0.0.1:${port};`,
        `    client_max_body_size ${opts.maxBodySize ?? '256m'};`,
        '    location /dav/ {',
        `      alias ${dataDir}/;`,
        '      auth_basic "ferry test";',
        `      auth_basic_user_file ${join(dir, 'htpasswd')};`,
        '      dav_methods PUT DELETE MKCOL COPY MOVE;',
        '      dav_ext_methods PROPFIND OPTIONS;',
        '      create_full_put_path on;',
        '      dav_access user:rw group:rw all:r;',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const child = spawn('/usr/sbin/nginx', ['-c', conf, '-p', `${dir}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    stopOnExit(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const log = () => {
      let errors = '';
      try {
        errors = readFileSync(join(dir, 'error.log'), 'utf8').slice(-4000);
      } catch {
        // not written yet
      }
      return stderr + errors;
    };
    const pid = child.pid as number;
    try {
      await waitForListener(port, () => child.exitCode === null && processAlive(pid), log, 'nginx');
    } catch (err) {
      await stopPid(pid);
      if (attempt < 3 && /address already in use/i.test(log())) continue;
      throw err;
    }
    return {
      url: `http://127.0.0.1:${port}/dav`,
      port,
      pid,
      dataDir,
      user,
      pass,
      dir,
      log,
      stop: async () => {
        await stopPid(pid);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
