import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import type { ProviderDeps } from '../../src/main/engine/providers/types';
import { S3Destination, type S3DestinationConfig, type S3Tuning } from '../../src/main/engine/providers/s3/s3Provider';
import type { ResumeStore, UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { providerConformance } from '../conformance/providerSuite';
import { startFaultProxy, type Fault, type FaultProxy } from '../servers/faultProxy';
import { startS3rver, startTamperProxy, S3RVER_KEY, type S3rver } from '../servers/s3rver';

/** The resume store, in memory: same contract as the SQLite one (state valid only for the same SHA-256). */
class MemoryResume implements ResumeStore {
  readonly rows = new Map<string, { sha256: string; state: unknown }>();
  load(d: string, p: string, sha256: string): unknown {
    const r = this.rows.get(`${d}\0${p}`);
    return r && r.sha256 === sha256 ? structuredClone(r.state) : undefined;
  }
  save(d: string, p: string, sha256: string, state: unknown): void {
    this.rows.set(`${d}\0${p}`, { sha256, state: structuredClone(state) });
  }
  clear(d: string, p: string): void {
    this.rows.delete(`${d}\0${p}`);
  }
  all(d: string): { remotePath: string; sha256: string; state: unknown }[] {
    return [...this.rows]
      .filter(([k]) => k.startsWith(`${d}\0`))
      .map(([k, r]) => ({ remotePath: k.slice(d.length + 1), sha256: r.sha256, state: structuredClone(r.state) }));
  }
}

const workers = new FileWorkers(1);
let server: S3rver;
const env = { FERRY_TEST_S3_KEY: S3RVER_KEY, FERRY_TEST_S3_SECRET: S3RVER_KEY };

function deps(resume: ResumeStore = new MemoryResume()): ProviderDeps {
  return {
    workers,
    secret: (ref) => {
      const v = env[ref.replace(/^env:/, '') as keyof typeof env];
      if (v === undefined) throw new FerryError('auth', 'secret-missing', `no ${ref}`);
      return v;
    },
    resume,
  };
}

function config(over: Partial<S3DestinationConfig> = {}): S3DestinationConfig {
  return {
    id: 's3',
    type: 's3',
    bucket: 'test-bucket',
    endpoint: server.url,
    access_key_id: 'env:FERRY_TEST_S3_KEY',
    secret_access_key: 'env:FERRY_TEST_S3_SECRET',
    ...over,
  };
}

function make(over: Partial<S3DestinationConfig> = {}, tuning: Partial<S3Tuning> = {}, resume?: ResumeStore) {
  return new S3Destination(config(over), deps(resume), tuning);
}

beforeAll(async () => {
  server = await startS3rver(['test-bucket', 'other-bucket']);
});
afterAll(async () => {
  await workers.close();
  await server?.stop();
});

// The shared suite, with a prefix (keys live under it) and a small page size so listings page.
providerConformance('s3 (s3rver)', async () => ({ dest: make({ prefix: 'conformance/root' }, { pageSize: 5 }) }));

describe('s3 provider against s3rver', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ferry-s3-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const source = (bytes: Buffer, tags?: string[]): UploadSource => {
    const abs = join(work, `src-${randomBytes(6).toString('hex')}`);
    writeFileSync(abs, bytes);
    return {
      absPath: abs,
      size: bytes.length,
      mtimeMs: statSync(abs).mtimeMs,
      hashes: new MultiHash(['md5']).update(bytes).digest(),
      ...(tags ? { tags } : {}),
    };
  };
  const signal = () => new AbortController().signal;
  const objectBytes = async (key: string): Promise<Buffer> => {
    const r = await server.client.send(new GetObjectCommand({ Bucket: 'test-bucket', Key: key }));
    return Buffer.from(await (r.Body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray());
  };
  const keysUnder = async (prefix: string): Promise<string[]> => {
    const r = await server.client.send(new ListObjectsV2Command({ Bucket: 'test-bucket', Prefix: prefix }));
    return (r.Contents ?? []).map((o) => o.Key as string);
  };
  const errorOf = async (p: Promise<unknown>): Promise<FerryError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(FerryError);
    return e as FerryError;
  };

  it('stores the SHA-256 as metadata; a single PUT is vouched for by the MD5 the server answered; version is the ETag the listing shows', async () => {
    const dest = make({ prefix: 'meta' });
    const data = randomBytes(3000);
    const src = source(data);
    const entry = await dest.upload('a/b.bin', src, { signal: signal() });
    const head = await server.client.send(new HeadObjectCommand({ Bucket: 'test-bucket', Key: 'meta/a/b.bin' }));
    expect(head.Metadata?.['ferry-sha256']).toBe(src.hashes.sha256);
    // No HeadObject after a single PUT: the ETag is the MD5 of what the server stored.
    expect(entry.hashes).toEqual({ md5: createHash('md5').update(data).digest('hex') });
    expect((await dest.stat('a/b.bin'))?.hashes).toEqual({ sha256: src.hashes.sha256 });
    const listed = [];
    for await (const e of dest.list('a')) listed.push(e);
    expect(listed).toHaveLength(1);
    expect(listed[0]?.version).toBe(entry.version);
    expect(entry.version).toBe(createHash('md5').update(data).digest('hex'));
    await dest.close();
  });

  it('carries tags as metadata and as object tags, and honours the storage class', async () => {
    const dest = make({ prefix: 'tags', storage_class: 'STANDARD_IA' });
    const entry = await dest.upload('t.txt', source(Buffer.from('tagged'), ['invoices', 'année 2026', 'a,b']), {
      signal: signal(),
    });
    expect(entry.tags).toEqual(['invoices', 'année 2026', 'a,b']);
    expect((await dest.stat('t.txt'))?.tags).toEqual(['invoices', 'année 2026', 'a,b']);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: 'test-bucket', Key: 'tags/t.txt' }));
    expect(head.StorageClass).toBe('STANDARD_IA');
    // "a,b" has a comma, which S3 tags cannot hold: object tagging is skipped, the metadata keeps all.
    await dest.upload('u.txt', source(Buffer.from('tagged'), ['invoices', 'année 2026']), { signal: signal() });
    const tagging = await server.client.send(new GetObjectTaggingCommand({ Bucket: 'test-bucket', Key: 'tags/u.txt' }));
    expect((tagging.TagSet ?? []).map((t) => t.Key).sort()).toEqual(['année 2026', 'invoices']);
    await dest.close();
  });

  it('sends large files as parallel parts that appear only when complete, byte-identical', async () => {
    const proxy = await startFaultProxy(server.url);
    const data = randomBytes(17 * 1024 * 1024 + 5);
    const seen: string[] = [];
    proxy.setFaults((r) => {
      seen.push(`${r.method} ${r.url}`);
      return undefined;
    });
    const resume = new MemoryResume();
    const dest2 = make(
      { endpoint: proxy.url, prefix: 'mp' },
      { singleMax: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 },
      resume,
    );
    const entry = await dest2.upload('big.bin', source(data), { signal: signal() });
    expect(entry.size).toBe(data.length);
    expect(seen.filter((s) => /^PUT .*partNumber=/.test(s))).toHaveLength(4);
    expect(seen.some((s) => /^POST .*uploads/.test(s))).toBe(true);
    expect((await objectBytes('mp/big.bin')).equals(data)).toBe(true);
    expect(resume.rows.size).toBe(0);
    await dest2.close();
    await proxy.close();
  });

  it('resumes a cancelled multipart upload without sending the acknowledged parts again', async () => {
    const proxy = await startFaultProxy(server.url);
    const resume = new MemoryResume();
    const tuning = { singleMax: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024, partConcurrency: 1 };
    const data = randomBytes(23 * 1024 * 1024);
    const src = source(data);
    const first = make({ endpoint: proxy.url, prefix: 'resume' }, tuning, resume);
    const c = new AbortController();
    const p = first.upload('r.bin', src, {
      signal: c.signal,
      onProgress: (b) => {
        if (b > 12 * 1024 * 1024) c.abort();
      },
    });
    expect((await errorOf(p)).kind).toBe('cancelled');
    await first.close();
    expect(await make({ prefix: 'resume' }).stat('r.bin')).toBeUndefined();
    const state = [...resume.rows.values()][0]?.state as { parts: unknown[] } | undefined;
    expect(state?.parts.length).toBeGreaterThanOrEqual(2);
    const acknowledged = (state?.parts.length ?? 0) * 5 * 1024 * 1024;

    const before = proxy.stats.bodyBytes;
    const second = make({ endpoint: proxy.url, prefix: 'resume' }, tuning, resume);
    await second.upload('r.bin', src, { signal: signal() });
    const resent = proxy.stats.bodyBytes - before;
    expect(resent).toBeLessThanOrEqual(data.length - acknowledged + 4096);
    expect((await objectBytes('resume/r.bin')).equals(data)).toBe(true);
    expect(resume.rows.size).toBe(0);
    await second.close();
    await proxy.close();
  });

  it('refuses to complete a multipart upload whose file changed while it was read, leaving nothing visible', async () => {
    const resume = new MemoryResume();
    const dest = make({ prefix: 'torn-mp' }, { singleMax: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 }, resume);
    const data = randomBytes(12 * 1024 * 1024);
    const src = source(data);
    const changed = Buffer.from(data);
    changed[11 * 1024 * 1024] = (changed[11 * 1024 * 1024] as number) ^ 1;
    writeFileSync(src.absPath, changed);
    expect((await errorOf(dest.upload('t.bin', src, { signal: signal() }))).kind).toBe('source-changed');
    expect(await dest.stat('t.bin')).toBeUndefined();
    expect(resume.rows.size).toBe(0);
    await dest.close();
  });

  it('catches bytes damaged on the way (the server does not check Content-MD5) and leaves no damaged object', async () => {
    const proxy = await startTamperProxy(server.url, { corrupt: (m, url) => m === 'PUT' && url.includes('/damaged/') });
    const dest = make({ endpoint: proxy.url, prefix: 'damaged' });
    const err = await errorOf(dest.upload('d.bin', source(randomBytes(10_000)), { signal: signal() }));
    expect(proxy.corrupted).toBe(1);
    expect(err.code).toBe('verify-failed');
    expect(err.kind).toBe('retryable');
    expect(await keysUnder('damaged/')).toEqual([]);
    const big = make(
      { endpoint: proxy.url, prefix: 'damaged' },
      { singleMax: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 },
    );
    const err2 = await errorOf(big.upload('m.bin', source(randomBytes(11 * 1024 * 1024)), { signal: signal() }));
    expect(err2.code).toBe('verify-failed');
    expect(await keysUnder('damaged/')).toEqual([]);
    await dest.close();
    await big.close();
    await proxy.close();
  });

  it('classifies 503, 429 with Retry-After, resets and stalls as retryable, without waiting itself', async () => {
    let fault: Fault | undefined;
    const proxy: FaultProxy = await startFaultProxy(server.url, {
      faults: () => fault,
      retryAfterSec: 7,
      stallMs: 20_000,
    });
    const dest = make({ endpoint: proxy.url, prefix: 'faults' }, { idleTimeoutMs: 1000 });
    const up = () => dest.upload('f.txt', source(Buffer.from('x')), { signal: signal() });
    // A bare 503 (no SlowDown code, no Retry-After) is transient; S3's "slow down" is rate-limited.
    fault = '503';
    expect((await errorOf(up())).kind).toBe('retryable');
    fault = '429';
    const e429 = await errorOf(up());
    expect(e429.kind).toBe('rate-limited');
    expect(e429.retryAfterMs).toBe(7000);
    fault = '500';
    expect((await errorOf(up())).kind).toBe('retryable');
    fault = 'reset';
    expect((await errorOf(up())).kind).toBe('retryable');
    // Headers come, the body never does: the idle timeout (1 s here) must end the wait.
    fault = 'stall';
    const t0 = Date.now();
    const listing = async () => {
      for await (const _ of dest.list('')) void _;
    };
    expect((await errorOf(listing())).kind).toBe('retryable');
    expect(Date.now() - t0).toBeLessThan(10_000);
    fault = undefined;
    await expect(up()).resolves.toMatchObject({ size: 1 });
    await dest.close();
    await proxy.close();
  });

  it('cancels a single PUT mid-way and leaves nothing under the final name', async () => {
    const dest = make({ prefix: 'cancel-single' });
    const data = randomBytes(8 * 1024 * 1024);
    const c = new AbortController();
    let sent = 0;
    const p = dest.upload('c.bin', source(data), {
      signal: c.signal,
      // Slow, so that the abort lands while the body is on the wire.
      pace: async (n) => {
        sent += n;
        if (sent > 2 * 1024 * 1024) c.abort();
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    expect((await errorOf(p)).kind).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 300));
    expect(await dest.stat('c.bin')).toBeUndefined();
    expect(await keysUnder('cancel-single/')).toEqual([]);
    await dest.close();
  });

  it('refuses keys over 1,024 bytes of UTF-8 as invalid names', async () => {
    const dest = make({ prefix: 'long' });
    const name = `${'é'.repeat(520)}.txt`;
    const err = await errorOf(dest.upload(name, source(Buffer.from('x')), { signal: signal() }));
    expect(err.kind).toBe('invalid-name');
    expect(err.message).toMatch(/1024/);
    await dest.close();
  });

  it('moves and copies on the server keeping the metadata, without sending the bytes', async () => {
    const proxy = await startFaultProxy(server.url);
    const dest = make({ endpoint: proxy.url, prefix: 'mv' });
    const data = randomBytes(200_000);
    const src = source(data, ['keep']);
    await dest.upload('from.bin', src, { signal: signal() });
    const before = proxy.stats.bodyBytes;
    const moved = await dest.move('from.bin', 'sub/to.bin');
    expect(proxy.stats.bodyBytes - before).toBeLessThan(1000);
    expect(moved.hashes?.sha256).toBe(src.hashes.sha256);
    expect(moved.tags).toEqual(['keep']);
    expect(await dest.stat('from.bin')).toBeUndefined();
    expect((await objectBytes('mv/sub/to.bin')).equals(data)).toBe(true);
    await dest.close();
    await proxy.close();
  });

  it('makes a presigned share link that serves the file', async () => {
    const dest = make({ prefix: 'share' });
    await dest.upload('s p a c e.txt', source(Buffer.from('shared bytes')), { signal: signal() });
    const url = await dest.shareLink('s p a c e.txt', 300);
    expect(url).toMatch(/X-Amz-Expires=300/);
    const body = await new Promise<string>((resolve, reject) =>
      get(url, (res) => {
        let s = '';
        res.on('data', (d: Buffer) => (s += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(s) : reject(new Error(`${res.statusCode}: ${s}`))));
      }).on('error', reject),
    );
    expect(body).toBe('shared bytes');
    await dest.close();
  });

  it('names the failing check step: unreachable, credentials, bucket, write permission', async () => {
    const codeOf = async (d: S3Destination) => {
      const e = await errorOf(d.check());
      await d.close();
      return e;
    };
    const unreachable = await codeOf(make({ endpoint: 'http://127.0.0.1:9' }));
    expect(unreachable.code).toBe('unreachable');
    env.FERRY_TEST_S3_KEY = 'WRONG';
    const badKey = await codeOf(make());
    env.FERRY_TEST_S3_KEY = S3RVER_KEY;
    expect(badKey.code).toBe('auth-failed');
    expect(badKey.message).toMatch(/InvalidAccessKeyId|refused/);
    const missing = await codeOf(make({ bucket: 'no-such-bucket' }));
    expect(missing.code).toBe('container-missing');
    expect(missing.hint).toMatch(/no-such-bucket/);
    const noSecret = await codeOf(make({ secret_access_key: 'env:FERRY_TEST_UNSET' }));
    expect(noSecret.code).toBe('auth-failed');
    // s3rver has no permissions: a proxy answers AccessDenied to every write.
    const ro = await startTamperProxy(server.url, { denyWrites: true });
    const readOnly = await codeOf(make({ endpoint: ro.url, prefix: 'ro' }));
    expect(readOnly.code).toBe('read-only');
    expect(readOnly.hint).toMatch(/s3:PutObject/);
    await ro.close();
    await expect(make({ bucket: 'other-bucket' }).check()).resolves.toBeUndefined();
  });

  it('downloads with verification against the stored SHA-256', async () => {
    const dest = make({ prefix: 'dl' });
    const data = randomBytes(50_000);
    await dest.upload('x.bin', source(data), { signal: signal() });
    const to = join(work, 'down', 'x.bin');
    const e = await dest.download('x.bin', to, { signal: signal() });
    expect(readFileSync(to).equals(data)).toBe(true);
    expect(e.hashes?.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    await dest.close();
  });
});
