import { afterAll, describe, expect, it } from 'vitest';
import { answers, rawExchange, startDaemon, statusOf, stopDaemon, type Daemon } from '../helpers/daemon';
import { workspace } from '../helpers/workspace';

/**
 * Malformed and hostile requests thrown at a running daemon: request lines, headers, URLs, bodies and
 * WebSocket frames, generated from a seed (FERRY_FUZZ_SEED reproduces a run; a failure names the seed
 * and the case). Bounded by count and time; everything stays on 127.0.0.1. Requests that need the token
 * only name requests that stay on this machine (no draft destination, no config change).
 */
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FERRY_FUZZ_CASES ?? 400);
const BUDGET_MS = 60_000;

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof prng>;

const SAFE_REQUESTS = [
  'status:get',
  'queue:list',
  'history:query',
  'activity:aggregate',
  'rules:preview',
  'config:get',
  'app:info',
  'folder:ignorePreview',
  'no:such',
  '%E0',
  '%',
  '%00',
  '..%2F..%2Fetc',
];

function target(r: Rng, token: string): string {
  return r.pick([
    () => '/',
    () => '//[x',
    () => '/%E0%A4%A',
    () => 'http://[::1',
    () => 'http://a:99999/',
    () => '*',
    () => `/api/${r.pick(SAFE_REQUESTS)}`,
    () => `/api/events?token=${r.pick([token, '', '%E0', token.slice(1)])}`,
    () => `/${'a/'.repeat(r.int(3000))}`,
    () => `/%${r.bytes(2).toString('hex').slice(0, r.int(3))}`,
    () => `/${encodeURIComponent(r.bytes(r.int(40)).toString('latin1'))}`,
    () => `/../../etc/passwd`,
    () => `/%2e%2e/%2e%2e/etc/passwd`,
    () => `http://127.0.0.1/api/${r.pick(SAFE_REQUESTS)}`,
    () => `/api/${r.bytes(r.int(20)).toString('latin1')}`,
    () => r.bytes(r.int(30)).toString('latin1'),
  ])();
}

