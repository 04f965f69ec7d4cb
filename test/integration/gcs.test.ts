import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry, syncJson } from '../helpers/cli';
import { makeTree, sha256, snapshot } from '../helpers/tree';
import { workspace, type RuleSpec, type Workspace } from '../helpers/workspace';
import { startFaultProxy, type Fault, type FaultProxy } from '../servers/faultProxy';
import { startGcsEmulator, type GcsEmulator } from '../servers/gcsEmulator';
import { fakeServiceAccount, type FakeServiceAccount } from '../servers/gcsFixtures';

/**
 * The GCS destination through the real CLI (a child process), against the emulator running in this
 * test process: the CLI's config points `endpoint` at it and gives a service-account key by reference.
 */
let emu: GcsEmulator;
let keys: string;
let writer: FakeServiceAccount;
let reader: FakeServiceAccount;
let stranger: FakeServiceAccount;

beforeAll(async () => {
  keys = mkdtempSync(join(tmpdir(), 'ferry-gcs-keys-'));
  writer = fakeServiceAccount(keys, 'writer');
  reader = fakeServiceAccount(keys, 'reader');
  // A well-formed key the service does not know: wrong credentials.
  stranger = fakeServiceAccount(keys, 'stranger');
  emu = await startGcsEmulator({
    buckets: ['tree', 'big', 'resume', 'faults', 'other'],
    accounts: [
      { email: writer.email, keyId: writer.keyId, publicKeyPem: writer.publicKeyPem, role: 'writer' },
      { email: reader.email, keyId: reader.keyId, publicKeyPem: reader.publicKeyPem, role: 'reader' },
    ],
  });
});
afterAll(async () => {
  await emu.close();
  rmSync(keys, { recursive: true, force: true });
});

function gcsDestination(
  id: string,
  bucket: string,
  opts: { endpoint?: string; key?: FakeServiceAccount } = {},
): string {
  return [
    `  - id: ${id}`,
    '    type: gcs',
    `    bucket: ${bucket}`,
    `    endpoint: ${opts.endpoint ?? emu.url}`,
    `    key_file: ${JSON.stringify(`file:${(opts.key ?? writer).keyFile}`)}`,
  ].join('\n');
}

function gcsWorkspace(
  bucket: string,
  opts: { settings?: string; endpoint?: string; rules?: RuleSpec[] } = {},
): Workspace {
  return workspace({
    rules: opts.rules ?? [{ mode: 'mirror', to: ['gcs'] }],
    extraDestinations: gcsDestination('gcs', bucket, { endpoint: opts.endpoint }),
    ...(opts.settings ? { settings: opts.settings } : {}),
  });
}

/** What the bucket holds, as path → SHA-256, like snapshot() of a folder. */
function bucketSnapshot(bucket: string): Map<string, string> {
  return new Map(emu.objects(bucket).map((o) => [o.name, sha256(o.data)]));
}

describe('gcs: a generated tree through the CLI', () => {
  let ws: Workspace;
  let paths: string[];
  beforeAll(() => {
    ws = gcsWorkspace('tree');
    paths = makeTree(ws.src, { files: 2000, seed: 11 });
  });
  afterAll(() => ws.cleanup());

  it('ships every file byte-identical: nested folders, empty files, spaces, NFC and NFD names', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(paths.length);
    const remote = bucketSnapshot('tree');
    expect(remote).toEqual(snapshot(ws.src));
    expect([...remote.keys()].some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...remote.keys()].some((p) => p.includes('café'.normalize('NFC')))).toBe(true);
    expect(emu.object('tree', 'empty-1')?.data.length).toBe(0);
    // The custom metadata carries the source's SHA-256.
    const leaf = emu.object('tree', 'deep/a/b/c/d/e/f/g/h/leaf.txt');
    expect(leaf?.metadata?.['ferry-sha256']).toBe(sha256(leaf?.data ?? Buffer.alloc(0)));
  });

  it('ships nothing on a second run', async () => {
    const before = emu.stats.uploadBytes;
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
    expect(emu.stats.uploadBytes).toBe(before);
  });

  it('renames a local folder as server-side rewrites: no byte is sent again', async () => {
    const moved = paths.filter((p) => p.startsWith('with space/') || p.startsWith('unicode/'));
    expect(moved.length).toBeGreaterThan(2);
    renameSync(join(ws.src, 'with space'), join(ws.src, 'renamed space'));
    renameSync(join(ws.src, 'unicode'), join(ws.src, 'unicode-2'));
    const bytesBefore = emu.stats.uploadBytes;
    const rewritesBefore = emu.stats.ops.rewrite ?? 0;
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(moved.length);
    expect(emu.stats.uploadBytes).toBe(bytesBefore);
    expect((emu.stats.ops.rewrite ?? 0) - rewritesBefore).toBe(moved.length);
    expect(bucketSnapshot('tree')).toEqual(snapshot(ws.src));
  });
});

