import { Client, type ClientChannel, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';
import { FerryError } from '../../../../shared/errors';
import { fingerprint, hostKeyMatches, hostKeyMismatch, hostKeyUnknown } from './hostKey';
import { isConnectionError } from './sftpErrors';

export type SessionOptions = {
  /** The destination's id, for messages. */
  id: string;
  host: string;
  port: number;
  username: string;
  /** Resolved when a connection is made (secrets are read at the moment they are needed). */
  credentials: () => { password?: string; privateKey?: string };
  /** Pinned host key fingerprints; empty: every key is refused, with its fingerprint in the message. */
  pinned: readonly string[];
  /** How long a connection may take, and how long a silent connection lives (keepalives). */
  timeoutMs: number;
};

export type ExecResult = { code: number | null; stdout: string; stderr: string };

/** Only for SFTP requests that may be many in flight; everything the server offers goes through here. */
type Internals = { _extensions?: Record<string, string>; _maxWriteLen?: number; _maxReadLen?: number };

/**
 * One SSH connection with its SFTP channel, promisified. Requests are pipelined on the channel: many
 * may be in flight at once. A connection that fails is marked `dead` and never used again; the pool
 * makes a new one for the next request.
 */
export class SftpSession {
  dead = false;
  /** Requests using this session now (the pool gives new work to the least busy one). */
  active = 0;
  readonly extensions: Record<string, string>;
  /** Largest data per WRITE / READ request the server takes (limits@openssh.com, else 32 KB-ish). */
  readonly maxWrite: number;
  readonly maxRead: number;
  private readonly onDead = new Set<() => void>();

  constructor(
    readonly client: Client,
    readonly sftp: SFTPWrapper,
    /** The server's software version (from its SSH banner). */
    readonly software: string,
  ) {
    const internals = sftp as unknown as Internals;
    this.extensions = { ...(internals._extensions ?? {}) };
    this.maxWrite = Math.max(1024, Math.min(internals._maxWriteLen ?? 32_000, 256 * 1024));
    this.maxRead = Math.max(1024, Math.min(internals._maxReadLen ?? 32_000, 256 * 1024));
    const die = () => this.markDead();
    client.on('close', die);
    client.on('end', die);
    client.on('error', die);
    sftp.on('close', die);
  }

  private corked = false;

  /**
   * Gathers the packets written until the end of this tick into as few socket writes as possible
   * (ssh2 writes each packet on its own: a pipelined burst of requests cost a syscall each).
   */
  cork(): void {
    const sock = (this.client as unknown as { _sock?: { cork?: () => void; uncork?: () => void } })._sock;
    if (this.corked || !sock?.cork || !sock.uncork) return;
    this.corked = true;
    sock.cork();
    process.nextTick(() => {
      this.corked = false;
      sock.uncork?.();
    });
  }

  get posixRename(): boolean {
    return this.extensions['posix-rename@openssh.com'] !== undefined;
  }

  whenDead(fn: () => void): () => void {
    this.onDead.add(fn);
    return () => this.onDead.delete(fn);
  }

  markDead(): void {
    if (this.dead) return;
    this.dead = true;
    for (const fn of [...this.onDead]) fn();
    this.onDead.clear();
  }

  destroy(): void {
    this.markDead();
    try {
      this.client.destroy();
    } catch {
      // already gone
    }
  }

  async end(): Promise<void> {
    if (this.dead) return;
    const closed = new Promise<void>((r) => this.client.once('close', () => r()));
    this.client.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 200))]);
    this.destroy();
  }

  /** Runs one SFTP request; a request on a connection that died fails at once (and is retryable). */
  private call<T>(start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.dead)
      return Promise.reject(new FerryError('retryable', 'connection-lost', 'the SFTP connection was closed'));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const forget = this.whenDead(() => {
        if (settled) return;
        settled = true;
        reject(new FerryError('retryable', 'connection-lost', 'the SFTP connection was lost during a request'));
      });
      try {
        start((err, value) => {
          if (settled) return;
          settled = true;
          forget();
          if (err) {
            if (isConnectionError(err)) this.markDead();
            reject(err);
          } else resolve(value as T);
        });
      } catch (err) {
        settled = true;
        forget();
        reject(err as Error);
      }
    });
  }

  stat(path: string): Promise<Stats> {
    return this.call((cb) => this.sftp.stat(path, cb));
  }
  lstat(path: string): Promise<Stats> {
    return this.call((cb) => this.sftp.lstat(path, cb));
  }
  realpath(path: string): Promise<string> {
    return this.call((cb) => this.sftp.realpath(path, cb));
  }
  readdir(path: string): Promise<FileEntryWithStats[]> {
    return this.call((cb) => this.sftp.readdir(path, cb));
  }
  mkdir(path: string): Promise<void> {
    return this.call((cb) => this.sftp.mkdir(path, (err) => cb(err)));
  }
  rmdir(path: string): Promise<void> {
    return this.call((cb) => this.sftp.rmdir(path, (err) => cb(err)));
  }
  unlink(path: string): Promise<void> {
    return this.call((cb) => this.sftp.unlink(path, (err) => cb(err)));
  }
  rename(from: string, to: string): Promise<void> {
    return this.call((cb) => this.sftp.rename(from, to, (err) => cb(err)));
  }
  /** Rename that replaces an existing target atomically (posix-rename@openssh.com). */
  renameOver(from: string, to: string): Promise<void> {
    return this.call((cb) => this.sftp.ext_openssh_rename(from, to, (err) => cb(err)));
  }
  open(path: string, flags: 'r' | 'w' | 'r+'): Promise<Buffer> {
    return this.call((cb) => this.sftp.open(path, flags, cb));
  }
  close(handle: Buffer): Promise<void> {
    return this.call((cb) => this.sftp.close(handle, (err) => cb(err)));
  }
  fstat(handle: Buffer): Promise<Stats> {
    return this.call((cb) => this.sftp.fstat(handle, cb));
  }
  futimes(handle: Buffer, atime: number, mtime: number): Promise<void> {
    return this.call((cb) => this.sftp.futimes(handle, atime, mtime, (err) => cb(err)));
  }
  /** Writes `buf` at `position` in one request (callers keep `buf.length` ≤ `maxWrite`). */
  write(handle: Buffer, buf: Buffer, position: number): Promise<void> {
    return this.call((cb) => this.sftp.write(handle, buf, 0, buf.length, position, (err) => cb(err)));
  }
  /** Reads up to `len` bytes at `position`; fewer at the end of the file. */
  read(handle: Buffer, len: number, position: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(len);
    return this.call<Buffer>((cb) =>
      this.sftp.read(handle, buf, 0, len, position, (err, bytesRead) => {
        // Reading at or past the end is EOF: no bytes, not an error.
        if (err && (err as Error & { code?: number }).code === 1) cb(undefined, buf.subarray(0, 0));
        else cb(err, buf.subarray(0, bytesRead));
      }),
    );
  }
  /** Free space where the server says (statvfs@openssh.com), or undefined. */
  async freeBytes(path: string): Promise<number | undefined> {
    if (this.extensions['statvfs@openssh.com'] === undefined) return undefined;
    try {
      const st = await this.call<{ f_bavail: number; f_frsize: number }>((cb) =>
        this.sftp.ext_openssh_statvfs(path, (err, s) => cb(err, s as { f_bavail: number; f_frsize: number })),
      );
      const free = Number(st.f_bavail) * Number(st.f_frsize);
      return Number.isFinite(free) ? free : undefined;
    } catch {
      return undefined;
    }
  }

  /** Runs a command over exec (stdin closed at once); `code` is null when it did not finish in time. */
  exec(command: string, timeoutMs: number): Promise<ExecResult> {
    if (this.dead) return Promise.resolve({ code: null, stdout: '', stderr: 'connection closed' });
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      let ch: ClientChannel | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      };
      const timer = setTimeout(() => {
        try {
          ch?.close();
        } catch {
          // gone
        }
        code = null;
        finish();
      }, timeoutMs);
      try {
        this.client.exec(command, (err, channel) => {
          if (err) {
            stderr = err.message;
            finish();
            return;
          }
          ch = channel;
          channel.on('data', (d: Buffer) => {
            if (stdout.length < 65_536) stdout += d.toString('utf8');
          });
          channel.stderr.on('data', (d: Buffer) => {
            if (stderr.length < 65_536) stderr += d.toString('utf8');
          });
          channel.on('exit', (c: number | null) => {
            code = typeof c === 'number' ? c : null;
          });
          channel.on('close', finish);
          channel.end();
        });
      } catch (err) {
        stderr = (err as Error).message;
        finish();
      }
    });
  }
}

