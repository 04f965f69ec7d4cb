import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../shared/errors';
import { writeFileAtomically } from '../engine/files/atomicWrite';
import type { Keychain } from '../engine/secrets/secrets';

/**
 * What the OS gives to encrypt secrets (Electron's safeStorage, adapted by shell/safeStorage.ts; a
 * fake in tests). `backend` names the store: on Linux safeStorage's selected backend
 * ('gnome_libsecret', 'kwallet5', 'basic_text', …), elsewhere 'keychain' (macOS) or 'dpapi' (Windows).
 */
export type Cipher = {
  isAvailable(): boolean;
  encrypt(plain: string): Buffer;
  decrypt(blob: Buffer): string;
  readonly backend?: string;
};

export const SECRETS_FILE = 'secrets.enc.json';

/** On disk: each value encrypted by the OS keychain's key, base64. Never a value in clear. */
type SecretsFile = { version: 1; entries: Record<string, string> };

const BACKEND_LABELS: Record<string, string> = {
  gnome_libsecret: 'libsecret',
  kwallet: 'KWallet',
  kwallet5: 'KWallet 5',
  kwallet6: 'KWallet 6',
  keychain: 'macOS Keychain',
  dpapi: 'Windows DPAPI',
};

const NO_KEYRING_HINT =
  'install or unlock a keyring (GNOME Keyring or KWallet) and restart Ferry, or put the secret in an env: or file: reference in the config instead';

/**
 * Why the cipher cannot keep secrets safely, or undefined. Linux without a keyring falls back to
 * 'basic_text', whose key is a constant compiled into Chromium: encrypting with it would only
 * pretend, so it counts as unavailable.
 */
export function cipherProblem(cipher: Cipher): string | undefined {
  if (cipher.backend === 'basic_text')
    return 'no OS keyring is available (safeStorage would fall back to "basic_text", a key built into every copy of Electron)';
  if (cipher.backend === 'unknown') return 'the OS keychain is not ready yet (asked before the app was ready)';
  if (!cipher.isAvailable()) return 'encryption with the OS keychain is not available';
  return undefined;
}

/**
 * `keychain:` secrets for the desktop app: values encrypted by the OS keychain (Electron's
 * safeStorage) and kept as base64 in `<dir>/secrets.enc.json` (0600, written atomically). Where no
 * keychain is available, secrets are refused with a message that says what to do: they are never
 * stored in clear.
 */
export function safeKeychain(dir: string, cipher: Cipher): Keychain {
  const file = join(dir, SECRETS_FILE);
  const label = BACKEND_LABELS[cipher.backend ?? ''] ?? cipher.backend ?? 'safeStorage';

  const read = (): Record<string, string> => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new FerryError(
        'permanent',
        'secret-store-unreadable',
        `the secret store ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { hint: 'check that the file belongs to your user and is readable by it' },
      );
    }
    const parsed = parse(text);
    if (!parsed)
      throw new FerryError(
        'permanent',
        'secret-store-corrupt',
        `the secret store ${file} is damaged (not Ferry's format)`,
        {
          hint: 'move the file aside, then enter the secrets again on the Destinations page',
        },
      );
    return parsed.entries;
  };

  const unavailable = (what: string, problem: string) =>
    new FerryError('auth', 'keychain-unavailable', `${what}: ${problem}`, { hint: NO_KEYRING_HINT });

  return {
    get where() {
      const problem = cipherProblem(cipher);
      return problem === undefined
        ? `the OS keychain (${label}), encrypted in ${file}`
        : `nowhere yet: ${problem}; ${NO_KEYRING_HINT}`;
    },
    get(name) {
      const blob = read()[name];
      if (blob === undefined) return undefined;
      const problem = cipherProblem(cipher);
      if (problem !== undefined) throw unavailable(`the keychain entry "${name}" cannot be read`, problem);
      try {
        return cipher.decrypt(Buffer.from(blob, 'base64'));
      } catch (err) {
        // A reset keyring, a file copied from another account or machine, or damaged bytes.
        throw new FerryError(
          'auth',
          'secret-undecryptable',
          `the keychain entry "${name}" cannot be decrypted with this account's OS keychain (${label})`,
          {
            hint: 'enter the secret again on the Destinations page (the keyring may have been reset, or the file comes from another machine)',
            cause: err,
          },
        );
      }
    },
    set(name, value) {
      const problem = cipherProblem(cipher);
      if (problem !== undefined) throw unavailable(`cannot keep the secret "${name}"`, problem);
      const blob = cipher.encrypt(value);
      // A cipher that cannot read back what it wrote would lose the secret: refuse before writing.
      if (cipher.decrypt(blob) !== value)
        throw unavailable(`cannot keep the secret "${name}"`, 'the OS keychain did not give back what it encrypted');
      const next: SecretsFile = { version: 1, entries: { ...read(), [name]: blob.toString('base64') } };
      writeFileAtomically(file, JSON.stringify(next, null, 2), { dirMode: 0o700 });
    },
    delete(name) {
      const entries = read();
      if (!(name in entries)) return;
      delete entries[name];
      writeFileAtomically(file, JSON.stringify({ version: 1, entries } satisfies SecretsFile, null, 2), {
        dirMode: 0o700,
      });
    },
  };
}

function parse(text: string): SecretsFile | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || !('entries' in raw)) return undefined;
  const entries = (raw as { entries: unknown }).entries;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entries)) if (typeof v === 'string') out[k] = v;
  return { version: 1, entries: out };
}
