import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startFaultProxy, type FaultProxy } from '../servers/faultProxy';
import {
  s3DestinationYaml,
  s3Snapshot,
  startS3rver,
  startTamperProxy,
  S3RVER_KEY,
  type S3rver,
} from '../servers/s3rver';

/**
 * The S3 destination end to end: the real `ferry` CLI, s3rver as the server, the fault proxy between
 * them (it counts the body bytes Ferry sends, and injects the failures), keys given as env: references.
 */
const ENV = { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY, FERRY_S3_WRONG: 'NOT-A-KEY' };
const BUCKET = 'ferry';
const s3Destination = (id: string, endpoint: string, prefix: string, over: Record<string, string> = {}) =>
  s3DestinationYaml(id, { bucket: BUCKET, endpoint, prefix, ...over });
const bucketSnapshot = (client: S3Client, prefix: string) => s3Snapshot(client, BUCKET, prefix);

let server: S3rver;
beforeAll(async () => {
  server = await startS3rver([BUCKET]);
});
afterAll(async () => {
  await server?.stop();
});

describe('ferry sync to an S3 bucket (s3rver)', () => {
  let ws: Workspace;
  let proxy: FaultProxy;
  let count: number;
  const requests: string[] = [];

  beforeAll(async () => {
    proxy = await startFaultProxy(server.url, {
      faults: (r) => {
        requests.push(`${r.method} ${r.url}`);
        return undefined;
      },
    });
    ws = workspace({
      rules: [{ mode: 'mirror', to: ['cloud'] }],
      extraDestinations: s3Destination('cloud', proxy.url, 'tree'),
    });
    count = makeTree(ws.src, { files: 1200, seed: 11 }).length;
    mkdirSync(join(ws.src, 'moves'));
    writeFileSync(join(ws.src, 'moves', 'original.bin'), randomBytes(3 * 1024 * 1024));
    count++;
  });
  afterAll(async () => {
    await proxy.close();
    ws.cleanup();
  });

  it('ships the foundation tree (nested, empty, spaces, NFC and NFD names) and every object reads back byte-identical', async () => {
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(count);
    const src = snapshot(ws.src);
    const remote = await bucketSnapshot(server.client, 'tree');
    expect(src.size).toBe(count);
    expect(remote).toEqual(src);
    expect([...remote.keys()].some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...remote.keys()].some((p) => p.includes('café'.normalize('NFC')))).toBe(true);
  });

  it('ships nothing on a second run', async () => {
    const before = proxy.stats.bodyBytes;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(count);
    // Nothing went up: a routine pass writes no probe (see routinePassWrites.test.ts).
    expect(proxy.stats.bodyBytes - before).toBe(0);
  });

  it('turns a local rename into a server-side copy and delete, sending none of the bytes again', async () => {
    renameSync(join(ws.src, 'moves', 'original.bin'), join(ws.src, 'moves', 'renamed.bin'));
    const before = proxy.stats.bodyBytes;
    requests.length = 0;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(1);
    expect(proxy.stats.bodyBytes - before).toBe(0);
    expect(requests.some((q) => q.startsWith('PUT /ferry/tree/moves/renamed.bin'))).toBe(true); // CopyObject
    expect(requests.some((q) => q.startsWith('DELETE /ferry/tree/moves/original.bin'))).toBe(true);
    const remote = await bucketSnapshot(server.client, 'tree');
    expect(remote.has('moves/original.bin')).toBe(false);
    expect(remote.get('moves/renamed.bin')).toBe(snapshot(ws.src).get('moves/renamed.bin'));
  });

  it('sends a 64 MB file as a multipart upload, byte-identical', async () => {
    mkdirSync(join(ws.src, 'big'), { recursive: true });
    writeFileSync(join(ws.src, 'big', 'sixty-four.bin'), randomBytes(64 * 1024 * 1024));
    requests.length = 0;
    const before = proxy.stats.bodyBytes;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(requests.filter((q) => /^PUT \/ferry\/tree\/big\/sixty-four\.bin\?.*partNumber=/.test(q)).length).toBe(8);
    expect(requests.some((q) => /^POST \/ferry\/tree\/big\/sixty-four\.bin\?uploadId=/.test(q))).toBe(true);
    expect(proxy.stats.bodyBytes - before).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    const remote = await bucketSnapshot(server.client, 'tree');
    expect(remote.get('big/sixty-four.bin')).toBe(snapshot(ws.src).get('big/sixty-four.bin'));
  });
});

