import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** What the daemon answers when a request cannot be served as asked; the status goes with it. */
export class RequestRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request's path, from the request-target however it is written: origin-form (`/a/b`, also
 * `//[x`, which `new URL(x, base)` would read as an authority), or absolute-form (`http://h/p`).
 * Anything unparsable is refused, never thrown past the handler.
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
  } catch {
    throw new RequestRefused(400, 'bad-request', 'the request target is not a valid URL');
  }
}

/** `decodeURIComponent` that refuses malformed escapes (`%E0%A4%A`) instead of throwing a URIError. */
export function decodePath(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RequestRefused(400, 'bad-request', 'the request path has a malformed percent-escape');
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The host part of a Host header (`[::1]:7717` → `::1`, `Localhost.` → `localhost`), or undefined. */
function hostName(header: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (!m) return undefined;
  return (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
}

/**
 * DNS rebinding: a page of evil.example whose name is made to resolve to 127.0.0.1 reaches the daemon
 * as same-origin, but its requests still say `Host: evil.example`. Only loopback names and the address
 * the daemon is bound to pass; a daemon bound to every interface also takes any IP literal (a literal
 * cannot be rebound).
 */
export function hostAllowed(header: string | undefined, boundHost: string): boolean {
  if (header === undefined) return false;
  const name = hostName(header);
  if (name === undefined) return false;
  if (LOOPBACK_NAMES.has(name)) return true;
  const bound = boundHost.toLowerCase();
  if (name === bound) return true;
  return WILDCARDS.has(bound) && isIP(name) !== 0;
}

export const HOST_REFUSED = (header: string | undefined) =>
  new RequestRefused(
    421,
    'misdirected-request',
    `this daemon answers only to localhost, 127.0.0.1 or [::1] (the request named ${JSON.stringify(header ?? '')})`,
  );

export type BodyLimits = { maxBytes: number; deadlineMs: number };

/**
 * Reads a request body within its limits: too large → 413 (said before the bytes are read when
 * Content-Length tells), too slow → 408. After a refusal the rest is discarded, not reset, so the
 * client reads the answer.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<string> {
  const tooLarge = () =>
    new RequestRefused(
      413,
      'body-too-large',
      `the request body is larger than ${Math.round(limits.maxBytes / (1024 * 1024))} MB, the limit for one request`,
    );
  const declared = Number(req.headers['content-length'] ?? 0);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      finish();
      reject(new RequestRefused(408, 'request-timeout', 'the request body did not arrive in time'));
    }, limits.deadlineMs);
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limits.maxBytes) {
        finish();
        reject(tooLarge());
      } else chunks.push(c);
    };
    const onEnd = () => {
      finish();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      finish();
      reject(err);
    };
    const finish = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
