import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { FerryError } from '../../../../shared/errors';
import { parseRetryAfter } from '../kit/retryAfter';
import { networkError, type FetchLike } from './dropboxTransport';

/**
 * OAuth 2 for a desktop app, as Dropbox documents it (https://developers.dropbox.com/oauth-guide):
 * the authorization-code flow with PKCE (no app secret ships with Ferry), a loopback redirect,
 * `token_access_type=offline` so that Dropbox hands out a long-lived refresh token, and short-lived
 * access tokens obtained from that refresh token when needed.
 *
 * The redirect URI is fixed, not a random port: "Dropbox checks that the specified redirect_uri
 * parameter in your Authorization URL matches one of the registered values ... You'll need to register
 * the exact redirect URI(s) your app may use in the App Console" (OAuth guide); "even 'localhost' must
 * be listed if it is used for testing. All redirect URIs must be HTTPS except for localhost URIs"
 * (/oauth2/authorize, HTTP API documentation). Ferry listens on the port of the URI registered for its
 * app (DROPBOX_REDIRECT_URI, or the destination's `redirect_uri` for an app of one's own).
 */

/** The redirect URI registered for Ferry's Dropbox app: loopback, plain http (allowed for localhost). */
export const DROPBOX_REDIRECT_URI = 'http://localhost:53682/callback';

export const DROPBOX_AUTHORIZE_URL = 'https://www.dropbox.com/oauth2/authorize';
export const DROPBOX_TOKEN_URL = 'https://api.dropboxapi.com/oauth2/token';

export type Pkce = { verifier: string; challenge: string };

/** A code verifier (43 characters of the unreserved set, from 32 random bytes) and its S256 challenge. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: challengeFor(verifier) };
}

export function challengeFor(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** Where to send the person: Dropbox's consent page (or, with `base`, a gateway's or an emulator's). */
export function authorizeUrl(p: {
  appKey: string;
  redirectUri: string;
  challenge: string;
  state: string;
  base?: string | undefined;
}): string {
  const url = new URL(p.base ? `${p.base.replace(/\/$/, '')}/oauth2/authorize` : DROPBOX_AUTHORIZE_URL);
  url.searchParams.set('client_id', p.appKey);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('token_access_type', 'offline');
  url.searchParams.set('code_challenge', p.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('redirect_uri', p.redirectUri);
  url.searchParams.set('state', p.state);
  return url.toString();
}

export type LoopbackListener = {
  redirectUri: string;
  /** The authorization code, once the browser came back with it (or the refusal, as a FerryError). */
  code: Promise<string>;
  close: () => Promise<void>;
};

const PAGE = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:system-ui,sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body></html>`;

/** The loopback address and port a redirect URI names, or a FerryError saying why Ferry cannot listen there. */
function loopbackOf(redirectUri: string): { host: string; port: number; path: string } {
  let url: URL | undefined;
  try {
    url = new URL(redirectUri);
  } catch {
    // described below
  }
  const host =
    url?.hostname === 'localhost' || url?.hostname === '127.0.0.1'
      ? '127.0.0.1'
      : url?.hostname === '[::1]'
        ? '::1'
        : undefined;
  if (!url || url.protocol !== 'http:' || !host || url.port === '' || url.search !== '' || url.hash !== '')
    throw new FerryError(
      'permanent',
      'invalid-redirect-uri',
      `redirect URI "${redirectUri}" is not a loopback address Ferry can listen on`,
      {
        hint: 'give redirect_uri as http://localhost:PORT/PATH (or 127.0.0.1), exactly as registered for the app in the Dropbox App Console',
      },
    );
  return { host, port: Number(url.port), path: url.pathname };
}

/**
 * Listens on the loopback port of `redirectUri` for Dropbox's redirect. The first request to its path
 * with the expected `state` settles `code` (a mismatched state is answered and ignored); the browser
 * gets a small page saying it can be closed. The listener closes itself once it has the answer, or
 * after `timeoutMs`. A port already taken is a clear error: Dropbox redirects to that URI only.
 */
export async function startLoopbackListener(
  state: string,
  timeoutMs = 5 * 60_000,
  redirectUri = DROPBOX_REDIRECT_URI,
): Promise<LoopbackListener> {
  const where = loopbackOf(redirectUri);
  let settle!: { resolve: (code: string) => void; reject: (err: FerryError) => void };
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  // Nobody may be waiting yet: a refusal must not surface as an unhandled rejection.
  code.catch(() => undefined);
  let done = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== where.path || done) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    if (url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE('Ferry could not connect Dropbox', 'This answer does not belong to the request Ferry made.'));
      return;
    }
    done = true;
    const error = url.searchParams.get('error');
    const got = url.searchParams.get('code');
    res.writeHead(error || !got ? 400 : 200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
    if (error || !got) {
      res.end(PAGE('Dropbox was not connected', 'Access was not granted. You can close this window.'));
      settle.reject(
        new FerryError('auth', 'auth-failed', `Dropbox did not grant access (${error ?? 'no code'})`, {
          hint: 'connect Dropbox again and allow Ferry access',
        }),
      );
    } else {
      res.end(PAGE('Dropbox is connected', 'Ferry can now ship files to your Dropbox. You can close this window.'));
      settle.resolve(got);
    }
    void close();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, resolve);
  }).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FerryError(
      'permanent',
      'redirect-port-busy',
      `cannot listen for Dropbox's answer at ${redirectUri} (${code ?? String(err)})`,
      {
        cause: err,
        hint:
          code === 'EADDRINUSE'
            ? `another program uses port ${where.port}: close it (or another \`ferry connect\` still waiting) and connect again`
            : 'connect again; if it persists, register another loopback redirect URI for the app and set redirect_uri',
      },
    );
  });
  const timer = setTimeout(() => {
    settle.reject(
      new FerryError('auth', 'auth-timeout', 'no answer from Dropbox in time', {
        hint: 'connect Dropbox again and finish the steps in the browser',
      }),
    );
    void close();
  }, timeoutMs);
  timer.unref();
  let closing: Promise<void> | undefined;
  const close = () => {
    clearTimeout(timer);
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { redirectUri, code, close };
}

