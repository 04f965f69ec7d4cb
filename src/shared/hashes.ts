/** Hash kinds the index can hold. Each destination says which of them it can verify. */
export const HASH_KINDS = ['sha256', 'md5', 'dropbox'] as const;
export type HashKind = (typeof HASH_KINDS)[number];
/** Lower-case hex digests by kind. SHA-256 is always present: it drives change and rename detection. */
export type Hashes = { sha256: string } & Partial<Record<Exclude<HashKind, 'sha256'>, string>>;