function body(r: Rng): string {
  return r.pick([
    () => '',
    () => '{}',
    () => '{"limit":"lots"}',
    () => `{"search":${JSON.stringify(r.bytes(r.int(50)).toString('latin1'))}}`,
    () => `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    () => `{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}`,
    () => r.bytes(r.int(2000)).toString('latin1'),
    () => `{"a":${'1'.repeat(r.int(400))}e99999}`,
    () => '\uFEFF{}',
  ])();
}

function headers(r: Rng, d: Daemon, len: number): string[] {
  const h: string[] = [];
  const host = r.pick([
    `127.0.0.1:${d.port}`,
    `localhost:${d.port}`,
    `[::1]:${d.port}`,
    'evil.example',
    '',
    '[::1',
    `a:${'9'.repeat(30)}`,
    r.bytes(10).toString('latin1'),
  ]);
  if (r.next() < 0.9) h.push(`Host: ${host}`);
  if (r.next() < 0.15) h.push(`Host: ${host}`);
  if (r.next() < 0.6)
    h.push(`Authorization: ${r.pick([`Bearer ${d.token}`, 'Bearer', 'Basic Zm9v', `Bearer ${d.token}x`])}`);
  if (r.next() < 0.3) h.push(`Origin: ${r.pick([d.url, 'http://evil.example', 'null', '%'])}`);
  const cl = r.next() < 0.8 ? String(len) : r.pick(['-1', '99999999999999999999', 'abc', `${len}, ${len + 1}`, '0']);
  if (r.next() < 0.15) h.push('Transfer-Encoding: chunked');
  else if (r.next() < 0.9) h.push(`Content-Length: ${cl}`);
  if (r.next() < 0.1) h.push(`X-Long: ${'x'.repeat(r.int(100_000))}`);
  if (r.next() < 0.1) h.push(`${r.bytes(8).toString('latin1')}: ${r.bytes(8).toString('latin1')}`);
  if (r.next() < 0.1) h.push(`Expect: 100-continue`);
  if (r.next() < 0.8) h.push('Connection: close');
  return h;
}

/** One WebSocket frame from a client, often broken: bad opcodes, unmasked, oversized, torn. */
function frame(r: Rng): Buffer {
  const payload = r.bytes(r.pick([0, 5, 125, 126, 300, 70_000]));
  const fin = r.next() < 0.8 ? 0x80 : 0;
  const rsv = r.next() < 0.1 ? 0x70 : 0;
  const opcode = r.pick([0x0, 0x1, 0x2, 0x8, 0x9, 0xa, 0x3, 0xb, 0xf]);
  const masked = r.next() < 0.85;
  const lenBytes =
    payload.length < 126
      ? Buffer.from([payload.length])
      : payload.length < 65536
        ? Buffer.from([126, payload.length >> 8, payload.length & 255])
        : Buffer.concat([
            Buffer.from([127]),
            Buffer.from(new BigUint64Array([BigInt(payload.length)]).buffer).reverse(),
          ]);
  lenBytes[0] = (lenBytes[0] as number) | (masked ? 0x80 : 0);
  const mask = masked ? r.bytes(4) : Buffer.alloc(0);
  const out = Buffer.concat([Buffer.from([fin | rsv | opcode]), lenBytes, mask, payload]);
  return r.next() < 0.2 ? out.subarray(0, r.int(out.length)) : out;
}

function request(r: Rng, d: Daemon): Buffer {
  const kind = r.int(10);
  if (kind < 2) return r.bytes(r.int(500)); // not HTTP at all
  if (kind < 4) {
    const upgrade = [
      `GET ${r.next() < 0.8 ? `/api/events?token=${d.token}` : target(r, d.token)} HTTP/1.1`,
      `Host: ${r.pick([`127.0.0.1:${d.port}`, 'evil.example'])}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      `Sec-WebSocket-Version: ${r.pick(['13', '8', 'x'])}`,
      `Sec-WebSocket-Key: ${r.pick(['dGhlIHNhbXBsZSBub25jZQ==', '', '%%%'])}`,
      '',
      '',
    ].join('\r\n');
    return Buffer.concat([Buffer.from(upgrade, 'latin1'), ...Array.from({ length: 1 + r.int(4) }, () => frame(r))]);
  }
  if (kind < 5) {
    // A well-formed call among the broken ones: the daemon serves while it refuses.
    const name = r.pick(['status:get', 'queue:list', 'history:query', 'app:info']);
    return Buffer.from(
      `POST /api/${name} HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\nAuthorization: Bearer ${d.token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
  }
  // Mostly well-formed HTTP, so that the cases reach the handlers and not only Node's parser.
  const wellFormed = r.next() < 0.7;
  const method = wellFormed
    ? r.pick(['GET', 'POST', 'POST'])
    : r.pick(['PUT', 'HEAD', 'OPTIONS', 'BREW', 'G\x00T', '']);
  const version = wellFormed ? 'HTTP/1.1' : r.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', '']);
  const b = body(r);
  const blen = Buffer.byteLength(b, 'latin1');
  const head = [`${method} ${target(r, d.token)} ${version}`, ...headers(r, d, blen), '', ''].join('\r\n');
  const isChunked = head.includes('Transfer-Encoding: chunked');
  const payload = isChunked
    ? r.pick([`${blen.toString(16)}\r\n${b}\r\n0\r\n\r\n`, `zz\r\n${b}`, `${blen.toString(16)}\r\n${b}`])
    : b;
  return Buffer.from(head + payload, 'latin1');
}

describe('the daemon under fuzzed requests', () => {
  const w = workspace();
  let daemon: Daemon | undefined;
  afterAll(async () => {
    await stopDaemon(daemon);
    w.cleanup();
  });

  it(`withstands ${CASES} malformed request lines, headers, URLs, bodies and WebSocket frames and still answers after (seed ${SEED})`, async () => {
    const d = (daemon = await startDaemon(w));
    const r = prng(SEED);
    const cases = Array.from({ length: CASES }, () => request(r, d));
    const started = Date.now();
    const statuses = new Map<number, number>();
    const tally = () => JSON.stringify([...statuses]);
    let sent = 0;
    for (let i = 0; i < cases.length && Date.now() - started < BUDGET_MS; i += 8) {
      const batch = cases.slice(i, i + 8);
      const answered = await Promise.all(batch.map((c) => rawExchange(d.port, c, 1500)));
      for (const a of answered) statuses.set(statusOf(a), (statuses.get(statusOf(a)) ?? 0) + 1);
      sent += batch.length;
      expect(
        d.child.exitCode === null && d.child.signalCode === null,
        `the daemon ended during cases ${i}–${i + batch.length - 1} (FERRY_FUZZ_SEED=${SEED}): ${d.stderr()}`,
      ).toBe(true);
    }
    expect(sent).toBeGreaterThan(Math.min(CASES, 50));
    expect(await answers(d), `the daemon does not answer after the fuzz (FERRY_FUZZ_SEED=${SEED})`).toBe(true);
    // It never answered with a server error: whatever it could not serve, it refused.
    expect(statuses.get(500) ?? 0, `500s (FERRY_FUZZ_SEED=${SEED}): ${tally()}`).toBe(0);
    // The cases reached the API and the WebSocket, not only the parser.
    expect(statuses.get(200) ?? 0, `answers by status: ${tally()}`).toBeGreaterThan(0);
    expect(statuses.get(101) ?? 0, `answers by status: ${tally()}`).toBeGreaterThan(0);
  });
});
