import { randomBytes } from 'node:crypto';
import { FerryError } from '../../../shared/errors';
import { connectDropbox } from '../providers/dropbox/oauth';
import { Transport } from '../providers/dropbox/dropboxTransport';
import type { Keychain } from '../secrets/secrets';

/** How long the person has to allow Ferry in the browser. */
const CONSENT_MS = 5 * 60_000;
/** A finished attempt's answer is kept this long for the window to collect it. */
const KEEP_MS = 60_000;

type Attempt = { done: Promise<string>; cancel: () => void };

/**
 * "Connect to Dropbox" from the window: OAuth 2 with PKCE and a loopback redirect (oauth.ts), in two
 * steps so the window can open the consent page itself — `start` answers the address to open, `finish`
 * waits for the person's answer. The refresh token goes straight to the keychain; the window only ever
 * gets its reference (`keychain:NAME`).
 */
export class DropboxConnections {
  private readonly attempts = new Map<string, Attempt>();

  constructor(private readonly keychain: Keychain) {}

  async start(p: { appKey: string; endpoint?: string | undefined; name: string }): Promise<{
    attempt: string;
    url: string;
  }> {
    const id = randomBytes(12).toString('base64url');
    const transport = new Transport(p.endpoint);
    const controller = new AbortController();
    let shown: (url: string) => void = () => undefined;
    const address = new Promise<string>((resolve) => (shown = resolve));
    const done = connectDropbox({
      appKey: p.appKey,
      fetch: transport.fetch(controller.signal),
      authorizeBase: p.endpoint,
      timeoutMs: CONSENT_MS,
      signal: controller.signal,
      openBrowser: (url) => shown(url),
    })
      .then(({ refreshToken }) => {
        this.keychain.set(p.name, refreshToken);
        return `keychain:${p.name}`;
      })
      .finally(() => {
        transport.close();
        setTimeout(() => this.attempts.delete(id), KEEP_MS).unref();
      });
    // Collected by `finish`; a failure nobody asks about must not surface as an unhandled rejection.
    done.catch(() => undefined);
    this.attempts.set(id, { done, cancel: () => controller.abort() });
    const url = await Promise.race([address, done.then(() => '')]);
    return { attempt: id, url };
  }

  /** Waits for the person's answer in the browser; resolves to the stored refresh token's reference. */
  async finish(attempt: string): Promise<{ ref: string }> {
    const a = this.attempts.get(attempt);
    if (!a)
      throw new FerryError('not-found', 'unknown-attempt', 'this Dropbox connection attempt is over', {
        hint: 'click "Connect to Dropbox" again',
      });
    return { ref: await a.done };
  }

  /** Stops every attempt still waiting (the engine is closing). */
  close(): void {
    for (const a of this.attempts.values()) a.cancel();
    this.attempts.clear();
  }
}