describe('gcs: large files go through resumable sessions', () => {
  it('ships a 64 MB file in several chunks of one session, byte-identical', async () => {
    const ws = gcsWorkspace('big');
    try {
      const data = randomBytes(64 * 1024 * 1024);
      writeFileSync(join(ws.src, 'large.bin'), data);
      const chunksBefore = emu.stats.ops.resumableChunk ?? 0;
      const r = await syncJson(ws.config, ws.state);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(emu.object('big', 'large.bin')?.data.equals(data)).toBe(true);
      expect((emu.stats.ops.resumableChunk ?? 0) - chunksBefore).toBeGreaterThanOrEqual(8);
      expect(emu.sessions().filter((s) => s.name === 'large.bin')).toHaveLength(1);
    } finally {
      ws.cleanup();
    }
  });

  it('resumes the same session after a SIGKILL mid-upload, sending only what the service lacks', async () => {
    // A bandwidth cap stretches the upload so that the kill lands in the middle of it.
    const ws = gcsWorkspace('resume', { settings: '  bandwidth: 16000000' });
    try {
      const size = 64 * 1024 * 1024;
      const data = randomBytes(size);
      writeFileSync(join(ws.src, 'resumed.bin'), data);
      const held = () => emu.sessions().find((s) => s.name === 'resumed.bin')?.persisted ?? 0;
      const child = spawnFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state]);
      let exited = false;
      const done = new Promise<void>((resolve) =>
        child.on('close', () => {
          exited = true;
          resolve();
        }),
      );
      while (!exited && held() < 20 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
      expect(exited).toBe(false);
      child.kill('SIGKILL');
      await done;
      // The service keeps the whole 256 KiB units of the chunk that was cut: let it see the connection close.
      await new Promise((r) => setTimeout(r, 200));
      const heldAtKill = held();
      expect(heldAtKill).toBeLessThan(size);
      expect(emu.object('resume', 'resumed.bin')).toBeUndefined();

      const bytesBefore = emu.stats.uploadBytes;
      const r = await syncJson(ws.config, ws.state);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const sentAgain = emu.stats.uploadBytes - bytesBefore;
      expect(sentAgain).toBe(size - heldAtKill);
      expect(emu.object('resume', 'resumed.bin')?.data.equals(data)).toBe(true);
      const sessions = emu.sessions().filter((s) => s.name === 'resumed.bin');
      expect(sessions).toHaveLength(1);
      expect(sessions[0]?.done).toBe(true);
    } finally {
      ws.cleanup();
    }
  });
});

