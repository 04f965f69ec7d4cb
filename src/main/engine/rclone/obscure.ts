import { createDecipheriv } from 'node:crypto';

/**
 * rclone keeps passwords in its config "obscured", not encrypted: AES-256-CTR under a key published in
 * rclone's source (fs/config/obscure), a random 16-byte IV in front, base64url without padding. Anyone
 * can reveal them, as `rclone reveal` does; Ferry does it to move them into its own secret store.
 */
const OBSCURE_KEY = Buffer.from('9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638', 'hex');

export function revealObscured(obscured: string): string {
  const bytes = Buffer.from(obscured.trim(), 'base64url');
  if (bytes.length < 16 || !/^[A-Za-z0-9_-]+$/.test(obscured.trim()))
    throw new Error('not an obscured value (rclone writes them as base64url of at least 16 bytes)');
  const decipher = createDecipheriv('aes-256-ctr', OBSCURE_KEY, bytes.subarray(0, 16));
  return Buffer.concat([decipher.update(bytes.subarray(16)), decipher.final()]).toString('utf8');
}
