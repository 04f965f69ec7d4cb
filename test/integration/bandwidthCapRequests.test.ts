import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry } from '../helpers/cli';
import { sha256 } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { fakeServiceAccount } from '../servers/gcsFixtures';
import { startGcsEmulator, type GcsEmulator } from '../servers/gcsEmulator';
import { S3RVER_KEY, s3DestinationYaml, s3Snapshot, startS3rver, type S3rver } from '../servers/s3rver';
import { startTcpFaultProxy, type TcpFaultProxy } from '../servers/tcpFaultProxy';

/**
 * The cap against uploads that go in one request (Dropbox's files/upload, GCS simple uploads, S3's
 * small PutObject): what the client sends is measured on the wire, by a TCP proxy in front of the
 * server, and no 3 s window may carry more than 10 % over the cap. Each file is two seconds' worth
 * of the cap, so a request body sent whole puts two files in some 3 s window (1.33x).
 */

const MiB = 1024 * 1024;
const TOLERANCE = 1.1;
const WINDOW_MS = 3000;
const FILES = 4;

/** Every piece the client sent through the proxy, with the instant (ms) the proxy got it. */
type Sent = { at: number; bytes: number }[];

async function meteredProxy(serverUrl: string): Promise<{ proxy: TcpFaultProxy; sent: Sent; url: string }> {
  const u = new URL(serverUrl);
  const sent: Sent = [];
  const proxy = await startTcpFaultProxy(
    { host: u.hostname, port: Number(u.port) },
    {
      faults: (p) => {
        sent.push({ at: performance.now(), bytes: p.chunk.length });
        return undefined;
      },
    },
  );
  return { proxy, sent, url: `${u.protocol}//127.0.0.1:${proxy.port}${u.pathname.replace(/\/$/, '')}` };
}

/** The most sent in any window of `WINDOW_MS` that starts at a piece, against the cap times the window. */
function worstWindow(sent: Sent, cap: number): { ratio: number; windows: number } {
  let worst = 0;
  let windows = 0;
  const end = sent.at(-1)?.at ?? 0;
  for (let i = 0; i < sent.length; i++) {
    const from = (sent[i] as Sent[number]).at;
    if (from + WINDOW_MS > end) break;
    let bytes = 0;
    for (let j = i; j < sent.length && (sent[j] as Sent[number]).at < from + WINDOW_MS; j++)
      bytes += (sent[j] as Sent[number]).bytes;
    worst = Math.max(worst, bytes / ((cap * WINDOW_MS) / 1000));
    windows++;
  }
  return { ratio: worst, windows };
}

function filesOf(ws: Workspace, size: number): Map<string, string> {
  const want = new Map<string, string>();
  for (let i = 0; i < FILES; i++) {
    const data = randomBytes(size);
    writeFileSync(join(ws.src, `whole${i}.bin`), data);
    want.set(`whole${i}.bin`, sha256(data));
  }
  return want;
}

async function syncCapped(ws: Workspace, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await runFerry(['sync', '--once', '--config', ws.config, '--state-dir', ws.state], { env });
  expect(r.code, r.stderr).toBe(0);
}

function expectWithinCap(sent: Sent, cap: number, what: string): void {
  const worst = worstWindow(sent, cap);
  console.log(`${what}: worst 3 s window ${worst.ratio.toFixed(3)} × the cap over ${worst.windows} windows`);
  expect(worst.windows).toBeGreaterThan(10);
  expect(worst.ratio).toBeLessThanOrEqual(TOLERANCE);
}

