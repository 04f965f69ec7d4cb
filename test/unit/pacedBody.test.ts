import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { Transport } from '../../src/main/engine/providers/dropbox/dropboxTransport';
import { PACE_SLICE, pacedSlices, sendPaced } from '../../src/main/engine/providers/kit/pacedBody';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A server that reads each request body whole and answers 200 with how many bytes it got. */
async function receiver(seen: { headers?: IncomingHttpHeaders; bytes?: Buffer }): Promise<string> {
  server = createServer((req, res) => {
    seen.headers = req.headers;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.bytes = Buffer.concat(parts);
      res.end(String(seen.bytes.length));
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('paced request bodies', () => {
  it('hands over the very bytes given, in slices of at most PACE_SLICE, each booked before it goes', async () => {
    const buf = randomBytes(5 * PACE_SLICE + 123);
    const booked: number[] = [];
    const out: Buffer[] = [];
    for await (const s of pacedSlices(buf, async (n) => void booked.push(n))) {
      // Each slice goes only after its own booking.
      expect(booked.length).toBe(out.length + 1);
      expect(s.length).toBe(booked.at(-1));
      out.push(s);
    }
    expect(Buffer.concat(out).equals(buf)).toBe(true);
    expect(Math.max(...booked)).toBeLessThanOrEqual(PACE_SLICE);
  });

  it('sends a paced Dropbox body with its Content-Length (not chunked), byte for byte', async () => {
    const seen: { headers?: IncomingHttpHeaders; bytes?: Buffer } = {};
    const url = await receiver(seen);
    const buf = randomBytes(8 * PACE_SLICE + 7);
    let booked = 0;
    const fetch = (signal: AbortSignal, body: () => unknown) =>
      new Transport(url).fetch(signal)('https://content.dropboxapi.com/2/files/upload', {
        method: 'POST',
        body: body() as never,
      });
    const res = await sendPaced(
      buf,
      async (n) => void (booked += n),
      new AbortController().signal,
      (body, signal) => fetch(signal, body),
    );
    expect(res.status).toBe(200);
    expect(seen.headers?.['content-length']).toBe(String(buf.length));
    expect(seen.headers?.['transfer-encoding']).toBeUndefined();
    expect(seen.bytes?.equals(buf)).toBe(true);
    expect(booked).toBe(buf.length);
  });

  it("ends the request when the pace refuses mid-body (a pause), and throws the pace's own error", async () => {
    const seen: { headers?: IncomingHttpHeaders; bytes?: Buffer } = {};
    const url = await receiver(seen);
    const buf = randomBytes(8 * PACE_SLICE);
    let calls = 0;
    const paused = new FerryError('cancelled', 'paused', 'the folder was paused');
    const pace = async () => {
      if (++calls === 3) throw paused;
    };
    const sent = sendPaced(buf, pace, new AbortController().signal, (body, signal) =>
      new Transport(url).fetch(signal)('https://content.dropboxapi.com/2/files/upload', {
        method: 'POST',
        body: body() as never,
      }),
    );
    await expect(sent).rejects.toBe(paused);
    expect(seen.bytes).toBeUndefined();
  });
});