describe('gcs: faults between Ferry and the service', () => {
  let proxy: FaultProxy;
  let ws: Workspace;
  beforeAll(async () => {
    // Leave the connection check and the first listing alone; then resets, 503s, a few 429s and a stall.
    const schedule = (n: number): Fault | undefined => {
      if (n <= 10) return undefined;
      if (n === 250 || n === 900) return 'stall';
      if (n === 120 || n === 600) return '429';
      if (n % 23 === 0) return '503';
      if (n % 17 === 0) return 'reset';
      return undefined;
    };
    proxy = await startFaultProxy(emu.url, { faults: (r) => schedule(r.n), retryAfterSec: 1, stallMs: 2000 });
    ws = gcsWorkspace('faults', { endpoint: proxy.url, settings: '  retries: 8' });
    mkdirSync(ws.src, { recursive: true });
    for (let i = 0; i < 1000; i++) {
      const p = join(ws.src, `d${i % 10}`, `f-${i}.bin`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, randomBytes(200 + (i % 50) * 40));
    }
  });
  afterAll(async () => {
    await proxy.close();
    ws.cleanup();
  });

  it('delivers all 1,000 files once, verified, through resets, 503s, 429s with Retry-After and a stall', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.stats.done).toBe(1000);
    expect(r.summary?.stats.failed).toBe(0);
    expect(bucketSnapshot('faults')).toEqual(snapshot(ws.src));
    expect(proxy.stats.faults.reset).toBeGreaterThan(10);
    expect(proxy.stats.faults['503']).toBeGreaterThan(10);
    expect(proxy.stats.faults['429']).toBe(2);
    expect(proxy.stats.faults.stall).toBe(2);
    // Nothing was left half-done: a second run finds every file in place.
    const again = await syncJson(ws.config, ws.state);
    expect(again.summary?.stats.done).toBe(0);
  });
});

describe('gcs: a destination that cannot work is named, with the reason, and the others are served', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace({
      rules: [{ mode: 'backup', to: ['nas', 'stranger', 'nobucket', 'readonly'] }],
      extraDestinations: [
        gcsDestination('stranger', 'other', { key: stranger }),
        gcsDestination('nobucket', 'no-such-bucket'),
        gcsDestination('readonly', 'other', { key: reader }),
        gcsDestination('fine', 'other'),
      ].join('\n'),
    });
    makeTree(ws.src, { files: 20, seed: 3 });
  });
  afterAll(() => ws.cleanup());

  it('`ferry check` names the failing step of each destination', async () => {
    const r = await runFerry(['check', '--json', '--config', ws.config, 'stranger', 'nobucket', 'readonly', 'fine']);
    expect(r.code).not.toBe(0);
    const results = JSON.parse(r.stdout) as {
      destination: string;
      ok: boolean;
      step: string | null;
      message: string;
    }[];
    const by = new Map(results.map((x) => [x.destination, x]));
    expect(by.get('stranger')).toMatchObject({ ok: false, step: 'auth' });
    expect(by.get('stranger')?.message).toMatch(/Invalid Credentials/);
    expect(by.get('nobucket')).toMatchObject({ ok: false, step: 'container' });
    expect(by.get('nobucket')?.message).toContain('no-such-bucket');
    expect(by.get('readonly')).toMatchObject({ ok: false, step: 'write' });
    expect(by.get('fine')).toMatchObject({ ok: true });
    const text = await runFerry(['check', '--config', ws.config, 'readonly']);
    expect(text.stdout).toMatch(/readonly: write failed: .*cannot be written/);
  });

  it('`ferry sync --once` reports each failing destination and why, exits non-zero, and still serves the local one', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.code).not.toBe(0);
    const errors = new Map(r.summary?.destinationErrors.map((e) => [e.destination, e.error.message]));
    expect([...errors.keys()].sort()).toEqual(['nobucket', 'stranger']);
    expect(errors.get('stranger')).toMatch(/Invalid Credentials/);
    expect(errors.get('nobucket')).toMatch(/bucket "no-such-bucket" does not exist/);
    // A routine pass writes no probe: a destination that may not be written fails its files, each with why.
    expect((r.summary?.failures ?? []).some((f) => f.destination === 'readonly')).toBe(true);
    expect(snapshot(ws.dest)).toEqual(snapshot(ws.src));
  });
});
