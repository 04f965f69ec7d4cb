import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Client } from 'basic-ftp';
import { FerryError } from '../../../../shared/errors';
import { isConnectionError, isTlsTrustError, replyCode } from './ftpErrors';

export type FtpConnectOptions = {
  id: string;
  host: string;
  port: number;
  user: string;
  password: () => string | undefined;
  tls: 'explicit' | 'implicit' | 'none';
  caFile: string | undefined;
  timeoutMs: number;
};

function where(o: FtpConnectOptions): string {
  return `the FTP server ${o.host}:${o.port}`;
}

/** A server's words for "TLS is required here" when it refuses a plain login. */
const TLS_REQUIRED = /\b(TLS|SSL|encrypt\w*|secure|clear ?text)\b/i;

/**
 * Connects and logs in, one step at a time as basic-ftp's access() does, so that a failure names its
 * step: reaching the server, TLS (not offered, required, not trusted), or the credentials.
 */
export async function openClient(o: FtpConnectOptions, signal?: AbortSignal): Promise<Client> {
  const ctx = { destination: o.id };
  const password = o.password();
  let ca: Buffer | undefined;
  if (o.caFile !== undefined) {
    try {
      ca = readFileSync(o.caFile);
    } catch (err) {
      throw new FerryError('permanent', 'ca-file', `destination "${o.id}": cannot read ca_file ${o.caFile}`, {
        context: ctx,
        hint: 'give the path of a PEM certificate that Ferry may read',
        cause: err,
      });
    }
  }
  // `host` also names the TLS session, so that data connections (to other ports) may resume it.
  const secureOptions = {
    host: o.host,
    ...(ca ? { ca } : {}),
    ...(isIP(o.host) === 0 ? { servername: o.host } : {}),
  };
  const client = new Client(o.timeoutMs);
  const onAbort = () => client.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  let step: 'connect' | 'tls' | 'login' = 'connect';
  try {
    if (o.tls === 'implicit') await client.connectImplicitTLS(o.host, o.port, secureOptions);
    else await client.connect(o.host, o.port);
    if (o.tls === 'explicit') {
      step = 'tls';
      await client.useTLS(secureOptions);
    }
    step = 'login';
    // UTF-8 before the login, for non-ASCII user names and passwords; not every server takes it there.
    await client.sendIgnoringError('OPTS UTF8 ON');
    await client.login(o.user, password);
    await client.useDefaultSettings();
    return client;
  } catch (err) {
    client.close();
    if (signal?.aborted)
      throw new FerryError('cancelled', 'cancelled', `connecting to ${where(o)} was cancelled`, { context: ctx });
    throw connectError(o, step, err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function connectError(o: FtpConnectOptions, step: 'connect' | 'tls' | 'login', err: unknown): FerryError {
  const ctx = { destination: o.id };
  const reply = replyCode(err);
  const msg = (err as Error).message;
  const code = (err as { code?: unknown }).code;
  const mismatch = (what: string, hint: string) =>
    new FerryError('permanent', 'tls-mismatch', `destination "${o.id}": TLS mismatch: ${where(o)} ${what} (${msg})`, {
      context: ctx,
      hint,
      cause: err,
    });
  if (isTlsTrustError(err))
    return new FerryError(
      'auth',
      'tls-untrusted',
      `destination "${o.id}": ${where(o)} presented a TLS certificate that is not trusted (${msg})`,
      {
        context: ctx,
        hint: "give the server's certificate (or its CA's) as ca_file in the destination, or fix the host name",
        cause: err,
      },
    );
  // AUTH TLS refused, whatever the words: vsftpd without TLS answers it "530 Please login with USER and PASS".
  if (step === 'tls' && reply !== undefined)
    return mismatch(
      'does not offer TLS (it refused AUTH TLS)',
      'enable TLS on the server; or set tls: none in the destination if sending the password in clear is acceptable',
    );
  // A TLS handshake that fails on a plain FTP port (implicit TLS, or a server that accepted AUTH TLS but cannot negotiate).
  if (step !== 'login' && o.tls !== 'none' && typeof code === 'string' && /^ERR_SSL_|^EPROTO$/.test(code))
    return mismatch(
      o.tls === 'implicit' ? 'does not speak implicit TLS on this port' : 'could not negotiate TLS',
      o.tls === 'implicit'
        ? 'set tls: explicit (AUTH TLS on the usual port) in the destination, or give the implicit-TLS port (often 990)'
        : 'check the TLS settings of the server',
    );
  if (step === 'login' && reply !== undefined && o.tls === 'none' && (reply === 534 || TLS_REQUIRED.test(msg)))
    return mismatch(
      'requires TLS and refused a plain login',
      'set tls: explicit in the destination (or implicit, if the server listens for it on its own port)',
    );
  if (reply === 530 || reply === 532)
    return new FerryError(
      'auth',
      'auth-failed',
      `destination "${o.id}": ${where(o)} refused the login of user "${o.user}" (${msg})`,
      {
        context: ctx,
        hint: 'check the user name and the password',
        cause: err,
      },
    );
  if (reply !== undefined)
    return new FerryError(
      reply >= 400 && reply < 500 ? 'retryable' : 'permanent',
      'unreachable',
      `destination "${o.id}": ${where(o)} refused the connection (${msg})`,
      {
        context: ctx,
        hint: 'check the host, the port and the tls setting',
        cause: err,
      },
    );
  return new FerryError('retryable', 'unreachable', `destination "${o.id}": cannot reach ${where(o)} (${msg})`, {
    context: ctx,
    hint: 'check the host, the port and the tls setting, and that the FTP server is running and reachable from here',
    cause: err,
  });
}

/**
 * A few logged-in control connections; FTP does one thing at a time on each, so a request has one to
 * itself. A connection that failed (or whose transfer was cut off) is closed and replaced on demand.
 */
export class FtpPool {
  private readonly idle: Client[] = [];
  /** Every connection, busy or idle: close() ends them all, transfers included. */
  private readonly all = new Set<Client>();
  private count = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private first: Promise<void> | undefined;

  constructor(
    private readonly open: (signal?: AbortSignal) => Promise<Client>,
    readonly size: number,
    /** Runs once, on the first connection made (learns what the server offers). */
    private readonly onFirst: (c: Client) => Promise<void>,
    /** Runs on every new connection (per-connection options). */
    private readonly onEach: (c: Client) => Promise<void>,
  ) {}

  private async acquire(signal?: AbortSignal): Promise<Client> {
    for (;;) {
      if (this.closed) throw new FerryError('cancelled', 'closed', 'the destination was closed');
      signal?.throwIfAborted();
      const c = this.idle.pop();
      if (c) {
        if (!c.closed) return c;
        this.all.delete(c);
        this.count--;
        continue;
      }
      if (this.count < this.size) {
        this.count++;
        try {
          const fresh = await this.open(signal);
          this.all.add(fresh);
          if (this.closed) fresh.close();
          this.first ??= this.onFirst(fresh);
          await this.first.catch(() => undefined);
          await this.onEach(fresh);
          return fresh;
        } catch (err) {
          this.count--;
          this.wake();
          throw err;
        }
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private release(c: Client, broken: boolean): void {
    if (broken || c.closed || this.closed) {
      c.close();
      this.all.delete(c);
      this.count--;
    } else this.idle.push(c);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters.shift();
    w?.();
  }

  /**
   * Runs `fn` with a connection to itself. A connection error, or an abort in the middle (a transfer
   * left half done), retires the connection.
   */
  async run<T>(fn: (c: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const c = await this.acquire(signal);
    let broken = false;
    try {
      return await fn(c);
    } catch (err) {
      broken = isConnectionError(err) || c.closed || signal?.aborted === true;
      throw err;
    } finally {
      this.release(c, broken);
    }
  }

  /** Closes every idle connection now (a failed check leaves none open); the pool stays usable. */
  drain(): void {
    for (const c of this.idle.splice(0)) {
      c.close();
      this.all.delete(c);
      this.count--;
    }
  }

  close(): void {
    this.closed = true;
    this.drain();
    for (const c of this.all) c.close();
    for (const w of this.waiters.splice(0)) w();
  }
}
