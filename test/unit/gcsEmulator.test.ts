import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32cBase64, startGcsEmulator, type GcsEmulator } from '../servers/gcsEmulator';

/**
 * The emulator's protocol, driven by a raw HTTP client as the JSON API documentation describes it, so
 * that a provider bug and an emulator bug cannot cancel out.
 */
type Res = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

function http(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: Buffer,
  opts: { abortAfter?: number } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, 'content-length': body?.length ?? 0 } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }),
      );
    });
    if (body && opts.abortAfter !== undefined) {
      // The client gives up mid-body: the error that follows is the point.
      req.on('error', () => undefined);
      req.write(body.subarray(0, opts.abortAfter), () => setTimeout(() => req.destroy(), 50));
      req.on('close', () => resolve({ status: 0, headers: {}, body: '' }));
      return;
    }
    req.on('error', reject);
    req.end(body);
  });
}

const KiB256 = 256 * 1024;
const TOKEN = 'test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('GCS emulator: the JSON API as documented', () => {
  let emu: GcsEmulator;
  let base: string;
  beforeAll(async () => {
    emu = await startGcsEmulator({ buckets: ['raw'], tokens: { [TOKEN]: 'writer', 'reader-token': 'reader' } });
    base = emu.url;
  });
  afterAll(() => emu.close());

  const startSession = async (name: string, query = '') => {
    const r = await http(
      `${base}/upload/storage/v1/b/raw/o?uploadType=resumable&name=${encodeURIComponent(name)}${query}`,
      'POST',
      { ...auth, 'content-type': 'application/json; charset=UTF-8' },
      Buffer.from(JSON.stringify({ metadata: { k: 'v' } })),
    );
    return r;
  };

  it('computes CRC32C with the Castagnoli polynomial (RFC 3720 check value of "123456789")', () => {
    expect(Buffer.from(crc32cBase64(Buffer.from('123456789')), 'base64').readUInt32BE()).toBe(0xe3069283);
  });

  it('runs a resumable session: 308 with Range after each chunk, 256 KiB units kept, the object on the last', async () => {
    const data = randomBytes(3 * KiB256 + 1000);
    const init = await startSession('dir/resumable.bin');
    expect(init.status).toBe(200);
    const uri = String(init.headers.location);
    expect(uri).toContain('upload_id=');

    // Nothing sent yet: 308 without a Range header.
    const empty = await http(uri, 'PUT', { 'content-range': `bytes */${data.length}` });
    expect(empty.status).toBe(308);
    expect(empty.headers.range).toBeUndefined();

    // A chunk that is not a multiple of 256 KiB: only whole units are kept.
    const first = await http(
      uri,
      'PUT',
      { 'content-range': `bytes 0-${KiB256 + 99}/*` },
      data.subarray(0, KiB256 + 100),
    );
    expect(first.status).toBe(308);
    expect(first.headers.range).toBe(`bytes=0-${KiB256 - 1}`);

    // Resend from where the service is; the status query agrees.
    const second = await http(
      uri,
      'PUT',
      { 'content-range': `bytes ${KiB256}-${3 * KiB256 - 1}/*` },
      data.subarray(KiB256, 3 * KiB256),
    );
    expect(second.headers.range).toBe(`bytes=0-${3 * KiB256 - 1}`);
    const status = await http(uri, 'PUT', { 'content-range': `bytes */${data.length}` });
    expect(status.status).toBe(308);
    expect(status.headers.range).toBe(`bytes=0-${3 * KiB256 - 1}`);
    expect(emu.object('raw', 'dir/resumable.bin')).toBeUndefined();

    // A chunk that skips bytes is refused.
    const gap = await http(
      uri,
      'PUT',
      { 'content-range': `bytes ${3 * KiB256 + 10}-${data.length - 1}/${data.length}` },
      data.subarray(3 * KiB256 + 10),
    );
    expect(gap.status).toBe(400);

    const last = await http(
      uri,
      'PUT',
      { 'content-range': `bytes ${3 * KiB256}-${data.length - 1}/${data.length}` },
      data.subarray(3 * KiB256),
    );
    expect(last.status).toBe(200);
    const obj = JSON.parse(last.body) as Record<string, unknown>;
    expect(obj.size).toBe(String(data.length));
    expect(obj.md5Hash).toBe(createHash('md5').update(data).digest('base64'));
    expect(obj.crc32c).toBe(crc32cBase64(data));
    expect(obj.metadata).toEqual({ k: 'v' });
    expect(emu.object('raw', 'dir/resumable.bin')?.data.equals(data)).toBe(true);

    // The finished session answers with the object.
    const after = await http(uri, 'PUT', { 'content-range': `bytes */${data.length}` });
    expect(after.status).toBe(200);
  });

  it('keeps the whole 256 KiB units of a chunk whose connection broke', async () => {
    const data = randomBytes(4 * KiB256);
    const uri = String((await startSession('broken.bin')).headers.location);
    await http(uri, 'PUT', { 'content-range': `bytes 0-${data.length - 1}/${data.length}` }, data, {
      abortAfter: 2 * KiB256 + 500,
    });
    await new Promise((r) => setTimeout(r, 100));
    const status = await http(uri, 'PUT', { 'content-range': `bytes */${data.length}` });
    expect(status.status).toBe(308);
    expect(status.headers.range).toBe(`bytes=0-${2 * KiB256 - 1}`);
  });

  it('refuses a last chunk whose X-Goog-Hash differs from the bytes, and publishes nothing', async () => {
    const data = randomBytes(1000);
    const uri = String((await startSession('hash.bin')).headers.location);
    const r = await http(
      uri,
      'PUT',
      {
        'content-range': `bytes 0-999/1000`,
        'x-goog-hash': `md5=${createHash('md5').update('other').digest('base64')}`,
      },
      data,
    );
    expect(r.status).toBe(400);
    expect(emu.object('raw', 'hash.bin')).toBeUndefined();
  });

  it('checks ifGenerationMatch when a session starts and again when it completes (412)', async () => {
    const uri = String((await startSession('race.bin', '&ifGenerationMatch=0')).headers.location);
    const other = await http(
      `${base}/upload/storage/v1/b/raw/o?uploadType=media&name=race.bin`,
      'POST',
      auth,
      Buffer.from('someone else'),
    );
    expect(other.status).toBe(200);
    const done = await http(uri, 'PUT', { 'content-range': 'bytes 0-2/3' }, Buffer.from('abc'));
    expect(done.status).toBe(412);
    expect(JSON.parse(done.body)).toMatchObject({ error: { code: 412, errors: [{ reason: 'conditionNotMet' }] } });
    const again = await startSession('race.bin', '&ifGenerationMatch=0');
    expect(again.status).toBe(412);
  });

  it('answers 404 for an expired session and 499 for a cancelled one', async () => {
    const a = String((await startSession('expire.bin')).headers.location);
    const b = String((await startSession('cancel.bin')).headers.location);
    expect((await http(b, 'DELETE')).status).toBe(499);
    expect((await http(b, 'PUT', { 'content-range': 'bytes */10' })).status).toBe(499);
    emu.expireSessions();
    expect((await http(a, 'PUT', { 'content-range': 'bytes */10' })).status).toBe(404);
  });

  it('stores a multipart upload with its metadata and checks a given md5Hash', async () => {
    const send = (md5: string) => {
      const meta = JSON.stringify({ name: 'multi/part.txt', metadata: { a: '1' }, md5Hash: md5 });
      const body = Buffer.from(
        `--XX\r\nContent-Type: application/json\r\n\r\n${meta}\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n`,
      );
      return http(
        `${base}/upload/storage/v1/b/raw/o?uploadType=multipart`,
        'POST',
        { ...auth, 'content-type': 'multipart/related; boundary=XX' },
        body,
      );
    };
    expect((await send(createHash('md5').update('wrong').digest('base64'))).status).toBe(400);
    const ok = await send(createHash('md5').update('hello').digest('base64'));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ name: 'multi/part.txt', size: '5', metadata: { a: '1' } });
  });

  it('lists with prefix, delimiter and pages of maxResults', async () => {
    for (const n of ['l/a', 'l/b', 'l/c/1', 'l/c/2', 'l/d'])
      await http(
        `${base}/upload/storage/v1/b/raw/o?uploadType=media&name=${encodeURIComponent(n)}`,
        'POST',
        auth,
        Buffer.from(n),
      );
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await http(
        `${base}/storage/v1/b/raw/o?prefix=l/&maxResults=2${token ? `&pageToken=${token}` : ''}`,
        'GET',
        auth,
      );
      const page = JSON.parse(r.body) as { items?: { name: string }[]; nextPageToken?: string };
      names.push(...(page.items ?? []).map((i) => i.name));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(names).toEqual(['l/a', 'l/b', 'l/c/1', 'l/c/2', 'l/d']);
    expect(pages).toBe(3);
    const delim = JSON.parse((await http(`${base}/storage/v1/b/raw/o?prefix=l/&delimiter=/`, 'GET', auth)).body) as {
      items: { name: string }[];
      prefixes: string[];
    };
    expect(delim.items.map((i) => i.name)).toEqual(['l/a', 'l/b', 'l/d']);
    expect(delim.prefixes).toEqual(['l/c/']);
  });

  it('serves byte ranges of alt=media with the object hashes in x-goog-hash', async () => {
    const r = await http(`${base}/storage/v1/b/raw/o/${encodeURIComponent('multi/part.txt')}?alt=media`, 'GET', {
      ...auth,
      range: 'bytes=1-3',
    });
    expect(r.status).toBe(206);
    expect(r.body).toBe('ell');
    expect(r.headers['content-range']).toBe('bytes 1-3/5');
    expect(String(r.headers['x-goog-hash'])).toContain(`md5=${createHash('md5').update('hello').digest('base64')}`);
  });

  it('answers JSON errors as the service does: 401 without a token, 403 for a reader writing, 404 for a missing object', async () => {
    const anon = await http(`${base}/storage/v1/b/raw/o`, 'GET');
    expect(anon.status).toBe(401);
    expect(JSON.parse(anon.body)).toMatchObject({ error: { code: 401, errors: [{ reason: 'required' }] } });
    const bad = await http(`${base}/storage/v1/b/raw/o`, 'GET', { authorization: 'Bearer nope' });
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 401, errors: [{ reason: 'authError' }] } });
    const reader = await http(
      `${base}/upload/storage/v1/b/raw/o?uploadType=media&name=x`,
      'POST',
      { authorization: 'Bearer reader-token' },
      Buffer.from('x'),
    );
    expect(reader.status).toBe(403);
    expect(JSON.parse(reader.body)).toMatchObject({ error: { code: 403, errors: [{ reason: 'forbidden' }] } });
    const missing = await http(`${base}/storage/v1/b/raw/o/nothing`, 'GET', auth);
    expect(JSON.parse(missing.body)).toEqual({
      error: {
        code: 404,
        message: 'No such object: raw/nothing',
        errors: [{ message: 'No such object: raw/nothing', domain: 'global', reason: 'notFound' }],
      },
    });
  });

  it('answers injected 429s with Retry-After, and refuses names GCS forbids', async () => {
    emu.inject((r) => (r.path.endsWith('/o') && r.method === 'GET' ? { status: 429, retryAfterSec: 3 } : undefined));
    const limited = await http(`${base}/storage/v1/b/raw/o`, 'GET', auth);
    emu.inject(undefined);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
    expect(JSON.parse(limited.body)).toMatchObject({ error: { errors: [{ reason: 'rateLimitExceeded' }] } });
    for (const name of ['a\nb', '..', '.well-known/acme-challenge/x', 'x'.repeat(1025)]) {
      const r = await http(
        `${base}/upload/storage/v1/b/raw/o?uploadType=media&name=${encodeURIComponent(name)}`,
        'POST',
        auth,
        Buffer.from('x'),
      );
      expect(r.status, name.slice(0, 30)).toBe(400);
    }
  });
});