describe('the bandwidth cap against uploads sent in one request', () => {
  let ws: Workspace | undefined;
  let proxy: TcpFaultProxy | undefined;
  const done = async () => {
    await proxy?.close();
    proxy = undefined;
    ws?.cleanup();
    ws = undefined;
  };

  describe('Dropbox files/upload (8 MiB)', () => {
    let emu: DropboxEmulator;
    beforeAll(async () => {
      emu = await startDropboxEmulator();
    });
    afterAll(async () => {
      await done();
      await emu.close();
    });
    it('holds within 10 % over every 3 s window', async () => {
      const size = 8 * MiB;
      const cap = size / 2;
      const m = await meteredProxy(emu.url);
      proxy = m.proxy;
      const dbx = [
        '  - id: dbx',
        '    type: dropbox',
        '    app_key: ferry-test-app',
        '    refresh_token: env:FERRY_TEST_DBX_TOKEN',
        `    endpoint: ${m.url}`,
        '    root: "/Capped"',
      ].join('\n');
      ws = workspace({
        rules: [{ mode: 'backup', to: ['dbx'] }],
        extraDestinations: dbx,
        settings: `  bandwidth: ${cap}\n  transfers: 1`,
      });
      const want = filesOf(ws, size);
      await syncCapped(ws, { FERRY_TEST_DBX_TOKEN: emu.issueRefreshToken() });
      const got = new Map<string, string>();
      for (const [path, data] of emu.files()) if (path.startsWith('Capped/')) got.set(path.slice(7), sha256(data));
      expect(got).toEqual(want);
      expectWithinCap(m.sent, cap, 'Dropbox');
    }, 120_000);
  });

  describe('GCS simple uploads (8 MiB)', () => {
    let emu: GcsEmulator;
    let keys: string;
    let keyFile: string;
    beforeAll(async () => {
      keys = mkdtempSync(join(tmpdir(), 'ferry-gcs-keys-'));
      const writer = fakeServiceAccount(keys, 'writer');
      keyFile = writer.keyFile;
      emu = await startGcsEmulator({
        buckets: ['capped'],
        accounts: [{ email: writer.email, keyId: writer.keyId, publicKeyPem: writer.publicKeyPem, role: 'writer' }],
      });
    });
    afterAll(async () => {
      await done();
      await emu.close();
      rmSync(keys, { recursive: true, force: true });
    });
    it('holds within 10 % over every 3 s window', async () => {
      const size = 8 * MiB;
      const cap = size / 2;
      const m = await meteredProxy(emu.url);
      proxy = m.proxy;
      const gcs = [
        '  - id: gcs',
        '    type: gcs',
        '    bucket: capped',
        `    endpoint: ${m.url}`,
        `    key_file: ${JSON.stringify(`file:${keyFile}`)}`,
      ].join('\n');
      ws = workspace({
        rules: [{ mode: 'backup', to: ['gcs'] }],
        extraDestinations: gcs,
        settings: `  bandwidth: ${cap}\n  transfers: 1`,
      });
      const want = filesOf(ws, size);
      await syncCapped(ws);
      expect(new Map(emu.objects('capped').map((o) => [o.name, sha256(o.data)]))).toEqual(want);
      expectWithinCap(m.sent, cap, 'GCS');
    }, 120_000);
  });

  describe('S3 small PutObject (1 MiB)', () => {
    let server: S3rver;
    beforeAll(async () => {
      server = await startS3rver(['capped']);
    });
    afterAll(async () => {
      await done();
      await server?.stop();
    });
    it('holds within 10 % over every 3 s window', async () => {
      const size = MiB;
      const cap = size / 2;
      const m = await meteredProxy(server.url);
      proxy = m.proxy;
      ws = workspace({
        rules: [{ mode: 'backup', to: ['s3'] }],
        extraDestinations: s3DestinationYaml('s3', { bucket: 'capped', endpoint: m.url, prefix: 'p' }),
        settings: `  bandwidth: ${cap}\n  transfers: 1`,
      });
      const want = filesOf(ws, size);
      await syncCapped(ws, { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY });
      expect(await s3Snapshot(server.client, 'capped', 'p')).toEqual(want);
      expectWithinCap(m.sent, cap, 'S3');
    }, 120_000);
  });
});
