import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { everyNth, startFaultProxy, type Fault, type FaultProxy, type ProxyRequest } from '../servers/faultProxy';
import {
  s3DestinationYaml,
  s3Snapshot,
  startS3rver,
  startTamperProxy,
  S3RVER_KEY,
  type S3rver,
  type TamperProxy,
} from '../servers/s3rver';

/**
 * The S3 destination through a bad network, via the real CLI: Ferry → fault proxy (resets, bare
 * 503s, 429 with Retry-After) → a tamper proxy that swallows one upload and never answers (a stall
 * that outlasts the client's 30 s idle timeout) → s3rver.
 */
const ENV = { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY };
const N = 1000;

describe('1,000 files through resets, 503s, 429s with Retry-After and a stall', () => {
  let server: S3rver;
  let holder: TamperProxy;
  let proxy: FaultProxy;
  let ws: Workspace;

  beforeAll(async () => {
    server = await startS3rver(['ferry']);
    let holds = 0;
    holder = await startTamperProxy(server.url, {
      hold: (method, url) => method === 'PUT' && url.includes('/d3/') && holds++ === 0,
    });
    const reset = everyNth(23, 'reset');
    const unavailable = everyNth(29, '503');
    // Each 429 holds the whole destination for its Retry-After (the pool's rule): a few suffice.
    const slowDown = everyNth(150, '429');
    const schedule = (r: ProxyRequest): Fault | undefined => {
      if (r.n <= 4) return undefined; // let the connection check and the listing through
      return reset(r) ?? unavailable(r) ?? slowDown(r);
    };
    proxy = await startFaultProxy(holder.url, { faults: schedule, retryAfterSec: 1 });
    ws = workspace({
      rules: [{ mode: 'mirror', to: ['cloud'] }],
      extraDestinations: s3DestinationYaml('cloud', { bucket: 'ferry', endpoint: proxy.url, prefix: 'many' }),
      settings: '  retries: 10',
    });
    for (let i = 0; i < N; i++) {
      const p = join(ws.src, `d${i % 10}`, `f-${i}.txt`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, randomBytes(100 + (i % 50) * 37));
    }
  });
  afterAll(async () => {
    await proxy?.close();
    await holder?.close();
    ws?.cleanup();
    await server?.stop();
  });

  it('delivers every file exactly once, byte-identical, and exits 0', async () => {
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(N);
    expect(r.summary?.stats.failed).toBe(0);
    expect(proxy.stats.faults.reset).toBeGreaterThan(20);
    expect(proxy.stats.faults['503']).toBeGreaterThan(20);
    expect(proxy.stats.faults['429']).toBeGreaterThan(3);
    expect(holder.held).toBe(1);
    // Listed from the server itself: exactly the 1,000 objects (no leftovers, no duplicates), each right.
    const remote = await s3Snapshot(server.client, 'ferry', 'many');
    expect(remote.size).toBe(N);
    expect(remote).toEqual(snapshot(ws.src));
  });
});