export type TokenAnswer = {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  account_id?: string;
  scope?: string;
};

async function tokenRequest(
  fetch: FetchLike,
  params: Record<string, string>,
  signal?: AbortSignal,
): Promise<TokenAnswer> {
  let res;
  try {
    res = await fetch(DROPBOX_TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw networkError(err, 'cannot reach Dropbox to sign in');
  }
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: described below by the status
  }
  if (res.ok && typeof body.access_token === 'string') return body as unknown as TokenAnswer;
  if (res.status === 429 || res.status >= 500)
    throw new FerryError('retryable', 'unreachable', `Dropbox's sign-in service answered ${res.status}`, {
      // Without a readable Retry-After (an HTTP date read as a number was NaN), a second.
      ...(res.status === 429 ? { retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) ?? 1000 } : {}),
    });
  const code = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
  const why = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
  // invalid_grant on a refresh: the person revoked Ferry's access (or the token was never valid).
  throw new FerryError('auth', 'auth-failed', `Dropbox refused Ferry's credentials (${code}${why})`, {
    hint:
      code === 'invalid_client'
        ? 'check app_key in the destination: it must be the key of the Dropbox app the token was granted to'
        : 'reconnect Dropbox: its access was revoked or has expired; connect again and update refresh_token',
  });
}

/** The code → refresh token exchange (PKCE: the verifier stands in for an app secret). */
export function exchangeCode(
  fetch: FetchLike,
  p: { appKey: string; code: string; verifier: string; redirectUri: string },
  signal?: AbortSignal,
): Promise<TokenAnswer> {
  return tokenRequest(
    fetch,
    {
      grant_type: 'authorization_code',
      code: p.code,
      client_id: p.appKey,
      code_verifier: p.verifier,
      redirect_uri: p.redirectUri,
    },
    signal,
  );
}

/**
 * The whole connect flow: PKCE codes, a loopback listener, the consent page opened by `openBrowser`,
 * the code exchanged for a refresh token (which the caller stores as a secret; it is never logged).
 */
export async function connectDropbox(p: {
  appKey: string;
  fetch: FetchLike;
  openBrowser: (url: string) => void | Promise<void>;
  /** Where the consent page lives when not at Dropbox (a gateway or an emulator). */
  authorizeBase?: string | undefined;
  /** The redirect URI registered for the app (default: Ferry's, DROPBOX_REDIRECT_URI). */
  redirectUri?: string | undefined;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<{ refreshToken: string; accountId: string | undefined }> {
  const pkce = createPkce();
  const state = randomBytes(16).toString('base64url');
  const listener = await startLoopbackListener(state, p.timeoutMs, p.redirectUri ?? DROPBOX_REDIRECT_URI);
  try {
    await p.openBrowser(
      authorizeUrl({
        appKey: p.appKey,
        redirectUri: listener.redirectUri,
        challenge: pkce.challenge,
        state,
        base: p.authorizeBase,
      }),
    );
    const code = await listener.code;
    const answer = await exchangeCode(
      p.fetch,
      { appKey: p.appKey, code, verifier: pkce.verifier, redirectUri: listener.redirectUri },
      p.signal,
    );
    if (!answer.refresh_token)
      throw new FerryError('auth', 'auth-failed', 'Dropbox gave no refresh token', {
        hint: 'connect again: Ferry asks for offline access (token_access_type=offline)',
      });
    return { refreshToken: answer.refresh_token, accountId: answer.account_id };
  } finally {
    await listener.close();
  }
}

/** Refresh this long before the access token's end, so that a request never starts with a dying token. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * Short-lived access tokens from a refresh token: fetched when first needed, reused until shortly
 * before they expire, fetched again after Dropbox said one expired. Concurrent callers share one
 * refresh. A revoked refresh token is a FerryError kind 'auth', code 'auth-failed' ("reconnect").
 */
export class AccessTokens {
  private current: { token: string; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly appKey: string,
    private readonly refreshToken: () => string,
    private readonly fetch: FetchLike,
    private readonly now: () => number = Date.now,
  ) {}

  /** `signal` only stops waiting: the refresh itself is shared, and runs to its end (or its timeout). */
  async get(signal?: AbortSignal): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) return this.current.token;
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    if (!signal) return this.pending;
    signal.throwIfAborted();
    return Promise.race([
      this.pending,
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
  }

  /** Dropbox said this token expired (or is no longer valid): the next `get` fetches another. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private async refresh(): Promise<string> {
    const answer = await tokenRequest(this.fetch, {
      grant_type: 'refresh_token',
      refresh_token: this.refreshToken(),
      client_id: this.appKey,
    });
    const lifetime = answer.expires_in * 1000;
    this.current = {
      token: answer.access_token,
      refreshAt: this.now() + lifetime - Math.min(EXPIRY_MARGIN_MS, lifetime / 4),
    };
    return answer.access_token;
  }
}
