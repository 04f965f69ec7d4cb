import { createHash, type Hash } from 'node:crypto';
import type { HashKind, Hashes } from '../../../shared/hashes';

export const DROPBOX_BLOCK = 4 * 1024 * 1024;

/** Dropbox's content_hash: SHA-256 over the concatenated SHA-256 digests of each 4 MiB block. */
class DropboxHash {
  private readonly overall = createHash('sha256');
  private block = createHash('sha256');
  private inBlock = 0;

  update(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      const take = Math.min(DROPBOX_BLOCK - this.inBlock, buf.length - off);
      this.block.update(off === 0 && take === buf.length ? buf : buf.subarray(off, off + take));
      this.inBlock += take;
      off += take;
      if (this.inBlock === DROPBOX_BLOCK) this.flush();
    }
  }

  private flush(): void {
    this.overall.update(this.block.digest());
    this.block = createHash('sha256');
    this.inBlock = 0;
  }

  digest(): string {
    if (this.inBlock > 0) this.flush();
    return this.overall.digest('hex');
  }
}

/** Dropbox's content_hash of one buffer (what each upload call's body is checked against). */
export function dropboxContentHash(buf: Buffer): string {
  const h = new DropboxHash();
  h.update(buf);
  return h.digest();
}

/** Computes every requested hash kind in one pass over the bytes. SHA-256 is always included. */
export class MultiHash {
  private readonly sha256: Hash = createHash('sha256');
  private readonly md5: Hash | undefined;
  private readonly dropbox: DropboxHash | undefined;

  constructor(kinds: readonly HashKind[] = []) {
    this.md5 = kinds.includes('md5') ? createHash('md5') : undefined;
    this.dropbox = kinds.includes('dropbox') ? new DropboxHash() : undefined;
  }

  update(buf: Buffer): this {
    this.sha256.update(buf);
    this.md5?.update(buf);
    this.dropbox?.update(buf);
    return this;
  }

  digest(): Hashes {
    const out: Hashes = { sha256: this.sha256.digest('hex') };
    if (this.md5) out.md5 = this.md5.digest('hex');
    if (this.dropbox) out.dropbox = this.dropbox.digest();
    return out;
  }
}

/** Whether `have` holds every kind in `need`. */
export function hasKinds(have: Hashes, need: readonly HashKind[]): boolean {
  return need.every((k) => have[k] !== undefined);
}
