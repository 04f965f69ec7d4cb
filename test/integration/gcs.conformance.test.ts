import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsDestination } from '../../src/main/engine/providers/gcs/gcsProvider';
import type { UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import type { FerryError } from '../../src/shared/errors';
import { providerConformance } from '../conformance/providerSuite';
import { startGcsEmulator, type GcsEmulator } from '../servers/gcsEmulator';
import { fakeServiceAccount, MemoryResumeStore } from '../servers/gcsFixtures';

const dir = mkdtempSync(join(tmpdir(), 'ferry-gcs-conf-'));
const account = fakeServiceAccount(dir);
const secret = (ref: string) => readFileSync(ref.replace(/^file:/, ''), 'utf8');
let emu: GcsEmulator;

beforeAll(async () => {
  emu = await startGcsEmulator({
    buckets: ['conformance'],
    accounts: [{ email: account.email, keyId: account.keyId, publicKeyPem: account.publicKeyPem, role: 'writer' }],
  });
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

providerConformance(
  'gcs (emulator, service-account key)',
  async () => {
    const dest = new GcsDestination(
      { id: 'gcs', type: 'gcs', bucket: 'conformance', endpoint: emu.url, key_file: `file:${account.keyFile}` },
      { secret, resume: new MemoryResumeStore() },
    );
    return { dest };
  },
  { conditionalWrites: true },
);

providerConformance('gcs (emulator, under a prefix)', async () => {
  const dest = new GcsDestination(
    {
      id: 'gcs-pre',
      type: 'gcs',
      bucket: 'conformance',
      endpoint: emu.url,
      key_file: `file:${account.keyFile}`,
      prefix: 'team/backups',
    },
    { secret, resume: new MemoryResumeStore() },
  );
  return { dest };
});

describe('gcs conformance: what the emulator saw', () => {
  it('objects under the prefix stay under it, and no probe or partial object is left behind', () => {
    const names = emu.objects('conformance').map((o) => o.name);
    expect(names.some((n) => n.startsWith('team/backups/put/'))).toBe(true);
    expect(names.filter((n) => n.includes('.ferrytmp-'))).toEqual([]);
  });
});

describe('gcs provider against the emulator: what the suite does not cover', () => {
  let work: string;
  let resume: MemoryResumeStore;
  let dest: GcsDestination;
  const signal = () => new AbortController().signal;
  const make = (opts: { id?: string; key?: string | undefined; bucket?: string } = {}) =>
    new GcsDestination(
      {
        id: opts.id ?? 'extra',
        type: 'gcs',
        bucket: opts.bucket ?? 'conformance',
        endpoint: emu.url,
        ...(opts.key === undefined && 'key' in opts ? {} : { key_file: opts.key ?? `file:${account.keyFile}` }),
      },
      { secret, resume },
    );
  const source = (bytes: Buffer, tags?: string[]): UploadSource => {
    const abs = join(work, `src-${Math.random().toString(36).slice(2)}`);
    writeFileSync(abs, bytes);
    return {
      absPath: abs,
      size: bytes.length,
      mtimeMs: statSync(abs).mtimeMs,
      hashes: new MultiHash(['md5']).update(bytes).digest(),
      ...(tags ? { tags } : {}),
    };
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as FerryError,
    );

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ferry-gcs-extra-'));
    resume = new MemoryResumeStore();
    dest = make();
  });
  afterAll(async () => {
    emu.inject(undefined);
    await dest.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('stores the source SHA-256 and the rule tags as metadata, reads the tags back, and keeps them on a copy', async () => {
    const src = source(Buffer.from('tagged'), ['invoices', 'year: 2025']);
    const up = await dest.upload('tags/a.txt', src, { signal: signal() });
    expect(up.tags).toEqual(['invoices', 'year: 2025']);
    expect(emu.object('conformance', 'tags/a.txt')?.metadata?.['ferry-sha256']).toBe(src.hashes.sha256);
    expect(up.hashes?.md5).toBe(src.hashes.md5);
    expect(up.version).toBe(emu.object('conformance', 'tags/a.txt')?.generation);
    const copied = await dest.copy('tags/a.txt', 'tags/b.txt');
    expect(copied.tags).toEqual(['invoices', 'year: 2025']);
    expect((await dest.stat('tags/b.txt'))?.tags).toEqual(['invoices', 'year: 2025']);
  });

  it('refuses names Cloud Storage cannot hold, per file, before sending anything', async () => {
    const before = emu.stats.requests;
    for (const bad of ['cr\rlf/x', 'line\nfeed', '.well-known/acme-challenge/token', `${'é'.repeat(513)}`]) {
      const err = await failure(dest.upload(bad, source(Buffer.from('x')), { signal: signal() }));
      expect(err?.kind, JSON.stringify(bad.slice(0, 20))).toBe('invalid-name');
    }
    expect(emu.stats.requests).toBe(before);
  });

  it('overwrites only what it last saw: a change behind its back is a retryable conflict, then the next attempt wins', async () => {
    await dest.upload('pre/cond.txt', source(Buffer.from('ours 1')), { signal: signal() });
    // Someone else writes the object after we saw it.
    const other = make({ id: 'other-writer' });
    await other.upload('pre/cond.txt', source(Buffer.from('theirs')), { signal: signal() });
    await other.close();
    const err = await failure(dest.upload('pre/cond.txt', source(Buffer.from('ours 2')), { signal: signal() }));
    expect(err?.kind).toBe('retryable');
    expect(err?.code).toBe('remote-changed');
    expect(emu.object('conformance', 'pre/cond.txt')?.data.toString()).toBe('theirs');
    await dest.upload('pre/cond.txt', source(Buffer.from('ours 2')), { signal: signal() });
    expect(emu.object('conformance', 'pre/cond.txt')?.data.toString()).toBe('ours 2');
  });

  it('two-way: replaces exactly the generation the plan saw, or creates only, and refuses otherwise', async () => {
    const first = await dest.upload('tw/a.txt', { ...source(Buffer.from('v1')), replaces: null }, { signal: signal() });
    const again = await failure(
      dest.upload('tw/a.txt', { ...source(Buffer.from('v1 bis')), replaces: null }, { signal: signal() }),
    );
    expect(again?.code).toBe('remote-changed');
    const stale = await failure(
      dest.upload(
        'tw/a.txt',
        { ...source(Buffer.from('v2')), replaces: String(Number(first.version) + 1) },
        { signal: signal() },
      ),
    );
    expect(stale?.code).toBe('remote-changed');
    expect(emu.object('conformance', 'tw/a.txt')?.data.toString()).toBe('v1');
    await dest.upload(
      'tw/a.txt',
      { ...source(Buffer.from('v2')), replaces: first.version ?? null },
      { signal: signal() },
    );
    expect(emu.object('conformance', 'tw/a.txt')?.data.toString()).toBe('v2');
  });

  it('classifies 429 with Retry-After as rate-limited, 503 as retryable, and sends nothing for them', async () => {
    emu.inject((r) => (r.path.startsWith('/upload/') ? { status: 429, retryAfterSec: 7 } : undefined));
    const limited = await failure(dest.upload('faults/a', source(Buffer.from('a')), { signal: signal() }));
    expect(limited?.kind).toBe('rate-limited');
    expect(limited?.retryAfterMs).toBe(7000);
    emu.inject((r) => (r.path.startsWith('/upload/') ? { status: 503 } : undefined));
    const busy = await failure(dest.upload('faults/a', source(Buffer.from('a')), { signal: signal() }));
    expect(busy?.kind).toBe('retryable');
    // The same through the SDK's own requests (metadata, listing).
    emu.inject((r) => (r.method === 'GET' ? { status: 429, retryAfterSec: 2 } : undefined));
    const listed = await failure(dest.stat('faults/a'));
    expect(listed?.kind).toBe('rate-limited');
    expect(listed?.retryAfterMs).toBe(2000);
    emu.inject((r) => (r.method === 'GET' && r.path.includes('/o/') ? 'reset' : undefined));
    const reset = await failure(dest.stat('faults/a'));
    expect(reset?.kind).toBe('retryable');
    emu.inject(undefined);
    expect(await dest.stat('faults/a')).toBeUndefined();
  });

  it('resumes a session from the resume store: asks how far it got, re-hashes that prefix, sends only the rest', async () => {
    const data = randomBytes(20 * 1024 * 1024 + 17);
    const src = source(data);
    const controller = new AbortController();
    // Stop in the second chunk, the first confirmed: what a crash leaves behind is the saved session.
    const first = await failure(
      dest.upload('resume/r.bin', src, {
        signal: controller.signal,
        onProgress: (b) => b >= 12 * 1024 * 1024 && controller.abort(),
      }),
    );
    expect(first?.kind).toBe('cancelled');
    const saved = resume.load('extra', 'resume/r.bin', src.hashes.sha256) as { uri: string; offset: number };
    expect(saved.offset).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    // The service keeps the whole 256 KiB units of the chunk that was cut off, once it sees the connection close.
    await new Promise((r) => setTimeout(r, 200));
    const held = emu.sessions().find((s) => saved.uri.includes(s.id))?.persisted ?? 0;
    expect(held).toBeGreaterThan(saved.offset);
    const bytesBefore = emu.stats.uploadBytes;
    const fresh = make({ id: 'extra' });
    const seen: number[] = [];
    await fresh.upload('resume/r.bin', src, { signal: signal(), onProgress: (b) => seen.push(b) });
    await fresh.close();
    expect(emu.stats.uploadBytes - bytesBefore).toBe(data.length - held);
    expect(seen[0]).toBe(held);
    expect(emu.object('conformance', 'resume/r.bin')?.data.equals(data)).toBe(true);
    expect(resume.load('extra', 'resume/r.bin', src.hashes.sha256)).toBeUndefined();
  });

  it('starts over when the saved session has expired (404)', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const src = source(data);
    const controller = new AbortController();
    await failure(
      dest.upload('resume/e.bin', src, { signal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(resume.load('extra', 'resume/e.bin', src.hashes.sha256)).toBeDefined();
    emu.expireSessions();
    const bytesBefore = emu.stats.uploadBytes;
    await dest.upload('resume/e.bin', src, { signal: signal() });
    expect(emu.stats.uploadBytes - bytesBefore).toBe(data.length);
    expect(emu.object('conformance', 'resume/e.bin')?.data.equals(data)).toBe(true);
  });

  it('does not finish a resumed session with content that changed since it started', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const src = source(data);
    const controller = new AbortController();
    await failure(
      dest.upload('resume/c.bin', src, { signal: controller.signal, onProgress: () => controller.abort() }),
    );
    // Same size, other bytes, and the index still says the old hash: the resumed upload must refuse.
    const other = Buffer.from(data);
    other[other.length - 1] = (other[other.length - 1] as number) ^ 0xff;
    writeFileSync(src.absPath, other);
    const err = await failure(dest.upload('resume/c.bin', src, { signal: signal() }));
    expect(err?.kind).toBe('source-changed');
    expect(emu.object('conformance', 'resume/c.bin')).toBeUndefined();
    expect(resume.load('extra', 'resume/c.bin', src.hashes.sha256)).toBeUndefined();
  });

  it('verifies downloads against the object MD5 and refuses bytes that differ', async () => {
    await dest.upload('dl/v.bin', source(Buffer.from('the real content')), { signal: signal() });
    const stored = emu.object('conformance', 'dl/v.bin');
    if (!stored) throw new Error('not stored');
    stored.data = Buffer.from('rotten bits here'); // same size, other bytes, MD5 unchanged
    const to = join(work, 'dl-out');
    const err = await failure(dest.download('dl/v.bin', to, { signal: signal() }));
    expect(err?.code).toBe('verify-failed');
    expect(existsSync(to)).toBe(false);
  });

  it('hands out a V4 signed share link that the service accepts, and refuses without a key', async () => {
    await dest.upload('share/s.txt', source(Buffer.from('shared')), { signal: signal() });
    const link = await dest.shareLink('share/s.txt', 600);
    expect(link).toMatch(/X-Goog-Algorithm=GOOG4-RSA-SHA256/);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('shared');
    const tampered = await fetch(link.replace('s.txt', 'x.txt'));
    expect(tampered.status).toBe(403);
    const keyless = make({ id: 'keyless', key: undefined });
    expect((await failure(keyless.shareLink('share/s.txt', 600)))?.code).toBe('share-needs-key');
  });

  it('without a key it sends no credentials (an emulator or a private endpoint), and a service that wants them says auth', async () => {
    const keyless = make({ id: 'anonymous', key: undefined });
    const err = await failure(keyless.check());
    expect(err?.code).toBe('auth-failed');
    expect(err?.message).toMatch(/Anonymous caller/);
  });
});