function where(o: SessionOptions): string {
  return `the SFTP server ${o.host}:${o.port}`;
}

/** Opens one connection: TCP with Nagle off, the host key checked against the pinned ones, the login, SFTP. */
export function openSession(o: SessionOptions, signal?: AbortSignal): Promise<SftpSession> {
  const creds = o.credentials();
  const ctx = { destination: o.id };
  return new Promise((resolve, reject) => {
    const client = new Client();
    let keyProblem: FerryError | undefined;
    let settled = false;
    const fail = (err: FerryError) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.destroy();
      reject(err);
    };
    const onAbort = () =>
      fail(new FerryError('cancelled', 'cancelled', `connecting to ${where(o)} was cancelled`, { context: ctx }));
    signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      if (keyProblem) return fail(keyProblem);
      if (err.level === 'client-authentication')
        return fail(
          new FerryError(
            'auth',
            'auth-failed',
            `destination "${o.id}": ${where(o)} refused the login of user "${o.username}" (${creds.privateKey !== undefined ? 'key' : 'password'})`,
            {
              context: ctx,
              hint: `check the user name and the ${creds.privateKey !== undefined ? 'private key (its public half must be in the server’s authorized_keys)' : 'password'}`,
              cause: err,
            },
          ),
        );
      const timeout = err.level === 'client-timeout';
      fail(
        new FerryError(
          'retryable',
          'unreachable',
          `destination "${o.id}": cannot reach ${where(o)}: ${timeout ? `no SSH answer within ${Math.round(o.timeoutMs / 1000)} s` : err.message}`,
          {
            context: ctx,
            hint: 'check the host and port, and that the SSH server is running and reachable from here',
            cause: err,
          },
        ),
      );
    });
    client.on('close', () => {
      if (!settled)
        fail(
          keyProblem ??
            new FerryError('retryable', 'unreachable', `destination "${o.id}": ${where(o)} closed the connection`, {
              context: ctx,
              hint: 'check the host and port, and that the SSH server is running',
            }),
        );
    });
    client.on('ready', () => {
      client.sftp((err, sftp) => {
        if (err) {
          fail(
            new FerryError(
              'permanent',
              'no-sftp',
              `destination "${o.id}": ${where(o)} offers no SFTP subsystem: ${err.message}`,
              {
                context: ctx,
                hint: 'enable the sftp subsystem on the server (Subsystem sftp internal-sftp)',
                cause: err,
              },
            ),
          );
          return;
        }
        if (settled) {
          client.destroy();
          return;
        }
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        const software = (client as unknown as { _remoteVer?: string })._remoteVer ?? '';
        resolve(new SftpSession(client, sftp, software));
      });
    });
    try {
      client.connect({
        host: o.host,
        port: o.port,
        username: o.username,
        ...(creds.password !== undefined ? { password: creds.password } : {}),
        ...(creds.privateKey !== undefined ? { privateKey: creds.privateKey } : {}),
        readyTimeout: o.timeoutMs,
        // A connection that stops answering (a stalled network) is given up after about timeoutMs.
        keepaliveInterval: Math.max(1000, Math.floor(o.timeoutMs / 3)),
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const seen = fingerprint(key);
          if (o.pinned.length === 0) keyProblem = hostKeyUnknown(o.id, where(o), seen);
          else if (!hostKeyMatches(o.pinned, key)) keyProblem = hostKeyMismatch(o.id, where(o), seen, o.pinned);
          return keyProblem === undefined;
        },
      });
      // Nagle off: SFTP sends many small request packets; with Nagle, a 20 MB put took 40× longer.
      client.setNoDelay(true);
    } catch (err) {
      fail(
        new FerryError(
          'auth',
          'auth-failed',
          `destination "${o.id}": the private key cannot be used: ${(err as Error).message}`,
          {
            context: ctx,
            hint: 'give an unencrypted private key in OpenSSH or PEM format (private_key: file:/path/to/key)',
            cause: err,
          },
        ),
      );
    }
  });
}

