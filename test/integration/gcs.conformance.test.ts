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
/** What the tests themselves use to make objects the way other tools do (compose), not Ferry's key. */
const TEST_TOKEN = 'test-side-token';
const secret = (ref: string) => readFileSync(ref.replace(/^file:/, ''), 'utf8');
let emu: GcsEmulator;

beforeAll(async () => {
  emu = await startGcsEmulator({
    // Bucket and object names with "bucket" in them: a missing object must not read as a missing bucket.
    buckets: ['conformance', 'acme-backup-bucket'],
    tokens: { [TEST_TOKEN]: 'writer' },
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

providerConformance('gcs (emulator, under a prefix, in a bucket named "…-bucket")', async () => {
  const dest = new GcsDestination(
    {
      id: 'gcs-pre',
      type: 'gcs',
      bucket: 'acme-backup-bucket',
      endpoint: emu.url,
      key_file: `file:${account.keyFile}`,
      prefix: 'team/bucket',
    },
    { secret, resume: new MemoryResumeStore() },
  );
  return { dest };
});

describe('gcs conformance: what the emulator saw', () => {
  it('objects under the prefix stay under it, and no probe or partial object is left behind', () => {
    const names = emu.objects('acme-backup-bucket').map((o) => o.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !n.startsWith('team/bucket/'))).toEqual([]);
    const all = [...names, ...emu.objects('conformance').map((o) => o.name)];
    expect(all.filter((n) => n.includes('.ferrytmp-'))).toEqual([]);
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

  it('starts over when the saved session has expired (410 Gone)', async () => {
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

  it('starts a new session within the same upload when the one in use dies (410 Gone)', async () => {
    const data = randomBytes(20 * 1024 * 1024 + 3);
    let expired = false;
    await dest.upload('resume/dead.bin', source(data), {
      signal: signal(),
      onProgress: (b) => {
        if (!expired && b >= 9 * 1024 * 1024) {
          expired = true;
          emu.expireSessions();
        }
      },
    });
    expect(expired).toBe(true);
    expect(emu.object('conformance', 'resume/dead.bin')?.data.equals(data)).toBe(true);
    expect(emu.sessions().filter((s) => s.name === 'resume/dead.bin')).toHaveLength(2);
  });

  it('signs its requests with the id of its service-account key (kid), as AIP-4111 asks', async () => {
    const fresh = make({ id: 'kid' });
    await expect(fresh.check()).resolves.toBeUndefined();
    await fresh.close();
  });

  it('in a bucket named "acme-backup-bucket", a missing object under "bucket/" is absent, not a missing bucket', async () => {
    const d = make({ id: 'acme', bucket: 'acme-backup-bucket' });
    expect(await d.stat('bucket/nothing.txt')).toBeUndefined();
    const missing = await failure(d.download('bucket/nothing.txt', join(work, 'never'), { signal: signal() }));
    expect(missing?.code).toBe('not-found');
    // An object that vanished behind its back: deleting it again is not an error.
    await d.upload('bucket/vanishing.txt', source(Buffer.from('v')), { signal: signal() });
    const other = make({ id: 'acme-other', bucket: 'acme-backup-bucket' });
    await other.delete('bucket/vanishing.txt');
    await other.close();
    await expect(d.delete('bucket/vanishing.txt')).resolves.toBeUndefined();
    await d.close();
    // A bucket that is not there is still named as such.
    const gone = make({ id: 'nobucket', bucket: 'no-such-bucket' });
    expect((await failure(gone.stat('bucket/x')))?.code).toBe('container-missing');
    expect((await failure(gone.check()))?.code).toBe('container-missing');
    await gone.close();
  });

  it("deletes only the generation it saw: another writer's newer object is a conflict, and stays", async () => {
    await dest.upload('cond/del.txt', source(Buffer.from('ours')), { signal: signal() });
    const other = make({ id: 'other-deleter' });
    await other.upload('cond/del.txt', source(Buffer.from('theirs')), { signal: signal() });
    await other.close();
    const err = await failure(dest.delete('cond/del.txt'));
    expect(err?.kind).toBe('conflict');
    expect(err?.code).toBe('remote-changed');
    expect(emu.object('conformance', 'cond/del.txt')?.data.toString()).toBe('theirs');
    // Having looked again, it deletes what it now saw.
    expect((await dest.stat('cond/del.txt'))?.size).toBe(6);
    await dest.delete('cond/del.txt');
    expect(emu.object('conformance', 'cond/del.txt')).toBeUndefined();
  });

  it('moves only the generation it saw: a source changed before the copy is a conflict, and nothing is lost', async () => {
    await dest.upload('mvc/a.txt', source(Buffer.from('ours')), { signal: signal() });
    const other = make({ id: 'other-mover' });
    await other.upload('mvc/a.txt', source(Buffer.from('theirs')), { signal: signal() });
    await other.close();
    const err = await failure(dest.move('mvc/a.txt', 'mvc/b.txt'));
    expect(err?.kind).toBe('conflict');
    expect(emu.object('conformance', 'mvc/a.txt')?.data.toString()).toBe('theirs');
    expect(emu.object('conformance', 'mvc/b.txt')).toBeUndefined();
  });

  it('moves only the generation it copied: a source overwritten between the copy and the delete stays', async () => {
    await dest.upload('mvd/a.txt', source(Buffer.from('ours')), { signal: signal() });
    // Another writer replaces the source at the moment the delete of the move arrives.
    emu.inject((r) => {
      const o = emu.object('conformance', 'mvd/a.txt');
      if (r.method === 'DELETE' && o && o.data.toString() === 'ours') {
        o.data = Buffer.from('theirs');
        o.generation = String(BigInt(o.generation) + 1n);
      }
      return undefined;
    });
    const err = await failure(dest.move('mvd/a.txt', 'mvd/b.txt'));
    emu.inject(undefined);
    expect(err?.kind).toBe('conflict');
    expect(emu.object('conformance', 'mvd/a.txt')?.data.toString()).toBe('theirs');
    expect(emu.object('conformance', 'mvd/b.txt')?.data.toString()).toBe('ours');
  });

  it('copies and moves a large object through a rewrite that takes several calls', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    await dest.upload('rw/big.bin', source(data), { signal: signal() });
    const before = emu.stats.ops.rewriteContinue ?? 0;
    const moved = await dest.move('rw/big.bin', 'rw/moved.bin');
    expect((emu.stats.ops.rewriteContinue ?? 0) - before).toBe(3);
    expect(moved.size).toBe(data.length);
    expect(emu.object('conformance', 'rw/moved.bin')?.data.equals(data)).toBe(true);
    expect(emu.object('conformance', 'rw/big.bin')).toBeUndefined();
  });

  it('verifies a composite object (no md5Hash) by its CRC32C on download, and refuses bytes that differ', async () => {
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const parts = [randomBytes(1000), randomBytes(2000)];
    for (const [i, p] of parts.entries()) {
      const r = await fetch(`${emu.url}/upload/storage/v1/b/conformance/o?uploadType=media&name=comp/${i}`, {
        method: 'POST',
        headers: auth,
        body: p,
      });
      expect(r.status).toBe(200);
    }
    const composed = await fetch(
      `${emu.url}/storage/v1/b/conformance/o/${encodeURIComponent('comp/all.bin')}/compose`,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ sourceObjects: [{ name: 'comp/0' }, { name: 'comp/1' }], destination: {} }),
      },
    );
    expect(composed.status).toBe(200);
    const whole = Buffer.concat(parts);
    const to = join(work, 'composite-out');
    const got = await dest.download('comp/all.bin', to, { signal: signal() });
    expect(got.size).toBe(whole.length);
    expect(readFileSync(to).equals(whole)).toBe(true);
    const stored = emu.object('conformance', 'comp/all.bin');
    if (!stored) throw new Error('not stored');
    stored.data = Buffer.from(whole).fill(7, 0, 10); // same size, other bytes, CRC32C unchanged
    const bad = join(work, 'composite-bad');
    const err = await failure(dest.download('comp/all.bin', bad, { signal: signal() }));
    expect(err?.code).toBe('verify-failed');
    expect(existsSync(bad)).toBe(false);
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
