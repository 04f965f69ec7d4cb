import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Keychain } from './secrets';

/**
 * `keychain:` secrets for the daemon and the CLI: a JSON file readable by the owner only (0600) in the
 * state directory, written atomically. The desktop app keeps them in the OS keychain instead.
 */
export function fileKeychain(stateDir: string): Keychain {
  const file = join(stateDir, 'secrets.json');
  const read = (): Record<string, string> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  };
  return {
    where: `${file} (readable by your user only)`,
    get: (name) => {
      const v = read()[name];
      return typeof v === 'string' ? v : undefined;
    },
    set: (name, value) => write({ ...read(), [name]: value }),
    delete: (name) => {
      const all = read();
      if (!(name in all)) return;
      delete all[name];
      write(all);
    },
  };

  function write(all: Record<string, string>): void {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify(all));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }
}
