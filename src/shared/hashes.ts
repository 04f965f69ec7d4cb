/** Hash kinds the index can hold. Each destination says which of them it can verify. */
export const HASH_KINDS = ['sha256', 'md5', 'dropbox'] as const;
export type HashKind = (typeof HASH_KINDS)[number];
/** Lower-case hex digests by kind. SHA-256 is always present: it drives change and rename detection. */
export type Hashes = { sha256: string } & Partial<Record<Exclude<HashKind, 'sha256'>, string>>;

const UNREAD_PREFIX = 'unread:';

/**
 * The SHA-256 column of a file not read yet: the scan left it to be hashed while it is sent (read once),
 * and the upload puts its hashes in the index. It names the file's identity (size, mtime, file id), so a
 * job planned with it still says which file it was about (see adoptInterrupted.ts); it is never a hex
 * digest, so it matches no record of any content.
 */
export function unreadMark(f: { size: number; mtimeNs: bigint; ino: bigint }): string {
  return `${UNREAD_PREFIX}${f.size}:${f.mtimeNs}:${f.ino}`;
}

/** The identity an unreadMark names; undefined for a real digest. */
export function unreadIdentity(sha256: string): { size: number; mtimeNs: bigint; ino: bigint } | undefined {
  const m = /^unread:(\d+):(\d+):(\d+)$/.exec(sha256);
  return m ? { size: Number(m[1]), mtimeNs: BigInt(m[2] as string), ino: BigInt(m[3] as string) } : undefined;
}

/** Whether these are a read file's hashes (not an unreadMark). */
export function isRead(h: Hashes): boolean {
  return !h.sha256.startsWith(UNREAD_PREFIX);
}
