import { readFileSync } from 'node:fs';
import { FerryError } from '../../../shared/errors';
import { expandHome } from '../config/loadConfig';

/**
 * Where `keychain:NAME` secrets live: the OS keychain in the desktop app, a private file in the state
 * directory for the daemon and the CLI (fileKeychain.ts).
 */
export interface Keychain {
  /** Says where secrets are kept, for the settings page. */
  readonly where: string;
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  /** Forgets an entry (removing a missing one is not an error). */
  delete(name: string): void;
}

/** The `keychain:` entries a configuration refers to, wherever they are (every secret field is a string). */
export function keychainNames(config: unknown): Set<string> {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.startsWith('keychain:')) names.add(v.slice('keychain:'.length));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
  };
  walk(config);
  return names;
}

/**
 * Resolves a secret reference from the config (`env:VAR`, `file:PATH`, `keychain:NAME`) at the moment
 * it is needed. The value is never logged, stored or sent back to a window.
 */
export function resolveSecret(ref: string, what: string, keychain?: Keychain): string {
  const colon = ref.indexOf(':');
  const scheme = ref.slice(0, colon);
  const name = ref.slice(colon + 1);
  if (scheme === 'env') {
    const v = process.env[name];
    if (v === undefined || v === '')
      throw new FerryError('auth', 'secret-missing', `${what}: the environment variable ${name} is not set`, {
        hint: `set ${name} in the environment Ferry runs in`,
      });
    return v;
  }
  if (scheme === 'file') {
    try {
      return readFileSync(expandHome(name), 'utf8').trim();
    } catch (err) {
      throw new FerryError(
        'auth',
        'secret-missing',
        `${what}: cannot read the secret file ${name} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        {
          hint: 'check the path and that Ferry may read it',
        },
      );
    }
  }
  if (scheme === 'keychain') {
    const v = keychain?.get(name);
    if (v === undefined)
      throw new FerryError('auth', 'secret-missing', `${what}: the keychain entry "${name}" is not available here`, {
        hint: 'enter the secret again in the window (destinations page), or use an env: or file: reference',
      });
    return v;
  }
  throw new FerryError(
    'auth',
    'secret-invalid',
    `${what}: "${scheme}:" is not a kind of secret reference (use env:, file: or keychain:)`,
  );
}
