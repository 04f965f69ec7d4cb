import { safeStorage } from 'electron';
import type { Cipher } from '../desktop/safeKeychain';

/**
 * Electron's safeStorage as the Cipher safeKeychain needs. Call after `app.whenReady()`: before,
 * Linux reports the backend as 'unknown' and nothing can be encrypted.
 */
export function safeStorageCipher(platform: NodeJS.Platform = process.platform): Cipher {
  return {
    // Read when asked: it is 'unknown' until the app is ready, and a keyring may be unlocked later.
    get backend() {
      if (platform === 'linux') return safeStorage.getSelectedStorageBackend();
      return platform === 'darwin' ? 'keychain' : 'dpapi';
    },
    isAvailable: () => safeStorage.isEncryptionAvailable(),
    encrypt: (plain) => safeStorage.encryptString(plain),
    decrypt: (blob) => safeStorage.decryptString(blob),
  };
}
