import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/shared/config';
import { FerryError } from '../../src/shared/errors';
import { HttpUploadDestination, type HttpDestinationConfig } from '../../src/main/engine/providers/http/httpProvider';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { canCopy, canMove, canRead, canRemove, type UploadSource } from '../../src/main/engine/providers/types';
import { MultipartParser, startHttpReceiver, type Receiver } from '../servers/httpReceiver';

/**
 * The HTTP upload destination cannot run the whole provider conformance suite: it has no listing,
 * no stat and no download, so nothing can be read back through it. The parts that apply run here, with
 * the receiver's folder on disk as the reading side: byte-identical uploads (also empty, large with
 * progress, unicode and spaces), overwrite, refusing bytes that no longer match, cancellation, paths
 * that climb out; and what it cannot do is absent, not a method that throws (no Readable, no Removable).
 */

let dir: string;
let work: string;
let receiver: Receiver;
const signal = () => new AbortController().signal;

function dest(over: Partial<HttpDestinationConfig> = {}): HttpUploadDestination {
  const cfg = configSchema.parse({
    destinations: [{ id: 'web', type: 'http', url: `${receiver.url}/upload`, token: 'env:T', ...over }],
  }).destinations[0] as HttpDestinationConfig;
  return new HttpUploadDestination(cfg, { secret: () => 'sekret' });
}

function source(bytes: Buffer): UploadSource {
  const abs = join(work, `src-${randomBytes(4).toString('hex')}`);
  writeFileSync(abs, bytes);
  return {
    absPath: abs,
    size: bytes.length,
    mtimeMs: statSync(abs).mtimeMs,
    hashes: new MultiHash().update(bytes).digest(),
  };
}

