import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import {
  canCopy,
  canMove,
  type FullDestination,
  type RemoteEntry,
  type UploadSource,
} from '../../src/main/engine/providers/types';

export type ProviderHarness = { dest: FullDestination; teardown?: () => Promise<void> };

/**
 * The one suite every destination runs (rclone's fstests idea): the in-memory reference first, then
 * each real provider against a real server. A provider is done when this passes against its server.
 */
/** What a provider promises beyond the core, each checked by its own tests. */
export type ConformanceClaims = {
  conditionalWrites?: boolean;
  /**
   * The server offers nothing but a file's size to version it by (an FTP server without MLSD, such
   * as vsftpd): two contents of one size share a version, and the provider must not claim otherwise.
   */
  sizeOnlyVersions?: boolean;
};

export function providerConformance(
  name: string,
  setup: () => Promise<ProviderHarness>,
  claims: ConformanceClaims = {},
): void {
  describe(`provider conformance: ${name}`, () => {
    let h: ProviderHarness;
    let dest: FullDestination;
    let work: string;
    const signal = () => new AbortController().signal;

    const source = (bytes: Buffer, fileName = `src-${Math.random().toString(36).slice(2)}`): UploadSource => {
      const abs = join(work, fileName);
      writeFileSync(abs, bytes);
      return {
        absPath: abs,
        size: bytes.length,
        mtimeMs: statSync(abs).mtimeMs,
        hashes: new MultiHash(['md5', 'dropbox']).update(bytes).digest(),
      };
    };
    const put = (path: string, bytes: Buffer) => dest.upload(path, source(bytes), { signal: signal() });
    const readBack = async (path: string): Promise<Buffer> => {
      const to = join(work, `back-${Math.random().toString(36).slice(2)}`);
      await dest.download(path, to, { signal: signal() });
      return readFileSync(to);
    };
    const listAll = async (prefix = ''): Promise<RemoteEntry[]> => {
      const out: RemoteEntry[] = [];
      for await (const e of dest.list(prefix)) out.push(e);
      return out;
    };
    const expectKind = async (p: Promise<unknown>, kind: FerryError['kind']) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `expected a FerryError of kind ${kind}`).toBeInstanceOf(FerryError);
      expect((err as FerryError).kind).toBe(kind);
    };

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'ferry-conf-'));
      h = await setup();
      dest = h.dest;
    });
    afterAll(async () => {
      await dest?.close();
      await h?.teardown?.();
      rmSync(work, { recursive: true, force: true });
    });

    it('passes its connection check', async () => {
      await expect(dest.check()).resolves.toBeUndefined();
    });

    it('uploads a file that then stats, lists and reads back byte-identical', async () => {
      const data = randomBytes(100_000);
      const entry = await put('put/one.bin', data);
      expect(entry.size).toBe(data.length);
      expect((await dest.stat('put/one.bin'))?.size).toBe(data.length);
      expect((await listAll('put')).map((e) => e.path)).toEqual(['put/one.bin']);
      expect((await readBack('put/one.bin')).equals(data)).toBe(true);
    });

    it('reports hashes that match the content, when it reports any', async () => {
      const data = randomBytes(5000);
      const entry = await put('hash/h.bin', data);
      const expected = new MultiHash(['md5', 'dropbox']).update(data).digest();
      for (const [kind, value] of Object.entries(entry.hashes ?? {}))
        expect(value).toBe(expected[kind as keyof typeof expected]);
    });

    it('stores a zero-length file', async () => {
      await put('zero/empty', Buffer.alloc(0));
      expect((await dest.stat('zero/empty'))?.size).toBe(0);
      expect((await readBack('zero/empty')).length).toBe(0);
    });

    it('stores a large file, reporting progress up to its size', async () => {
      const data = randomBytes(12 * 1024 * 1024 + 123);
      const seen: number[] = [];
      await dest.upload('large/big.bin', source(data), { signal: signal(), onProgress: (b) => seen.push(b) });
      expect(seen.at(-1)).toBe(data.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect((await readBack('large/big.bin')).equals(data)).toBe(true);
    });

    it('keeps unicode (NFC and NFD) names and spaces as given', async () => {
      const nfc = 'uni/café nfc.txt'.normalize('NFC');
      const nfd = 'uni2/café nfd.txt'.normalize('NFD');
      await put(nfc, Buffer.from('nfc'));
      await put(nfd, Buffer.from('nfd'));
      const names = (await listAll()).map((e) => e.path);
      expect(names).toContain(nfc);
      expect(names).toContain(nfd);
      expect((await readBack(nfd)).toString()).toBe('nfd');
    });

    it('answers an upload with the version a stat and a listing then report (what Ferry records is what it finds)', async () => {
      // Two-way compares the recorded version with the listing's, and a mirror deletes only the version it
      // recorded: an upload answering another token than the file then carries would look like someone
      // else's write on every pass.
      for (const [path, data] of [
        ['ver/new.txt', 'first'],
        ['ver/new.txt', 'second, longer'],
        ['ver/empty.txt', ''],
      ] as const) {
        const entry = await put(path, Buffer.from(data));
        const stat = await dest.stat(path);
        const listed = (await listAll('ver')).find((e) => e.path === path);
        expect(stat?.version, `${path} (${data}): stat`).toBe(entry.version);
        expect(listed?.version, `${path} (${data}): listing`).toBe(entry.version);
      }
    });

    it('overwrites an existing file with new content', async () => {
      await put('over/w.txt', Buffer.from('version one'));
      await put('over/w.txt', Buffer.from('v2'));
      expect((await dest.stat('over/w.txt'))?.size).toBe(2);
      expect((await readBack('over/w.txt')).toString()).toBe('v2');
    });

    it('refuses to publish bytes that do not match the expected hash', async () => {
      const src = source(Buffer.from('what the index thinks'));
      writeFileSync(src.absPath, Buffer.from('what the disk now holds'));
      src.size = statSync(src.absPath).size;
      await expectKind(dest.upload('torn/t.txt', src, { signal: signal() }), 'source-changed');
      expect(await dest.stat('torn/t.txt')).toBeUndefined();
      expect((await listAll('torn')).filter((e) => !e.partial)).toEqual([]);
    });

    it('answers for missing paths without inventing them', async () => {
      expect(await dest.stat('missing/nothing')).toBeUndefined();
      await expect(dest.delete('missing/nothing')).resolves.toBeUndefined();
      expect(await listAll('missing')).toEqual([]);
      await expectKind(dest.download('missing/nothing', join(work, 'never'), { signal: signal() }), 'not-found');
    });

    it('deletes a file', async () => {
      await put('del/x', Buffer.from('x'));
      await dest.delete('del/x');
      expect(await dest.stat('del/x')).toBeUndefined();
    });

    it('lists only below the prefix asked for', async () => {
      await put('pre/a/1', Buffer.from('1'));
      await put('pre/b/2', Buffer.from('2'));
      await put('prefix-sibling/3', Buffer.from('3'));
      expect((await listAll('pre/a')).map((e) => e.path)).toEqual(['pre/a/1']);
      expect((await listAll('pre')).map((e) => e.path).sort()).toEqual(['pre/a/1', 'pre/b/2']);
    });

    it('moves on the server when it can, keeping the bytes', async () => {
      if (!canMove(dest)) return;
      const data = randomBytes(2048);
      await put('mv/from.bin', data);
      await dest.move('mv/from.bin', 'mv/deeper/to.bin');
      expect(await dest.stat('mv/from.bin')).toBeUndefined();
      expect((await readBack('mv/deeper/to.bin')).equals(data)).toBe(true);
      await expectKind(dest.move('mv/absent', 'mv/elsewhere'), 'not-found');
    });

    it('copies on the server when it can, keeping the source', async () => {
      if (!canCopy(dest)) return;
      const data = randomBytes(2048);
      await put('cp/from.bin', data);
      await dest.copy('cp/from.bin', 'cp/to.bin');
      expect((await readBack('cp/from.bin')).equals(data)).toBe(true);
      expect((await readBack('cp/to.bin')).equals(data)).toBe(true);
    });

    it('cancels an upload in flight and leaves nothing under the final name', async () => {
      const data = randomBytes(24 * 1024 * 1024);
      const controller = new AbortController();
      const p = dest.upload('cancel/c.bin', source(data), {
        signal: controller.signal,
        onProgress: () => controller.abort(),
      });
      await expectKind(p, 'cancelled');
      expect(await dest.stat('cancel/c.bin')).toBeUndefined();
    });

    it('refuses a path that climbs out of its root', async () => {
      await expectKind(put('../escape.txt', Buffer.from('no')), 'invalid-name');
    });

    if (claims.conditionalWrites)
      it('writes conditionally: an upload over a version that changed since, or over a file expected absent, is refused and the other writer keeps its file', async () => {
        expect(dest.features.conditionalWrites).toBe(true);
        const seen = await put('cond/a.txt', Buffer.from('theirs, first'));
        const theirs = Buffer.from('theirs, changed again meanwhile');
        const now = await put('cond/a.txt', theirs);
        expect(now.version).toBeDefined();
        expect(now.version).not.toBe(seen.version);
        const mine = (replaces: string | null) => ({ ...source(Buffer.from('mine')), replaces });
        for (const replaces of [seen.version ?? null, null]) {
          const err = await dest.upload('cond/a.txt', mine(replaces), { signal: signal() }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `replacing ${replaces} should be refused`).toBeInstanceOf(FerryError);
          expect((err as FerryError).code).toBe('remote-changed');
          expect((err as FerryError).kind).toBe('conflict');
          expect((await readBack('cond/a.txt')).equals(theirs)).toBe(true);
        }
        const replaced = await dest.upload('cond/a.txt', mine(now.version ?? null), { signal: signal() });
        expect(replaced.size).toBe(4);
        expect((await readBack('cond/a.txt')).toString()).toBe('mine');
        await dest.upload('cond/new.txt', mine(null), { signal: signal() });
        expect((await readBack('cond/new.txt')).toString()).toBe('mine');
        expect((await listAll('cond')).filter((e) => e.partial)).toEqual([]);
      });

    if (claims.sizeOnlyVersions)
      it('admits that its versions are the size only: two contents of one size share one, and it claims no version per write', async () => {
        // Two-way sync then reads the destination's copy back before it replaces or deletes it.
        const first = await put('same/t.txt', Buffer.from('a v142'));
        const second = await dest.upload(
          'same/t.txt',
          { ...source(Buffer.from('b v143')), replaces: first.version ?? null },
          { signal: signal() },
        );
        expect(first.version).toBeDefined();
        expect(second.version).toBe(first.version);
        expect((await dest.stat('same/t.txt'))?.version).toBe(second.version);
        expect(dest.features.versionPerWrite).not.toBe(true);
      });
    else
      it('tells apart, by version, two contents of one size written over each other with the same modification time', async () => {
        // Two instances' edits within one second: a two-way pass must not take the second for the first.
        // Where a version is only size and time, the second upload (it names what it replaces) moves a second on.
        const mtimeMs = Date.parse('2026-11-23T10:00:00.123Z');
        const first = await dest.upload(
          'same/t.txt',
          { ...source(Buffer.from('a v142')), mtimeMs },
          { signal: signal() },
        );
        const second = await dest.upload(
          'same/t.txt',
          { ...source(Buffer.from('b v143')), mtimeMs, replaces: first.version ?? null },
          { signal: signal() },
        );
        expect(second.size).toBe(first.size);
        expect(first.version).toBeDefined();
        expect(second.version).not.toBe(first.version);
        const listed = (await listAll('same')).find((e) => e.path === 'same/t.txt');
        expect(listed?.version).toBe(second.version);
        expect((await dest.stat('same/t.txt'))?.version).toBe(second.version);
      });
  });
}
