import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP-level fault proxy for protocols that are not HTTP (SSH, FTP control connections): it forwards
 * bytes between a client and a server on 127.0.0.1 and, as the test's schedule says, resets a
 * connection mid-stream (a TCP RST) or stalls it (nothing forwarded either way, then closed). It
 * counts the bytes it forwards from clients to the server, so a test can prove that a rename sent no
 * file content again, or that a resumed upload sent less.
 */
export type TcpFault = 'reset' | 'stall';

/**
 * What a schedule sees each time a client sends data: the connection (n from 1), the byte counts, and
 * the bytes themselves (a plain-text protocol's command, such as FTP's STOR).
 */
export type TcpFaultPoint = { conn: number; connBytesUp: number; totalBytesUp: number; chunk: Buffer };

export type TcpFaultOptions = {
  faults?: (p: TcpFaultPoint) => TcpFault | undefined;
  /** How long a stalled connection is held (nothing forwarded) before it is closed (default 60 s). */
  stallMs?: number;
};

export type TcpFaultProxy = {
  host: string;
  port: number;
  stats: { connections: number; bytesUp: number; bytesDown: number; resets: number; stalls: number };
  setFaults: (f: TcpFaultOptions['faults']) => void;
  close: () => Promise<void>;
};

/** A schedule: `fault` each time another `everyBytes` client→server bytes have passed, at most `times` times. */
export function everyBytes(
  everyBytes: number,
  fault: TcpFault | (() => TcpFault),
  times = Infinity,
): TcpFaultOptions['faults'] {
  let next = everyBytes;
  let done = 0;
  return (p) => {
    if (done >= times || p.totalBytesUp < next) return undefined;
    done++;
    next = p.totalBytesUp + everyBytes;
    return typeof fault === 'function' ? fault() : fault;
  };
}

export async function startTcpFaultProxy(
  target: { host: string; port: number },
  opts: TcpFaultOptions = {},
): Promise<TcpFaultProxy> {
  let faults = opts.faults;
  const stats: TcpFaultProxy['stats'] = { connections: 0, bytesUp: 0, bytesDown: 0, resets: 0, stalls: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((client) => {
    const n = ++stats.connections;
    let connBytesUp = 0;
    let stalled = false;
    const upstream = connect({ host: target.host, port: target.port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const resetBoth = () => {
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      if (stalled) return;
      const fault = faults?.({
        conn: n,
        connBytesUp: connBytesUp + d.length,
        totalBytesUp: stats.bytesUp + d.length,
        chunk: d,
      });
      if (fault === 'reset') {
        stats.resets++;
        // Half the chunk goes through, as when a network fails in the middle of a write.
        const half = d.subarray(0, Math.floor(d.length / 2));
        stats.bytesUp += half.length;
        upstream.write(half, () => resetBoth());
        return;
      }
      if (fault === 'stall') {
        stats.stalls++;
        stalled = true;
        const t = setTimeout(() => {
          timers.delete(t);
          resetBoth();
        }, opts.stallMs ?? 60_000);
        timers.add(t);
        return;
      }
      connBytesUp += d.length;
      stats.bytesUp += d.length;
      if (!upstream.write(d)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (d: Buffer) => {
      if (stalled) return;
      stats.bytesDown += d.length;
      if (!client.write(d)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    stats,
    setFaults: (f) => (faults = f),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
