import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type AuthMode = 'auto' | 'basic' | 'digest';

type DigestChallenge = {
  realm: string;
  nonce: string;
  qop: string | undefined;
  opaque: string | undefined;
  algorithm: string;
};

/**
 * Basic and Digest (RFC 7616: MD5, SHA-256 and their -sess forms, qop=auth) authentication for one
 * destination. In `basic` mode the credentials go with every request; in `auto` mode the first request
 * goes without, and the server's challenge decides (Digest when offered, so the password is never sent
 * in clear to a server that can do better); `digest` never sends Basic.
 */
export class DavAuth {
  private scheme: 'basic' | 'digest' | undefined;
  private digest: DigestChallenge | undefined;
  private nc = 0;
  private readonly basicHeader: string;

  constructor(
    private readonly user: string | undefined,
    private readonly password: string | undefined,
    private readonly mode: AuthMode = 'auto',
  ) {
    this.basicHeader = `Basic ${Buffer.from(`${user ?? ''}:${password ?? ''}`).toString('base64')}`;
    if (mode === 'basic' && user !== undefined) this.scheme = 'basic';
  }

  get hasCredentials(): boolean {
    return this.user !== undefined;
  }

  /** Whether requests already carry credentials (a streamed upload should not be the first to learn). */
  get ready(): boolean {
    return !this.hasCredentials || this.scheme !== undefined;
  }

  /** The Authorization header for a request, or undefined while the scheme is not known yet. */
  header(method: string, uri: string): string | undefined {
    if (this.scheme === 'basic') return this.basicHeader;
    if (this.scheme === 'digest' && this.digest) return this.digestHeader(method, uri, this.digest);
    return undefined;
  }

  /**
   * Learns from a 401's challenge. True when sending the request again may now succeed (the first
   * challenge, or a stale nonce); false when the credentials themselves were refused.
   */
  learn(headers: IncomingHttpHeaders, sentAuthorization: boolean): boolean {
    if (!this.hasCredentials) return false;
    const challenges = splitChallenges(headers['www-authenticate']);
    const digest = challenges.find((c) => c.scheme === 'digest');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (digest && this.mode !== 'basic') {
      const p = digest.params;
      const stale = (p.stale ?? '').toLowerCase() === 'true';
      const fresh = this.scheme !== 'digest' || stale || !sentAuthorization;
      this.scheme = 'digest';
      this.digest = {
        realm: p.realm ?? '',
        nonce: p.nonce ?? '',
        qop: pickQop(p.qop),
        opaque: p.opaque,
        algorithm: p.algorithm ?? 'MD5',
      };
      this.nc = 0;
      return fresh;
    }
    if ((basic || challenges.length === 0) && this.mode !== 'digest') {
      const fresh = this.scheme !== 'basic' || !sentAuthorization;
      this.scheme = 'basic';
      return fresh;
    }
    return false;
  }

  private digestHeader(method: string, uri: string, c: DigestChallenge): string {
    const alg = c.algorithm.toUpperCase();
    const h = (s: string) =>
      createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5')
        .update(s)
        .digest('hex');
    const cnonce = randomBytes(8).toString('hex');
    const nc = (++this.nc).toString(16).padStart(8, '0');
    let ha1 = h(`${this.user ?? ''}:${c.realm}:${this.password ?? ''}`);
    if (alg.endsWith('-SESS')) ha1 = h(`${ha1}:${c.nonce}:${cnonce}`);
    const ha2 = h(`${method}:${uri}`);
    const response = c.qop ? h(`${ha1}:${c.nonce}:${nc}:${cnonce}:${c.qop}:${ha2}`) : h(`${ha1}:${c.nonce}:${ha2}`);
    const parts = [
      `username="${quote(this.user ?? '')}"`,
      `realm="${quote(c.realm)}"`,
      `nonce="${quote(c.nonce)}"`,
      `uri="${quote(uri)}"`,
      `algorithm=${c.algorithm}`,
      `response="${response}"`,
    ];
    if (c.qop) parts.push(`qop=${c.qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
    if (c.opaque !== undefined) parts.push(`opaque="${quote(c.opaque)}"`);
    return `Digest ${parts.join(', ')}`;
  }
}

/** The digest `response` value for fixed inputs (RFC 2617 §3.5's example checks it). */
export function digestResponse(a: {
  user: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  algorithm?: string;
}): string {
  const sha = (a.algorithm ?? 'MD5').toUpperCase().startsWith('SHA-256');
  const h = (s: string) =>
    createHash(sha ? 'sha256' : 'md5')
      .update(s)
      .digest('hex');
  let ha1 = h(`${a.user}:${a.realm}:${a.password}`);
  if ((a.algorithm ?? '').toUpperCase().endsWith('-SESS')) ha1 = h(`${ha1}:${a.nonce}:${a.cnonce ?? ''}`);
  const ha2 = h(`${a.method}:${a.uri}`);
  return a.qop ? h(`${ha1}:${a.nonce}:${a.nc}:${a.cnonce}:${a.qop}:${ha2}`) : h(`${ha1}:${a.nonce}:${ha2}`);
}

function quote(s: string): string {
  return s.replace(/["\\]/g, '\\$&');
}

function pickQop(qop: string | undefined): string | undefined {
  if (qop === undefined) return undefined;
  const options = qop.split(',').map((s) => s.trim().toLowerCase());
  return options.includes('auth') ? 'auth' : undefined;
}

export type Challenge = { scheme: string; params: Record<string, string> };

/** Parses WWW-Authenticate (one header or several) into challenges with their parameters. */
export function splitChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  const re = /([A-Za-z][\w-]*)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?\s*,?\s*/gy;
  let current: Challenge | undefined;
  let m: RegExpExecArray | null;
  re.lastIndex = text.length - text.trimStart().length;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    const [, token, rawValue] = m;
    if (token === undefined) break;
    if (rawValue === undefined) {
      // A bare token starts a new challenge (a scheme), unless it is token68 data of the current one.
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
      // Skip a token68 (Basic's realm-less form is rare; Negotiate's blob) up to the next comma.
      const rest = /^[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))/.exec(text.slice(re.lastIndex));
      if (rest && !/=\s*[^=\s,]/.test(rest[0])) re.lastIndex += rest[0].length;
      continue;
    }
    const value = rawValue.startsWith('"') ? rawValue.slice(1, -1).replace(/\\(.)/g, '$1') : rawValue;
    if (current) current.params[token.toLowerCase()] = value;
  }
  return out;
}
