import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FerryApi } from '../../src/shared/contract';
import type { TransferRef } from '../../src/shared/events';
import { EventBus } from '../../src/main/engine/events';
import { startServer, type RunningServer, type ServerLimits } from '../../src/main/server/httpServer';
import { rawExchange, statusOf } from '../helpers/daemon';

let server: RunningServer | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server?.close();
  server = undefined;
});

async function serve(events = new EventBus(), limits: Partial<ServerLimits> = {}) {
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    token: 'tok',
    api: {} as FerryApi,
    events,
    log: () => undefined,
    limits,
  });
  return { events, url: server.url, port: Number(new URL(server.url).port) };
}

type Received = { messages: { event: string; payload: { jobId?: number; bytes?: number } }[]; bytes: number };

async function subscribe(url: string): Promise<Received> {
  const sock = new WebSocket(`${url.replace('http', 'ws')}/api/events?token=tok`);
  sockets.push(sock);
  await new Promise((r) => sock.once('open', r));
  const got: Received = { messages: [], bytes: 0 };
  sock.on('message', (m: Buffer) => {
    got.bytes += m.length;
    got.messages.push(JSON.parse(m.toString()) as Received['messages'][number]);
  });
  return got;
}

const ref = (jobId: number): TransferRef => ({
  jobId,
  kind: 'upload',
  rule: 'r',
  destination: 'nas',
  folder: 'work',
  path: `f${jobId}.bin`,
  remotePath: `f${jobId}.bin`,
  size: 1000,
});

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the daemon's HTTP face", () => {
  it('closes 20 requests whose bodies or headers trickle in, answering 408', async () => {
    const { port } = await serve(undefined, { deadlineMs: 300, requestTimeoutMs: 2000, headersTimeoutMs: 500 });
    const slowBody = `POST /api/status:get HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\nContent-Length: 1000\r\n\r\n{"a":`;
    const slowHeaders = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `;
    // Left alone they would stay open for good; 20 s is only this test's own limit on waiting.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => rawExchange(port, i % 2 ? slowBody : slowHeaders, 20_000)),
    );
    expect(answers.map(statusOf)).toEqual(Array.from({ length: 20 }, () => 408));
  });

  it('coalesces progress per subscriber: 50 windows get the latest state of each transfer, not every tick', async () => {
    const { events, url } = await serve();
    const subscribers = await Promise.all(Array.from({ length: 50 }, () => subscribe(url)));
    const jobs = 10;
    const ticks = 1000;
    for (let j = 1; j <= jobs; j++) {
      for (let b = 1; b <= ticks; b++) events.emit('transfer:progress', { ...ref(j), bytes: b, total: ticks, rate: 1 });
      events.emit('transfer:done', { ...ref(j), bytes: ticks, durationMs: 1, outcome: 'done', note: null });
    }
    await until(() => subscribers.every((s) => s.messages.filter((m) => m.event === 'transfer:done').length === jobs));
    for (const s of subscribers) {
      // Each transfer: its latest progress, then its completion, in that order.
      expect(s.messages.map((m) => `${m.event} ${m.payload.jobId}`)).toEqual(
        Array.from({ length: jobs }, (_, i) => [`transfer:progress ${i + 1}`, `transfer:done ${i + 1}`]).flat(),
      );
      expect(s.messages.filter((m) => m.event === 'transfer:progress').map((m) => m.payload.bytes)).toEqual(
        Array.from({ length: jobs }, () => ticks),
      );
    }
    const total = subscribers.reduce((n, s) => n + s.messages.length, 0);
    const bytes = subscribers.reduce((n, s) => n + s.bytes, 0);
    expect(total).toBe(50 * 2 * jobs);
    expect(bytes).toBeLessThan(50 * 2 * jobs * 400);
  });
});
