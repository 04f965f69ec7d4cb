import { createHash } from 'node:crypto';
import { Client } from 'ssh2';
import { FerryError } from '../../../../shared/errors';

/** `SHA256:<base64, no padding>` of a host key blob: what `ssh-keygen -l` and OpenSSH's prompts print. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The fingerprints a `host_key` value pins: one or more, separated by commas or spaces, each
 * `SHA256:…` (as OpenSSH prints it; the prefix and base64 padding are optional).
 */
export function pinnedFingerprints(hostKey: string): string[] {
  return hostKey
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => `SHA256:${s.replace(/^SHA256:/i, '').replace(/=+$/, '')}`);
}

/** Whether the server's key is one of those pinned. */
export function hostKeyMatches(pinned: readonly string[], key: Buffer): boolean {
  const fp = fingerprint(key);
  return pinned.includes(fp);
}

export function hostKeyUnknown(id: string, where: string, seen: string): FerryError {
  return new FerryError(
    'auth',
    'host-key-unknown',
    `destination "${id}": ${where} presented host key ${seen}, which is not recorded in the configuration; ` +
      `Ferry never trusts an unknown host key on its own`,
    {
      context: { destination: id },
      hint: `if that is the server's key (compare it with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on the server), add this line to destination "${id}": host_key: ${seen}`,
    },
  );
}

export function hostKeyMismatch(id: string, where: string, seen: string, pinned: readonly string[]): FerryError {
  return new FerryError(
    'auth',
    'host-key-mismatch',
    `destination "${id}": ${where} presented host key ${seen}, but the configuration pins ${pinned.join(', ')}; ` +
      `someone may be intercepting the connection (man-in-the-middle), or the server's key was changed`,
    {
      context: { destination: id },
      hint: `do not sync until you know why: if the server's key was really changed, replace host_key with ${seen}`,
    },
  );
}

/**
 * Connects only far enough to see the server's host key and returns its fingerprint, without
 * logging in: the window and `ferry check` show it so that the person can record it (`host_key`).
 */
export function fetchHostKey(host: string, port = 22, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    let seen: string | undefined;
    c.on('error', (err: Error) => {
      if (seen !== undefined) resolve(seen);
      else
        reject(
          new FerryError('retryable', 'unreachable', `cannot reach ${host}:${port} over SSH: ${err.message}`, {
            cause: err,
          }),
        );
    });
    c.on('ready', () => {
      c.end();
      if (seen !== undefined) resolve(seen);
    });
    c.connect({
      host,
      port,
      username: 'ferry-host-key-probe',
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        seen = fingerprint(key);
        return false; // stop here: nothing is sent to a server we have not decided to trust
      },
    });
    c.setNoDelay(true);
  });
}
