import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteEntry, UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { FerryError } from '../../src/shared/errors';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { emulatedDropbox } from '../servers/dropboxHarness';

/**
 * The Dropbox provider against an emulator that refuses what Dropbox refuses (files.stone, the HTTP API
 * documentation): each test here failed before the provider followed the published API.
 */

const MiB = 1024 * 1024;

describe('dropbox provider follows the published API', () => {
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
    work = mkdtempSync(join(tmpdir(), 'ferry-dbx-fid-'));
    emu = await startDropboxEmulator();
  });
  afterAll(async () => {
    await emu.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('uploads a large file through a session: content_hash only describes each call, the whole file is checked by the metadata Dropbox returns', async () => {
    const { dest } = emulatedDropbox(emu, { tuning: { chunkBytes: 4 * MiB, singleUploadBytes: 4 * MiB } });
    const data = randomBytes(9 * MiB + 3);
    emu.resetStats();
    const entry = await dest.upload('large/big.bin', source(data), { signal: signal() });
    expect(emu.file('/Ferry/large/big.bin')?.equals(data)).toBe(true);
    expect(entry.hashes?.dropbox).toBe(new MultiHash(['dropbox']).update(data).digest().dropbox);
    expect(emu.stats.calls['files/upload_session/finish']).toBe(1);
  });

  it('commits batches with finish_batch_v2 (synchronous), no deprecated finish_batch or job polling', async () => {
    const { dest } = emulatedDropbox(emu);
    emu.resetStats();
    const items = Array.from({ length: 5 }, (_, i) => ({ path: `v2/f${i}.bin`, source: source(randomBytes(100 + i)) }));
    const results = await dest.uploadBatch(items, { signal: signal() });
    expect(results.filter((r) => r instanceof FerryError)).toEqual([]);
    expect(emu.stats.calls['files/upload_session/finish_batch_v2']).toBe(1);
    expect(emu.stats.calls['files/upload_session/finish_batch']).toBeUndefined();
    expect(emu.stats.calls['files/upload_session/finish_batch/check']).toBeUndefined();
    for (const it of items) expect(emu.file(`/Ferry/${it.path}`)?.length).toBe(it.source.size);
  });

  it('a batch entry refused with too_many_write_operations or internal_error fails (retryably) alone; the others are committed', async () => {
    const { dest } = emulatedDropbox(emu);
    emu.batchEntryFault = (p) =>
      p.endsWith('/busy.bin') ? 'too_many_write_operations' : p.endsWith('/broken.bin') ? 'internal_error' : undefined;
    try {
      const results = await dest.uploadBatch(
        [
          { path: 'entries/busy.bin', source: source(Buffer.from('busy')) },
          { path: 'entries/broken.bin', source: source(Buffer.from('broken')) },
          { path: 'entries/fine.bin', source: source(Buffer.from('fine')) },
        ],
        { signal: signal() },
      );
      expect((results[0] as FerryError).kind).toBe('rate-limited');
      expect((results[1] as FerryError).kind).toBe('retryable');
      expect((results[2] as RemoteEntry).size).toBe(4);
      expect(emu.file('/Ferry/entries/fine.bin')?.toString()).toBe('fine');
    } finally {
      emu.batchEntryFault = undefined;
    }
    // Retried alone, the refused entries are committed.
    const again = await dest.uploadBatch([{ path: 'entries/busy.bin', source: source(Buffer.from('busy')) }], {
      signal: signal(),
    });
    expect(again[0]).not.toBeInstanceOf(FerryError);
    expect(emu.file('/Ferry/entries/busy.bin')?.toString()).toBe('busy');
  });

  it("another writer's change to a file Ferry shipped is a conflict, not overwritten (update with the shipped rev)", async () => {
    const { dest } = emulatedDropbox(emu);
    await dest.upload('shared/notes.txt', source(Buffer.from('ferry v1')), { signal: signal() });
    emu.putFile('/Ferry/shared/notes.txt', Buffer.from('edited in Dropbox'));
    const err = await failure(dest.upload('shared/notes.txt', source(Buffer.from('ferry v2')), { signal: signal() }));
    expect(err.kind).toBe('conflict');
    expect(emu.file('/Ferry/shared/notes.txt')?.toString()).toBe('edited in Dropbox');
    // Its own previous write is still replaced as before.
    await dest.upload('shared/own.txt', source(Buffer.from('one')), { signal: signal() });
    await dest.upload('shared/own.txt', source(Buffer.from('two')), { signal: signal() });
    expect(emu.file('/Ferry/shared/own.txt')?.toString()).toBe('two');
  });

  it('lists paths in the case of each folder, not the stale parent case a file may carry in path_display', async () => {
    const { dest } = emulatedDropbox(emu);
    emu.putFile('/Ferry/Cases/Docs/a.txt', Buffer.from('a'));
    emu.staleParentCase = true;
    try {
      emu.putFile('/ferry/CASES/docs/b.txt', Buffer.from('b'));
      const paths: string[] = [];
      for await (const e of dest.list('')) if (e.path.toLowerCase().startsWith('cases/')) paths.push(e.path);
      expect(paths.sort()).toEqual(['Cases/Docs/a.txt', 'Cases/Docs/b.txt']);
    } finally {
      emu.staleParentCase = false;
    }
  });

  it('recovers from a list cursor reset with a full listing (each file once)', async () => {
    const paged = await startDropboxEmulator({ listPageSize: 2 });
    try {
      const { dest } = emulatedDropbox(paged);
      for (let i = 0; i < 7; i++) paged.putFile(`/Ferry/reset/f${i}.txt`, Buffer.from(String(i)));
      const seen: string[] = [];
      for await (const e of dest.list('reset')) {
        if (seen.length === 1) paged.resetCursors();
        seen.push(e.path);
      }
      expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `reset/f${i}.txt`));
    } finally {
      await paged.close();
    }
  });

  it('waits on longpoll past its timeout plus jitter, honours backoff, and relists after a cursor reset', async () => {
    const poll = await startDropboxEmulator();
    // A wait of (30 + 90) emulated seconds lasts 600 ms here; ordinary requests time out after 200 ms.
    poll.longpollSecondMs = 5;
    poll.longpollJitterSec = () => 90;
    poll.longpollBackoffSec = 1;
    const stop = new AbortController();
    try {
      const { dest } = emulatedDropbox(poll, { tuning: { timeoutMs: 200 } });
      let changes = 0;
      const watching = dest.watchChanges(() => changes++, stop.signal);
      const until = async (cond: () => boolean) => {
        while (!cond()) await new Promise((r) => setTimeout(r, 20));
      };
      await until(() => poll.stats.longpollAnswered >= 1);
      poll.putFile('/Ferry/watched/a.txt', Buffer.from('a'));
      await until(() => changes >= 1);
      poll.resetCursors();
      await until(() => changes >= 2); // a reset may hide changes: the caller relists
      stop.abort();
      await watching;
      expect(poll.stats.longpollAbandoned).toBe(0);
      expect(poll.stats.longpollTooSoon).toBe(0);
    } finally {
      stop.abort();
      await poll.close();
    }
  });

  it('streams a download to its temporary file: a file many times a bounded buffer does not stay in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { dest } = emulatedDropbox(emu);
    const size = 96 * MiB;
    emu.putFile('/Ferry/dl/huge.bin', Buffer.alloc(size, 0x5a));
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
    }, 5);
    try {
      const out = join(work, 'huge.bin');
      const entry = await dest.download('dl/huge.bin', out, {
        signal: signal(),
        onProgress: () => {
          gc();
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        },
      });
      expect(entry.size).toBe(size);
      expect(statSync(out).size).toBe(size);
      expect(
        readFileSync(out)
          .subarray(size - 4)
          .toString(),
      ).toBe('ZZZZ');
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeLessThan(size / 4);
  });
});