describe('a 64 MB upload killed mid-way resumes where it stopped', () => {
  let ws: Workspace;
  let proxy: FaultProxy;
  const requests: string[] = [];
  const SIZE = 64 * 1024 * 1024;

  beforeAll(async () => {
    proxy = await startFaultProxy(server.url, {
      faults: (r) => {
        requests.push(`${r.method} ${r.url}`);
        return undefined;
      },
    });
    ws = workspace({
      rules: [{ mode: 'backup', to: ['cloud'] }],
      extraDestinations: s3Destination('cloud', proxy.url, 'resume'),
      // A bandwidth cap makes the upload slow enough to be killed in the middle.
      settings: '  bandwidth: 12000000',
    });
    writeFileSync(join(ws.src, 'video.bin'), randomBytes(SIZE));
  });
  afterAll(async () => {
    await proxy.close();
    ws.cleanup();
  });

  it('is killed (SIGKILL) after 3/4 of the bytes went out; the next run continues the same upload, sending clearly less', async () => {
    const child = spawnFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], { env: ENV });
    let exited = false;
    const done = new Promise<void>((resolve) => child.on('close', () => ((exited = true), resolve())));
    while (!exited && proxy.stats.bodyBytes < 48 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
    expect(exited).toBe(false);
    child.kill('SIGKILL');
    await done;
    // Nothing visible yet: a multipart upload appears only when completed.
    expect((await bucketSnapshot(server.client, 'resume')).size).toBe(0);
    const uploadIds = new Set(requests.flatMap((q) => /[?&]uploadId=([^&]+)/.exec(q)?.[1] ?? []));
    expect(uploadIds.size).toBe(1);

    requests.length = 0;
    const before = proxy.stats.bodyBytes;
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const resent = proxy.stats.bodyBytes - before;
    // At least two of the eight 8 MiB parts were acknowledged before the kill: at most 3/4 goes again.
    expect(resent).toBeLessThan(SIZE - 16 * 1024 * 1024 + 64 * 1024);
    // The same upload was continued: no new one started, its parts and completion use the old id.
    expect(requests.some((q) => /^POST .*\?uploads/.test(q))).toBe(false);
    expect(requests.some((q) => q.startsWith('POST') && q.includes(`uploadId=${[...uploadIds][0]}`))).toBe(true);
    const remote = await bucketSnapshot(server.client, 'resume');
    expect(remote.get('video.bin')).toBe(snapshot(ws.src).get('video.bin'));
  });
});

describe('destinations that cannot work: wrong key, missing bucket, no write permission', () => {
  let ws: Workspace;
  let readOnly: Awaited<ReturnType<typeof startTamperProxy>>;

  beforeAll(async () => {
    // s3rver has no ACLs: "read-only credentials" are played by a proxy answering 403 AccessDenied to writes.
    readOnly = await startTamperProxy(server.url, { denyWrites: true });
    ws = workspace({
      rules: [{ mode: 'backup', to: ['nas', 'cloud', 'badkey', 'nobucket', 'readonly'] }],
      extraDestinations: [
        s3Destination('cloud', server.url, 'good'),
        s3Destination('badkey', server.url, 'x', { access_key_id: 'env:FERRY_S3_WRONG' }),
        s3Destination('nobucket', server.url, 'x', { bucket: 'no-such-bucket' }),
        s3Destination('readonly', readOnly.url, 'x'),
      ].join('\n'),
    });
    writeFileSync(join(ws.src, 'a.txt'), 'alpha');
    writeFileSync(join(ws.src, 'b.txt'), 'beta');
  });
  afterAll(async () => {
    await readOnly.close();
    ws.cleanup();
  });

  it('ferry check names the failing step for each, with what to fix', async () => {
    const r = await runFerry(['check', '--config', ws.config, '--json'], { env: ENV });
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as {
      destination: string;
      ok: boolean;
      step: string;
      message: string;
      hint: string;
    }[];
    const by = new Map(results.map((x) => [x.destination, x]));
    expect(by.get('cloud')?.ok).toBe(true);
    expect(by.get('badkey')).toMatchObject({ ok: false, step: 'auth' });
    expect(by.get('badkey')?.message).toMatch(/badkey.*refused the credentials.*InvalidAccessKeyId/);
    expect(by.get('nobucket')).toMatchObject({ ok: false, step: 'container' });
    expect(by.get('nobucket')?.hint).toMatch(/create the bucket "no-such-bucket"/);
    expect(by.get('readonly')).toMatchObject({ ok: false, step: 'write' });
    expect(by.get('readonly')?.message).toMatch(/may not write objects under x\//);
    const text = await runFerry(['check', '--config', ws.config], { env: ENV });
    expect(text.stdout).toMatch(/✗ badkey: auth failed/);
    expect(text.stdout).toMatch(/✗ nobucket: container failed/);
    expect(text.stdout).toMatch(/✗ readonly: write failed/);
  });

  it('ferry sync fails naming each broken destination, and the others still get their files', async () => {
    const r = await syncJson(ws.config, ws.state, { env: ENV });
    expect(r.code).not.toBe(0);
    const failed = new Map((r.summary?.destinationErrors ?? []).map((d) => [d.destination, d.error.message]));
    expect([...failed.keys()].sort()).toEqual(['badkey', 'nobucket']);
    expect(failed.get('badkey')).toMatch(/destination "badkey"/);
    expect(failed.get('nobucket')).toMatch(/bucket does not exist/);
    // A routine pass writes no probe: a destination that may not be written fails its files, each with why.
    const readonly = (r.summary?.failures ?? []).filter((f) => f.destination === 'readonly');
    expect(readonly.map((f) => f.path).sort()).toEqual(['a.txt', 'b.txt']);
    const human = await runFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], { env: ENV });
    expect(human.code).not.toBe(0);
    expect(human.stdout + human.stderr).toMatch(/✗ destination nobucket: .*bucket does not exist/);
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
    expect(await bucketSnapshot(server.client, 'good')).toEqual(snapshot(ws.src));
  });
});
