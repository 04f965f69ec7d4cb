/** Hash kinds the index can hold. Each destination says which of them it can verify. */
export const HASH_KINDS = ['sha256', 'md5', 'dropbox'] as const;
export type HashKind = (typeof HASH_KINDS)[number];
/** Lower-case hex digests by kind. SHA-256 is always present: it drives change and rename detection. */
export type Hashes = { sha256: string } & Partial<Record<Exclude<HashKind, 'sha256'>, string>>;

/**
 * The SHA-256 of a file not read yet: the scan left it to be hashed while it is sent (read once), and
 * the upload puts its hashes in the index. Never a real digest, so it matches no record of any content.
 */
export const UNREAD = '';

/** Whether these are a read file's hashes (not UNREAD). */
export function isRead(h: Hashes): boolean {
  return h.sha256 !== UNREAD;
}
