import { readFileSync } from 'node:fs';
import { FerryError } from '../../shared/errors';
import { expandHome } from './config/loadConfig';

/** Something that resolves a `keychain:NAME` reference: the desktop app's OS keychain. */
export type Keychain = (name: string) => string | undefined;

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
    const v = keychain?.(name);
    if (v === undefined)
      throw new FerryError('auth', 'secret-missing', `${what}: the keychain entry "${name}" is not available here`, {
        hint: 'keychain: references are kept by the desktop app; for the daemon or the CLI use env: or file:',
      });
    return v;
  }
  throw new FerryError(
    'auth',
    'secret-invalid',
    `${what}: "${scheme}:" is not a kind of secret reference (use env:, file: or keychain:)`,
  );
}
