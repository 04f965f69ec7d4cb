import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cipherProblem, safeKeychain, SECRETS_FILE, type Cipher } from '../../src/main/desktop/safeKeychain';
import { resolveSecret } from '../../src/main/engine/secrets/secrets';
import { FerryError } from '../../src/shared/errors';

/** Stands in for safeStorage: AES-GCM with a key only this "OS account" has. */
function fakeCipher(opts: { backend?: string; available?: boolean; key?: Buffer } = {}): Cipher {
  const key = opts.key ?? randomBytes(32);
  return {
    ...(opts.backend === undefined ? {} : { backend: opts.backend }),
    isAvailable: () => opts.available ?? true,
    encrypt: (plain) => {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([Buffer.from('v10'), iv, c.getAuthTag(), body]);
    },
    decrypt: (blob) => {
      if (blob.subarray(0, 3).toString() !== 'v10') throw new Error('Error while decrypting the ciphertext provided');
      const d = createDecipheriv('aes-256-gcm', key, blob.subarray(3, 15));
      d.setAuthTag(blob.subarray(15, 31));
      return Buffer.concat([d.update(blob.subarray(31)), d.final()]).toString('utf8');
    },
  };
}

const SECRET = 'hunter2-s3cr3t-Access-Key/with+slashes=';

describe('the desktop keychain (safeStorage)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-safe-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives back what it keeps, and says where', () => {
    const key = randomBytes(32);
    const kc = safeKeychain(dir, fakeCipher({ backend: 'gnome_libsecret', key }));
    expect(kc.get('s3-secret')).toBeUndefined();
    kc.set('s3-secret', SECRET);
    kc.set('other', 'x');
    expect(kc.get('s3-secret')).toBe(SECRET);
    expect(kc.get('other')).toBe('x');
    expect(kc.where).toContain('the OS keychain (libsecret)');
    // The next start (same OS account, same key) reads the same file.
    expect(safeKeychain(dir, fakeCipher({ key })).get('s3-secret')).toBe(SECRET);
  });

  it('forgets an entry it is told to, keeping the others (forgetting a missing one is no error)', () => {
    const key = randomBytes(32);
    const kc = safeKeychain(dir, fakeCipher({ key }));
    kc.set('gone.password', SECRET);
    kc.set('kept.password', 'x');
    kc.delete('gone.password');
    kc.delete('never-there');
    const again = safeKeychain(dir, fakeCipher({ key }));
    expect(again.get('gone.password')).toBeUndefined();
    expect(again.get('kept.password')).toBe('x');
  });

  it('never writes a value in clear: the file holds base64 of the encrypted bytes only', () => {
    const kc = safeKeychain(dir, fakeCipher());
    kc.set('s3-secret', SECRET);
    const text = readFileSync(join(dir, SECRETS_FILE), 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(text).not.toContain('hunter2');
    const parsed = JSON.parse(text) as { version: number; entries: Record<string, string> };
    expect(parsed.version).toBe(1);
    expect(
      Buffer.from(parsed.entries['s3-secret'] ?? '', 'base64')
        .subarray(0, 3)
        .toString(),
    ).toBe('v10');
  });

  it('keeps the file readable by its owner only (0600), replaced atomically with no temp file left', () => {
    const kc = safeKeychain(join(dir, 'nested'), fakeCipher());
    kc.set('a', '1');
    kc.set('b', '2');
    if (process.platform !== 'win32') expect(statSync(join(dir, 'nested', SECRETS_FILE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested'))).toEqual([SECRETS_FILE]);
  });

  it('refuses to keep a secret where no keyring is available, saying what to do', () => {
    for (const cipher of [fakeCipher({ backend: 'basic_text' }), fakeCipher({ available: false })]) {
      const kc = safeKeychain(dir, cipher);
      let error: unknown;
      try {
        kc.set('s3-secret', SECRET);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FerryError);
      const e = error as FerryError;
      expect(e.message).toContain('cannot keep the secret "s3-secret"');
      expect(e.hint).toMatch(/GNOME Keyring or KWallet/);
      expect(e.hint).toMatch(/env: or file: reference/);
      expect(() => readFileSync(join(dir, SECRETS_FILE))).toThrow();
      expect(kc.where).toMatch(/^nowhere yet/);
    }
    expect(cipherProblem(fakeCipher({ backend: 'basic_text' }))).toMatch(/basic_text/);
    expect(cipherProblem(fakeCipher({ backend: 'kwallet5' }))).toBeUndefined();
  });

  it('reports an entry it cannot decrypt (another key, damaged bytes) as a clear error, not a crash', () => {
    safeKeychain(dir, fakeCipher()).set('s3-secret', SECRET);
    const other = safeKeychain(dir, fakeCipher({ backend: 'kwallet5' })); // a reset keyring: a new key
    expect(() => other.get('s3-secret')).toThrow(/"s3-secret" cannot be decrypted .*KWallet 5/);
    try {
      other.get('s3-secret');
    } catch (err) {
      expect((err as FerryError).code).toBe('secret-undecryptable');
      expect((err as FerryError).hint).toMatch(/enter the secret again/);
    }
    // An entry that is not even base64 of anything meaningful.
    writeFileSync(join(dir, SECRETS_FILE), JSON.stringify({ version: 1, entries: { bad: '!!!not base64' } }));
    expect(() => other.get('bad')).toThrow(FerryError);
    // A file that is not Ferry's JSON at all.
    writeFileSync(join(dir, SECRETS_FILE), '{ this is not json');
    expect(() => other.get('bad')).toThrow(/is damaged/);
    expect(() => other.set('bad', 'x')).toThrow(/is damaged/);
  });

  it('resolves keychain:NAME references of the config through it', () => {
    const kc = safeKeychain(dir, fakeCipher());
    kc.set('nas-password', SECRET);
    expect(resolveSecret('keychain:nas-password', 'destination "nas" password', kc)).toBe(SECRET);
    expect(() => resolveSecret('keychain:missing', 'destination "nas" password', kc)).toThrow(
      /keychain entry "missing" is not available/,
    );
  });
});
