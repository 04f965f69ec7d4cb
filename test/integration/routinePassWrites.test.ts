import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, syncJson } from '../helpers/cli';
import { makeTree } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startFaultProxy, type FaultProxy } from '../servers/faultProxy';
import { s3DestinationYaml, s3Snapshot, startS3rver, S3RVER_KEY, type S3rver } from '../servers/s3rver';

/**
 * A routine pass proves a destination writable by its first real write: a pass with nothing to do
 * writes nothing at all (no probe file whose create and delete touch the folder, no object versions
 * and delete markers on a versioned bucket). Only `ferry check` (and Test connection) write a probe.
 */
let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('a routine pass writes nothing to a destination it has nothing to send', () => {
  it('a no-op `ferry sync --once` leaves the local destination folder untouched (ctime and mtime)', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    makeTree(w.src, { files: 20, seed: 3 });
    expect((await syncJson(w.config, w.state)).code).toBe(0);
    const before = statSync(w.dest, { bigint: true });
    // Enough time for a write to show in any file system's timestamps.
    await new Promise((r) => setTimeout(r, 50));
    const r = await syncJson(w.config, w.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(0);
    const after = statSync(w.dest, { bigint: true });
    expect(after.ctimeNs).toBe(before.ctimeNs);
    expect(after.mtimeNs).toBe(before.mtimeNs);
  });

  it('`ferry check` still proves the folder writable, and leaves nothing behind', async () => {
    const w = (ws = workspace({ rules: [{ mode: 'mirror' }] }));
    const before = statSync(w.dest, { bigint: true });
    await new Promise((r) => setTimeout(r, 50));
    const r = await runFerry(['check', '--config', w.config]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('can be written to');
    // The probe was created and removed: the folder changed, and is empty again.
    expect(statSync(w.dest, { bigint: true }).mtimeNs).not.toBe(before.mtimeNs);
    expect(statSync(w.dest).nlink).toBe(2);
  });
});

describe('a routine pass to S3 (s3rver) sends no PUT or DELETE when nothing changed', () => {
  const ENV = { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY };
  let server: S3rver;
  let proxy: FaultProxy;
  const requests: string[] = [];
  beforeAll(async () => {
    server = await startS3rver(['quiet']);
    proxy = await startFaultProxy(server.url, {
      faults: (q) => {
        requests.push(`${q.method} ${q.url}`);
        return undefined;
      },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('the first pass uploads, the next only reads; `ferry check` writes its probe and removes it', async () => {
    const w = (ws = workspace({
      rules: [{ mode: 'mirror', to: ['cloud'] }],
      extraDestinations: s3DestinationYaml('cloud', { bucket: 'quiet', endpoint: proxy.url, prefix: 'p' }),
    }));
    makeTree(w.src, { files: 10, seed: 5 });
    writeFileSync(join(w.src, 'one.txt'), 'one');
    expect((await syncJson(w.config, w.state, { env: ENV })).code).toBe(0);

    requests.length = 0;
    const r = await syncJson(w.config, w.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(0);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((q) => !q.startsWith('GET ') && !q.startsWith('HEAD '))).toEqual([]);

    requests.length = 0;
    const check = await runFerry(['check', '--config', w.config, 'cloud'], { env: ENV });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(requests.some((q) => q.startsWith('PUT /quiet/p/.ferrytmp-'))).toBe(true);
    expect(requests.some((q) => q.startsWith('DELETE /quiet/p/.ferrytmp-'))).toBe(true);
    const left = await s3Snapshot(server.client, 'quiet', 'p');
    expect([...left.keys()].filter((k) => k.includes('.ferrytmp-'))).toEqual([]);
  });
});
