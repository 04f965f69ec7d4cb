import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../files/atomicWrite';
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
    writeFileAtomically(file, JSON.stringify(all), { dirMode: 0o700 });
  }
}
