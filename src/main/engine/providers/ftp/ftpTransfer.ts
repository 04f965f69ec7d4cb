import { Readable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { Client } from 'basic-ftp';

/** A data-socket error's message as basic-ftp words it (it appends where the error happened). */
const DATA_SOCKET_ERROR = /\(data socket\)$/;

/**
 * STOR of `body` to `remotePath`, with two corrections to how basic-ftp drives the data connection:
 *
 * - The body starts (and, when it is empty, ends) only once the data connection's TLS handshake is
 *   done. basic-ftp takes a cipher as proof of a finished handshake, but with TLS 1.3 the cipher is
 *   known from the ServerHello on: an empty body then closed the socket mid-handshake, and vsftpd
 *   answered "SSL_accept failed: unexpected eof" (and dropped the control connection with it).
 * - Once every byte of the body has been handed over and the close sent, the outcome is the server's
 *   reply on the control connection, not the data socket's fate: ProFTPD answers an early close_notify
 *   with a "decode error" alert, yet stores the file and replies 226. A reply of failure still fails
 *   the upload, and the caller checks SIZE (and the hash where offered) afterwards.
 * - Before that point, a data-socket error waits a moment before closing the connection, so that a
 *   reply already received decides: a server refusing the rest of an upload (a full quota: "552 …")
 *   replies and resets the data connection at once, and read first, the reset looks like a network drop.
 */
export async function uploadThrough(
  c: Client,
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
  remotePath: string,
): Promise<void> {
  const ctx = c.ftp as unknown as { closeWithError: (err: Error) => void };
  const original = ctx.closeWithError.bind(ctx);
  let sent = false;
  ctx.closeWithError = (err: Error) => {
    if (!DATA_SOCKET_ERROR.test(err.message)) original(err);
    else if (!sent) setTimeout(() => original(err), 100);
  };
  async function* gated(): AsyncGenerator<Buffer> {
    // Runs when the server said 150/125: the data socket is the one this transfer uses.
    const socket = c.ftp.dataSocket;
    socket?.once('finish', () => (sent = true));
    if (socket instanceof TLSSocket) await handshakeDone(socket);
    yield* body;
  }
  try {
    await c.uploadFrom(Readable.from(gated()), remotePath);
  } finally {
    ctx.closeWithError = original;
  }
}

/** Resolves when our side of the TLS handshake is complete (or the socket closed first: the transfer then fails on its own). */
function handshakeDone(socket: TLSSocket): Promise<void> {
  if (socket.getFinished() !== undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off('secureConnect', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('secureConnect', done);
    socket.once('close', done);
  });
}