async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-recv-'));
  work = mkdtempSync(join(tmpdir(), 'ferry-httpsrc-'));
  receiver = await startHttpReceiver({ dir, token: 'sekret' });
});
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('http upload destination (the parts of the conformance suite that apply)', () => {
  it('passes its connection check', async () => {
    await expect(dest().check()).resolves.toBeUndefined();
  });

  it('uploads a file that arrives byte-identical, and reports what the receiver vouched for', async () => {
    const data = randomBytes(100_000);
    const e = await dest().upload('put/one.bin', source(data), { signal: signal() });
    expect(readFileSync(join(dir, 'put', 'one.bin')).equals(data)).toBe(true);
    expect(e.size).toBe(data.length);
    expect(e.hashes?.sha256).toBe(new MultiHash().update(data).digest().sha256);
  });

  it('stores a zero-length file', async () => {
    await dest().upload('zero/empty', source(Buffer.alloc(0)), { signal: signal() });
    expect(statSync(join(dir, 'zero', 'empty')).size).toBe(0);
  });

  it('streams a large file, reporting progress up to its size', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const seen: number[] = [];
    await dest().upload('large/big.bin', source(data), { signal: signal(), onProgress: (b) => seen.push(b) });
    expect(seen.at(-1)).toBe(data.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(readFileSync(join(dir, 'large', 'big.bin')).equals(data)).toBe(true);
  });

  it('keeps unicode (NFC and NFD) names and spaces as given', async () => {
    const nfc = 'uni/café nfc.txt'.normalize('NFC');
    const nfd = 'uni2/café "quoted" nfd.txt'.normalize('NFD');
    await dest().upload(nfc, source(Buffer.from('nfc')), { signal: signal() });
    await dest().upload(nfd, source(Buffer.from('nfd')), { signal: signal() });
    expect(readdirSync(join(dir, 'uni'))).toContain('café nfc.txt'.normalize('NFC'));
    expect(readdirSync(join(dir, 'uni2'))).toContain('café "quoted" nfd.txt'.normalize('NFD'));
    expect(receiver.received.at(-1)?.filename).toBe('café "quoted" nfd.txt'.normalize('NFD'));
  });

  it('overwrites an existing file with new content', async () => {
    await dest().upload('over/w.txt', source(Buffer.from('version one')), { signal: signal() });
    await dest().upload('over/w.txt', source(Buffer.from('v2')), { signal: signal() });
    expect(readFileSync(join(dir, 'over', 'w.txt'), 'utf8')).toBe('v2');
  });

  it('refuses to deliver bytes that do not match the expected hash: the receiver never gets a whole file', async () => {
    const src = source(Buffer.from('what the index thinks!'));
    writeFileSync(src.absPath, Buffer.from('what the disk now has!'));
    const err = await failure(dest().upload('torn/t.txt', src, { signal: signal() }));
    expect(err.kind).toBe('source-changed');
    expect(() => statSync(join(dir, 'torn', 't.txt'))).toThrow();
  });

  it('cancels an upload in flight and the receiver keeps nothing', async () => {
    const controller = new AbortController();
    const err = await failure(
      dest().upload('cancel/c.bin', source(randomBytes(24 * 1024 * 1024)), {
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
    );
    expect(err.kind).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 100));
    expect(() => statSync(join(dir, 'cancel', 'c.bin'))).toThrow();
    expect(readdirSync(dir).filter((n) => n.startsWith('.incoming-'))).toEqual([]);
  });

  it('refuses a path that climbs out of its root', async () => {
    expect((await failure(dest().upload('../escape.txt', source(Buffer.from('no')), { signal: signal() }))).kind).toBe(
      'invalid-name',
    );
  });

  it('is an upload-only core: neither readable (list, stat, download) nor removable, as its type guards say', () => {
    const d = dest();
    expect(canRead(d)).toBe(false);
    expect(canRemove(d)).toBe(false);
    expect(canMove(d) || canCopy(d)).toBe(false);
  });

  it('check: a wrong token is an auth failure, a wrong path a missing endpoint, a closed port unreachable', async () => {
    const wrong = new HttpUploadDestination(
      configSchema.parse({
        destinations: [{ id: 'web', type: 'http', url: `${receiver.url}/upload`, token: 'env:T' }],
      }).destinations[0] as HttpDestinationConfig,
      { secret: () => 'not-it' },
    );
    expect((await failure(wrong.check())).code).toBe('auth-failed');
    expect((await failure(dest({ url: `${receiver.url}/elsewhere` }).check())).code).toBe('container-missing');
    const closed = await startHttpReceiver({ dir });
    const url = closed.url;
    await closed.close();
    expect((await failure(dest({ url: `${url}/upload` }).check())).code).toBe('unreachable');
  });
});

describe('the test receiver’s multipart parser', () => {
  it('finds boundaries split across chunks of every size, and keeps CRLF inside data', () => {
    const boundary = 'xyzBOUNDARYzyx';
    const file = Buffer.concat([
      randomBytes(3000),
      Buffer.from('\r\n--xyzBOUNDARY'),
      randomBytes(500),
      Buffer.from('\r\n'),
    ]);
    const body = Buffer.concat([
      Buffer.from(`preamble\r\n--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\na/b c.txt\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b c.txt"\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\nepilogue`),
    ]);
    for (const step of [1, 2, 7, 13, 64, 1000, body.length]) {
      const parts: { name?: string; filename?: string; data: Buffer[] }[] = [];
      const p = new MultipartParser(boundary, {
        part: (h) => parts.push({ name: h.name, filename: h.filename, data: [] }),
        data: (b) => parts.at(-1)?.data.push(b),
        end: () => undefined,
      });
      for (let i = 0; i < body.length; i += step) p.write(body.subarray(i, i + step));
      expect(p.finished).toBe(true);
      expect(parts.map((x) => [x.name, x.filename])).toEqual([
        ['path', undefined],
        ['file', 'b c.txt'],
      ]);
      expect(Buffer.concat(parts[0]?.data ?? []).toString()).toBe('a/b c.txt');
      expect(Buffer.concat(parts[1]?.data ?? []).equals(file)).toBe(true);
    }
  });
});