/**
 * A small set of connections shared by all requests: each request takes the least busy connection,
 * and a new one is opened while all are busy and there are fewer than `size`. A connection that drops
 * leaves the set; the next request opens another (reconnect on drop).
 */
export class SessionPool {
  private readonly sessions: SftpSession[] = [];
  private opening = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly open: (signal?: AbortSignal) => Promise<SftpSession>,
    readonly size: number,
    private readonly onFirst?: (s: SftpSession) => Promise<void>,
  ) {}

  private first: Promise<void> | undefined;

  get liveCount(): number {
    return this.sessions.filter((s) => !s.dead).length;
  }

  private prune(): void {
    for (let i = this.sessions.length - 1; i >= 0; i--) if (this.sessions[i]?.dead) this.sessions.splice(i, 1);
  }

  async acquire(signal?: AbortSignal): Promise<SftpSession> {
    for (;;) {
      if (this.closed) throw new FerryError('cancelled', 'closed', 'the destination was closed');
      signal?.throwIfAborted();
      this.prune();
      const idle = this.sessions.find((s) => s.active === 0);
      if (idle) return this.take(idle);
      if (this.sessions.length + this.opening < this.size) {
        this.opening++;
        try {
          const s = await this.open(signal);
          if (!this.first && this.onFirst) this.first = this.onFirst(s);
          if (this.first) await this.first;
          if (this.closed) {
            s.destroy();
            continue;
          }
          this.sessions.push(s);
          return this.take(s);
        } finally {
          this.opening--;
          this.wake();
        }
      }
      const least = [...this.sessions].sort((a, b) => a.active - b.active)[0];
      if (least) return this.take(least);
      // Every slot is being opened: wait for one.
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private take(s: SftpSession): SftpSession {
    s.active++;
    return s;
  }

  release(s: SftpSession): void {
    s.active = Math.max(0, s.active - 1);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Runs `fn` on a connection; one that fails as a connection is dropped from the set. */
  async run<T>(fn: (s: SftpSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const s = await this.acquire(signal);
    try {
      return await fn(s);
    } catch (err) {
      if (isConnectionError(err)) s.destroy();
      throw err;
    } finally {
      this.release(s);
    }
  }

  /** Ends every connection now; the pool stays usable (a later request opens a new one). */
  async drain(): Promise<void> {
    const all = this.sessions.splice(0);
    await Promise.all(all.map((s) => s.end()));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    const all = this.sessions.splice(0);
    await Promise.all(all.map((s) => s.end()));
  }
}
