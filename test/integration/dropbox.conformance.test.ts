import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DropboxDestination } from '../../src/main/engine/providers/dropbox/dropboxProvider';
import type { RemoteEntry, UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { FerryError } from '../../src/shared/errors';
import { providerConformance } from '../conformance/providerSuite';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { emulatedDropbox, memoryResumeStore } from '../servers/dropboxHarness';
import { everyNth, startFaultProxy } from '../servers/faultProxy';

const MiB = 1024 * 1024;

// Small list pages, so that every listing in the suite goes through list_folder/continue.
providerConformance(
  'dropbox (emulated Dropbox API v2)',
  async () => {
    const emu = await startDropboxEmulator({ listPageSize: 3 });
    const { dest } = emulatedDropbox(emu);
    return { dest, teardown: () => emu.close() };
  },
  { conditionalWrites: true },
);

describe('dropbox provider against the emulator', () => {
  let emu: DropboxEmulator;
  let work: string;
  const signal = () => new AbortController().signal;

  const source = (bytes: Buffer, name = `src-${randomBytes(4).toString('hex')}`): UploadSource => {
    const abs = join(work, name);
    writeFileSync(abs, bytes);
    return {
      absPath: abs,
      size: bytes.length,
      mtimeMs: statSync(abs).mtimeMs,
      hashes: new MultiHash(['dropbox']).update(bytes).digest(),
    };
  };
  const failure = async (p: Promise<unknown>): Promise<FerryError> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'expected a FerryError').toBeInstanceOf(FerryError);
    return err as FerryError;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ferry-dbx-'));
    emu = await startDropboxEmulator();
  });
  afterAll(async () => {
    await emu.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('declares what Dropbox offers: dropbox content hashes, case-insensitive names, resumable and conditional uploads, a rev per write, no tags, folders that stay when emptied', () => {
    const { dest } = emulatedDropbox(emu);
    expect(dest.features).toEqual({
      hashes: ['dropbox'],
      caseInsensitive: true,
      emptyFoldersStay: true,
      resumable: true,
      maxSingleUpload: 150 * MiB,
      tags: false,
      conditionalWrites: true,
      versionPerWrite: true,
    });
  });

  it('puts files under root and prefix, and reports them relative to both', async () => {
    const { dest } = emulatedDropbox(emu, { root: '/Apps/Ferry', prefix: 'laptop' });
    await dest.upload('docs/a.txt', source(Buffer.from('a')), { signal: signal() });
    expect(emu.file('/apps/ferry/laptop/docs/a.txt')?.toString()).toBe('a');
    const listed: RemoteEntry[] = [];
    for await (const e of dest.list('')) listed.push(e);
    expect(listed.map((e) => e.path)).toEqual(['docs/a.txt']);
    expect(listed[0]?.hashes?.dropbox).toBe(new MultiHash(['dropbox']).update(Buffer.from('a')).digest().dropbox);
  });

  it('refreshes an expired access token once and repeats the request', async () => {
    const { dest } = emulatedDropbox(emu);
    await dest.upload('tok/one.txt', source(Buffer.from('1')), { signal: signal() });
    const before = { refreshes: emu.stats.refreshes, expired: emu.stats.expiredTokenAnswers };
    emu.expireAccessTokens();
    expect((await dest.stat('tok/one.txt'))?.size).toBe(1);
    expect(emu.stats.expiredTokenAnswers - before.expired).toBe(1);
    expect(emu.stats.refreshes - before.refreshes).toBe(1);
  });

  it('says "reconnect Dropbox" when the refresh token was revoked', async () => {
    const { dest, refreshToken } = emulatedDropbox(emu);
    emu.revoke(refreshToken);
    const err = await failure(dest.upload('rev/x.txt', source(Buffer.from('x')), { signal: signal() }));
    expect(err.kind).toBe('auth');
    expect(err.code).toBe('auth-failed');
    expect(err.hint).toMatch(/reconnect Dropbox/);
  });

  it('never overwrites a file it did not ship there (add, no autorename): a clear conflict', async () => {
    emu.putFile('/Ferry/theirs/report.txt', Buffer.from('somebody else'));
    const { dest } = emulatedDropbox(emu);
    const err = await failure(dest.upload('theirs/report.txt', source(Buffer.from('ours')), { signal: signal() }));
    expect(err.kind).toBe('conflict');
    expect(err.message).toMatch(/did not put there/);
    expect(emu.file('/Ferry/theirs/report.txt')?.toString()).toBe('somebody else');
    // Identical content is no conflict for Dropbox: it is simply there.
    const same = await dest.upload('theirs/report.txt', source(Buffer.from('somebody else')), { signal: signal() });
    expect(same.size).toBe(13);
  });

  it('overwrites what it shipped itself, also after a restart (the revision is remembered in the resume store)', async () => {
    const resume = memoryResumeStore();
    const first = emulatedDropbox(emu, { resume }).dest;
    await first.upload('mine/v.txt', source(Buffer.from('version 1')), { signal: signal() });
    await first.close();
    const second = emulatedDropbox(emu, { resume }).dest;
    await second.upload('mine/v.txt', source(Buffer.from('version 2')), { signal: signal() });
    expect(emu.file('/Ferry/mine/v.txt')?.toString()).toBe('version 2');
  });

  it('refuses names Dropbox cannot hold, per file, naming the file and what to do; the batch goes on', async () => {
    const { dest } = emulatedDropbox(emu);
    emu.resetStats();
    const bad = [
      'names/desktop.ini',
      'names/Thumbs.db',
      'names/.DS_Store',
      'names/Icon\r',
      'names/.dropbox',
      'names/trailing ',
      'names/trailing.',
      'names/a:b',
      'names/q?',
      'names/star*',
      'names/p|ipe',
      'names/"q"',
      'names/<x>',
      'names/ctl\u0001',
      'names/back\\slash',
      'names/nul\u0000',
    ];
    const good = ['names/fine one.txt', 'names/ok.txt'];
    const results = await dest.uploadBatch(
      [...bad, ...good].map((path) => ({ path, source: source(Buffer.from(path)) })),
      { signal: signal() },
    );
    for (const [i, path] of bad.entries()) {
      const r = results[i];
      expect(r, path).toBeInstanceOf(FerryError);
      expect((r as FerryError).kind, path).toBe('invalid-name');
      expect((r as FerryError).hint).toMatch(/rename the file/);
    }
    expect((results[0] as FerryError).message).toContain('desktop.ini');
    expect(results.slice(bad.length).every((r) => !(r instanceof FerryError))).toBe(true);
    expect(emu.file('/Ferry/names/ok.txt')?.toString()).toBe('names/ok.txt');
    // Nothing of the refused names was sent.
    expect(emu.stats.calls['files/upload_session/append_v2']).toBe(good.length);
  });

  it('two names that differ only by case: the second is a clear per-file conflict (also with identical content)', async () => {
    const { dest } = emulatedDropbox(emu);
    await dest.upload('case/Readme.txt', source(Buffer.from('first')), { signal: signal() });
    const other = await failure(dest.upload('case/README.txt', source(Buffer.from('second')), { signal: signal() }));
    expect(other.kind).toBe('conflict');
    expect(other.code).toBe('case-conflict');
    expect(other.message).toContain('Readme.txt');
    const same = await failure(dest.upload('case/readme.TXT', source(Buffer.from('first')), { signal: signal() }));
    expect(same.code).toBe('case-conflict');
    const batch = await dest.uploadBatch(
      [
        { path: 'case2/Notes.md', source: source(Buffer.from('n1')) },
        { path: 'case2/notes.md', source: source(Buffer.from('n2')) },
      ],
      { signal: signal() },
    );
    expect(batch[0]).not.toBeInstanceOf(FerryError);
    expect((batch[1] as FerryError).code).toBe('case-conflict');
    expect(emu.file('/Ferry/case2/notes.md')?.toString()).toBe('n1');
  });

  it('commits small files as one batch: start_batch, one append each, one finish_batch_v2', async () => {
    const { dest } = emulatedDropbox(emu);
    emu.resetStats();
    const items = Array.from({ length: 30 }, (_, i) => ({
      path: `batch/f${i}.bin`,
      source: source(randomBytes(i * 100)),
    }));
    const results = await dest.uploadBatch(items, { signal: signal() });
    expect(results.filter((r) => r instanceof FerryError)).toEqual([]);
    expect(emu.stats.calls['files/upload_session/start_batch']).toBe(1);
    expect(emu.stats.calls['files/upload_session/append_v2']).toBe(30);
    expect(emu.stats.calls['files/upload_session/finish_batch_v2']).toBe(1);
    expect(emu.stats.finishBatchEntries).toBe(30);
    for (const [i, it] of items.entries()) {
      expect(emu.file(`/Ferry/${it.path}`)?.length).toBe(i * 100);
      expect((results[i] as RemoteEntry).version).toMatch(/^[0-9a-f]{9,}$/);
    }
  });

  it('refuses to publish a batch file whose bytes changed; the others are committed', async () => {
    const { dest } = emulatedDropbox(emu);
    const torn = source(Buffer.from('indexed content'));
    writeFileSync(torn.absPath, Buffer.from('changed content'));
    const results = await dest.uploadBatch(
      [
        { path: 'torn/a.txt', source: torn },
        { path: 'torn/b.txt', source: source(Buffer.from('b')) },
      ],
      { signal: signal() },
    );
    expect((results[0] as FerryError).kind).toBe('source-changed');
    expect(emu.file('/Ferry/torn/a.txt')).toBeUndefined();
    expect(emu.file('/Ferry/torn/b.txt')?.toString()).toBe('b');
  });

  it('resumes an interrupted session upload from the last acknowledged offset (hashing that prefix again locally)', async () => {
    const resume = memoryResumeStore();
    const tuning = { chunkBytes: 4 * MiB, singleUploadBytes: 4 * MiB };
    const data = randomBytes(18 * MiB + 5);
    const src = source(data);
    const a = emulatedDropbox(emu, { resume, tuning }).dest;
    const stop = new AbortController();
    const err = await failure(
      a.upload('resume/big.bin', src, { signal: stop.signal, onProgress: (b) => b >= 8 * MiB && stop.abort() }),
    );
    expect(err.kind).toBe('cancelled');
    const saved = resume.load('dbx', 'resume/big.bin', src.hashes.sha256) as { sessionId: string; offset: number };
    expect(saved.offset).toBe(8 * MiB);
    expect(emu.openSessions().find((s) => s.id === saved.sessionId)?.size).toBe(8 * MiB);
    emu.resetStats();
    const b = emulatedDropbox(emu, { resume, tuning }).dest;
    const seen: number[] = [];
    const entry = await b.upload('resume/big.bin', src, { signal: signal(), onProgress: (n) => seen.push(n) });
    expect(seen[0]).toBe(8 * MiB);
    expect(seen.at(-1)).toBe(data.length);
    expect(emu.stats.contentBytes).toBe(data.length - 8 * MiB);
    expect(emu.stats.calls['files/upload_session/start'] ?? 0).toBe(0);
    expect(emu.stats.finishedSessions).toEqual([saved.sessionId]);
    expect(emu.file('/Ferry/resume/big.bin')?.equals(data)).toBe(true);
    expect(entry.hashes?.dropbox).toBe(src.hashes.dropbox);
    expect(resume.load('dbx', 'resume/big.bin', src.hashes.sha256)).toBeUndefined();
  });

  it('continues from the correct_offset Dropbox gives when an acknowledged append was not recorded', async () => {
    const resume = memoryResumeStore();
    const tuning = { chunkBytes: 4 * MiB, singleUploadBytes: 4 * MiB };
    const data = randomBytes(14 * MiB);
    const src = source(data);
    const stop = new AbortController();
    await failure(
      emulatedDropbox(emu, { resume, tuning }).dest.upload('offset/big.bin', src, {
        signal: stop.signal,
        onProgress: (b) => b >= 8 * MiB && stop.abort(),
      }),
    );
    // As if the answer to the second append had been lost: Ferry knows 4 MiB, Dropbox holds 8.
    const saved = resume.load('dbx', 'offset/big.bin', src.hashes.sha256) as {
      v: 1;
      sessionId: string;
      offset: number;
    };
    resume.save('dbx', 'offset/big.bin', src.hashes.sha256, { ...saved, offset: 4 * MiB });
    emu.resetStats();
    await emulatedDropbox(emu, { resume, tuning }).dest.upload('offset/big.bin', src, { signal: signal() });
    expect(emu.stats.finishedSessions).toEqual([saved.sessionId]);
    // One refused 4 MiB append, then the 6 MiB Dropbox did not have yet.
    expect(emu.stats.contentBytes).toBe(4 * MiB + 6 * MiB);
    expect(emu.file('/Ferry/offset/big.bin')?.equals(data)).toBe(true);
  });

  it('starts over when Dropbox no longer knows the session (expired after 7 days)', async () => {
    const resume = memoryResumeStore();
    const tuning = { chunkBytes: 4 * MiB, singleUploadBytes: 4 * MiB };
    const data = randomBytes(10 * MiB);
    const src = source(data);
    const stop = new AbortController();
    await failure(
      emulatedDropbox(emu, { resume, tuning }).dest.upload('expired/big.bin', src, {
        signal: stop.signal,
        onProgress: (b) => b >= 4 * MiB && stop.abort(),
      }),
    );
    const saved = resume.load('dbx', 'expired/big.bin', src.hashes.sha256) as { sessionId: string };
    emu.expireSession(saved.sessionId);
    await emulatedDropbox(emu, { resume, tuning }).dest.upload('expired/big.bin', src, { signal: signal() });
    expect(emu.stats.finishedSessions).not.toContain(saved.sessionId);
    expect(emu.file('/Ferry/expired/big.bin')?.equals(data)).toBe(true);
  });

  it('verifies downloads against the content_hash Dropbox reports', async () => {
    const { dest } = emulatedDropbox(emu);
    await dest.upload('dl/x.bin', source(randomBytes(1000)), { signal: signal() });
    emu.corruptFile('/Ferry/dl/x.bin');
    const err = await failure(dest.download('dl/x.bin', join(work, 'dl-x'), { signal: signal() }));
    expect(err.code).toBe('verify-failed');
  });

  it('classifies a full account as quota, 429 as rate-limited with Retry-After, too_many_write_operations likewise', async () => {
    const small = await startDropboxEmulator({ quotaBytes: 100 });
    try {
      const full = await failure(
        emulatedDropbox(small).dest.upload('q.bin', source(randomBytes(200)), { signal: signal() }),
      );
      expect(full.kind).toBe('quota');
      small.rateLimit = (route) => (route === 'files/upload' ? 7 : undefined);
      const limited = await failure(
        emulatedDropbox(small).dest.upload('r.bin', source(randomBytes(10)), { signal: signal() }),
      );
      expect(limited.kind).toBe('rate-limited');
      expect(limited.retryAfterMs).toBe(7000);
    } finally {
      await small.close();
    }
    const strict = await startDropboxEmulator({ maxConcurrentWrites: 1, writeLatencyMs: 50 });
    try {
      const { dest } = emulatedDropbox(strict);
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          dest.upload(`w/${i}.bin`, source(randomBytes(64 * 1024)), { signal: signal() }),
        ),
      );
      const refused = results
        .filter((r) => r.status === 'rejected')
        .map((r) => (r as PromiseRejectedResult).reason as FerryError);
      expect(strict.stats.tooManyWrites).toBeGreaterThan(0);
      expect(refused.length).toBe(strict.stats.tooManyWrites);
      for (const e of refused) expect([e.kind, e.retryAfterMs]).toEqual(['rate-limited', 1000]);
    } finally {
      await strict.close();
    }
  });

  it('classifies 5xx and dropped connections as retryable', async () => {
    const proxy = await startFaultProxy(emu.url, { faults: everyNth(1, '503', (r) => r.url.includes('/2/files/')) });
    try {
      const { dest } = emulatedDropbox(emu, { endpoint: proxy.url });
      expect((await failure(dest.stat('anything'))).kind).toBe('retryable');
      proxy.setFaults(everyNth(1, 'reset', (r) => r.url.includes('/2/files/')));
      expect((await failure(dest.upload('reset.bin', source(randomBytes(10)), { signal: signal() }))).kind).toBe(
        'retryable',
      );
    } finally {
      await proxy.close();
    }
  });

  describe('check() names the step that fails', () => {
    const checkFailure = async (dest: DropboxDestination) => {
      const err = await failure(dest.check());
      await dest.close();
      return err;
    };

    it('creates a missing root folder, then passes', async () => {
      const { dest } = emulatedDropbox(emu, { root: '/Brand new/Backups' });
      await expect(dest.check()).resolves.toBeUndefined();
      expect(emu.folders()).toContain('Brand new/Backups');
    });

    it('unreachable: nothing listens at the endpoint', async () => {
      const err = await checkFailure(emulatedDropbox(emu, { endpoint: 'http://127.0.0.1:9' }).dest);
      expect(err.code).toBe('unreachable');
    });

    it('auth-failed: the refresh token was revoked', async () => {
      const { dest, refreshToken } = emulatedDropbox(emu);
      emu.revoke(refreshToken);
      const err = await checkFailure(dest);
      expect(err.code).toBe('auth-failed');
      expect(err.hint).toMatch(/reconnect Dropbox/);
    });

    it('container-missing: the root folder is missing and Dropbox refuses to create it', async () => {
      emu.denyWrites = (p) => p === '/locked' || p.startsWith('/locked/');
      try {
        const err = await checkFailure(emulatedDropbox(emu, { root: '/Locked/Ferry' }).dest);
        expect(err.code).toBe('container-missing');
        expect(err.message).toContain('/Locked/Ferry');
      } finally {
        emu.denyWrites = undefined;
      }
    });

    it('read-only: an app without files.content.write (401 missing_scope)', async () => {
      emu.putFile('/ReadOnly/keep.txt', Buffer.from('x'));
      const token = emu.issueRefreshToken(['files.metadata.read', 'files.content.read']);
      const err = await checkFailure(emulatedDropbox(emu, { root: '/ReadOnly', refreshToken: token }).dest);
      expect(err.code).toBe('read-only');
      expect(err.hint).toMatch(/files\.content\.write/);
    });
  });
});
