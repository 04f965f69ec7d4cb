// The Debian/Ubuntu packages Ferry's build and tests need, and how to tell each is there. One list,
// read by `npm test`'s preflight (scripts/preflight.mjs), by .ci/run and, through a unit test, kept
// equal to the install line in the README's "Set up" section.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** @typedef {{ pkg: string, why: string, anyOf: string[] }} SystemDep */

/** @type {SystemDep[]} */
export const testDeps = [
  { pkg: 'python3', why: 'builds the SQLite module', anyOf: ['python3'] },
  { pkg: 'make', why: 'builds the SQLite module', anyOf: ['make'] },
  { pkg: 'g++', why: 'builds the SQLite module', anyOf: ['g++'] },
  { pkg: 'openssh-server', why: 'SFTP tests (sshd, internal-sftp)', anyOf: ['/usr/sbin/sshd'] },
  { pkg: 'pure-ftpd', why: 'FTP tests', anyOf: ['pure-ftpd', '/usr/sbin/pure-ftpd'] },
  { pkg: 'rclone', why: 'WebDAV and SFTP tests (rclone serve), independent checks', anyOf: ['rclone'] },
  { pkg: 'chromium', why: "the window's end-to-end tests", anyOf: ['/usr/bin/chromium'] },
  { pkg: 'nginx-extras', why: 'WebDAV tests against nginx (dav_ext)', anyOf: ['/usr/sbin/nginx'] },
  { pkg: 'apache2', why: 'WebDAV tests against Apache mod_dav', anyOf: ['/usr/sbin/apache2'] },
];

/** Only `npm run bench` needs these (its peers). */
/** @type {SystemDep[]} */
export const benchDeps = [
  { pkg: 'rsync', why: 'the bench peer for local copies', anyOf: ['rsync'] },
  { pkg: 'inotify-tools', why: 'the bench peer for live latency', anyOf: ['inotifywait'] },
];

/** Whether a command (a name looked up in PATH, or an absolute path) can be run here. */
export function found(command) {
  const candidates = command.includes('/')
    ? [command]
    : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].map((dir) => join(dir, command));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The packages of `deps` that are missing here. */
export function missing(deps) {
  return deps.filter((dep) => !dep.anyOf.some(found));
}

/** The one install line that brings every package of `deps`. */
export function installLine(deps) {
  return `sudo apt-get install -y ${deps.map((d) => d.pkg).join(' ')}`;
}
