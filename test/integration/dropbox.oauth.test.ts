import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessTokens,
  authorizeUrl,
  connectDropbox,
  createPkce,
  DROPBOX_REDIRECT_URI,
  exchangeCode,
  startLoopbackListener,
} from '../../src/main/engine/providers/dropbox/oauth';
import { Transport } from '../../src/main/engine/providers/dropbox/dropboxTransport';
import { FerryError } from '../../src/shared/errors';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { emulatedDropbox, registeredRedirectUri } from '../servers/dropboxHarness';

/** The person's browser: opens the consent page, follows Dropbox's redirect to the loopback listener. */
async function browser(url: string): Promise<{ authorize: URL; landing: number; page: string }> {
  const consent = await fetch(url, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const to = consent.headers.get('location') as string;
  const landing = await fetch(to);
  return { authorize: new URL(url), landing: landing.status, page: await landing.text() };
}

describe('Dropbox OAuth 2 with PKCE, against the emulator', () => {
  let emu: DropboxEmulator;
  let transport: Transport;

  beforeAll(async () => {
    emu = await startDropboxEmulator();
    transport = new Transport(emu.url);
  });
  afterAll(async () => {
    transport.close();
    await emu.close();
  });

  it('makes a verifier of 43 unreserved characters and its S256 challenge', async () => {
    const { verifier, challenge } = createPkce();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const digest = Buffer.from(await webcrypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    expect(challenge).toBe(digest.toString('base64url'));
    expect(createPkce().verifier).not.toBe(verifier);
  });

  it('connects: consent page, redirect to the registered loopback URI answered with a page, code exchanged for a refresh token that works', async () => {
    let seen: Awaited<ReturnType<typeof browser>> | undefined;
    const redirectUri = await registeredRedirectUri(emu);
    const { refreshToken } = await connectDropbox({
      appKey: emu.appKey,
      fetch: transport.fetch(),
      authorizeBase: emu.url,
      redirectUri,
      openBrowser: async (url) => {
        seen = await browser(url);
      },
    });
    const q = seen?.authorize.searchParams;
    expect(q?.get('client_id')).toBe(emu.appKey);
    expect(q?.get('response_type')).toBe('code');
    expect(q?.get('token_access_type')).toBe('offline');
    expect(q?.get('code_challenge_method')).toBe('S256');
    expect(q?.get('redirect_uri')).toBe(redirectUri);
    expect(q?.get('state')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(seen?.landing).toBe(200);
    expect(seen?.page).toMatch(/Dropbox is connected/);
    expect(emu.stats.codeExchanges).toBe(1);
    const { dest } = emulatedDropbox(emu, { refreshToken });
    await expect(dest.check()).resolves.toBeUndefined();
    await dest.close();
  });

  it('the code is refused without the right verifier, and is good only once', async () => {
    const pkce = createPkce();
    const listener = await startLoopbackListener('s1', 60_000, await registeredRedirectUri(emu));
    try {
      const url = authorizeUrl({
        appKey: emu.appKey,
        redirectUri: listener.redirectUri,
        challenge: pkce.challenge,
        state: 's1',
        base: emu.url,
      });
      await browser(url);
      const code = await listener.code;
      const wrong = await exchangeCode(transport.fetch(), {
        appKey: emu.appKey,
        code,
        verifier: createPkce().verifier,
        redirectUri: listener.redirectUri,
      }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(FerryError);
      expect((wrong as FerryError).message).toMatch(/invalid_grant/);
      // The failed attempt used the code up, as Dropbox does.
      const again = await exchangeCode(transport.fetch(), {
        appKey: emu.appKey,
        code,
        verifier: pkce.verifier,
        redirectUri: listener.redirectUri,
      }).catch((e: unknown) => e);
      expect((again as FerryError).code).toBe('auth-failed');
    } finally {
      await listener.close();
    }
  });

  it('the listener ignores an answer with another state, and reports a refusal of consent', async () => {
    const listener = await startLoopbackListener('expected-state', 60_000, await registeredRedirectUri(emu));
    const stray = await fetch(`${listener.redirectUri}?code=x&state=forged`);
    expect(stray.status).toBe(400);
    emu.denyConsent = true;
    try {
      const pkce = createPkce();
      await browser(
        authorizeUrl({
          appKey: emu.appKey,
          redirectUri: listener.redirectUri,
          challenge: pkce.challenge,
          state: 'expected-state',
          base: emu.url,
        }),
      );
      const err = await listener.code.catch((e: unknown) => e);
      expect((err as FerryError).kind).toBe('auth');
      expect((err as FerryError).message).toMatch(/access_denied/);
    } finally {
      emu.denyConsent = false;
      await listener.close();
    }
  });

  it('uses the fixed redirect URI registered for the app (Dropbox accepts registered URIs only), asking for offline access', async () => {
    expect(DROPBOX_REDIRECT_URI).toMatch(/^http:\/\/localhost:\d+\/callback$/);
    const url = new URL(
      authorizeUrl({ appKey: 'k', redirectUri: DROPBOX_REDIRECT_URI, challenge: createPkce().challenge, state: 's' }),
    );
    expect(url.searchParams.get('redirect_uri')).toBe(DROPBOX_REDIRECT_URI);
    expect(url.searchParams.get('token_access_type')).toBe('offline');
    // A port taken by another program is a clear error naming the URI, not a silent other port.
    const uri = await registeredRedirectUri(emu);
    const first = await startLoopbackListener('a', 60_000, uri);
    try {
      const err = await startLoopbackListener('b', 60_000, uri).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'redirect-port-busy' });
      expect((err as FerryError).message).toContain(uri);
    } finally {
      await first.close();
    }
    const bad = await startLoopbackListener('c', 60_000, 'https://example.com/cb').catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'invalid-redirect-uri' });
  });

  it('access tokens: fetched once for concurrent callers, reused while fresh, refreshed before they expire', async () => {
    const refresh = emu.issueRefreshToken();
    let now = 1_000_000;
    const before = emu.stats.refreshes;
    emu.tokenLifetimeSec = 4 * 3600;
    const tokens = new AccessTokens(
      emu.appKey,
      () => refresh,
      transport.fetch(),
      () => now,
    );
    const [a, b] = await Promise.all([tokens.get(), tokens.get()]);
    expect(a).toBe(b);
    expect(emu.stats.refreshes - before).toBe(1);
    now += 3 * 3600 * 1000;
    expect(await tokens.get()).toBe(a);
    now += 3600 * 1000 - 30_000; // within the last minute of its life: a new one
    const c = await tokens.get();
    expect(c).not.toBe(a);
    expect(emu.stats.refreshes - before).toBe(2);
    tokens.invalidate(c);
    expect(await tokens.get()).not.toBe(c);
    emu.revoke(refresh);
    tokens.invalidate(await tokens.get());
    const revoked = await tokens.get().catch((e: unknown) => e);
    expect(revoked).toMatchObject({ kind: 'auth', code: 'auth-failed' });
    expect((revoked as FerryError).hint).toMatch(/reconnect Dropbox/);
  });
});
