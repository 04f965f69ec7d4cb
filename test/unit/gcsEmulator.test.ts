import { createHash, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { JWTAccess } from 'google-auth-library';
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

  it('answers 410 Gone for an expired session, 404 for an unknown one, and 499 for a cancelled one', async () => {
    const a = String((await startSession('expire.bin')).headers.location);
    const b = String((await startSession('cancel.bin')).headers.location);
    expect((await http(b, 'DELETE')).status).toBe(499);
    expect((await http(b, 'PUT', { 'content-range': 'bytes */10' })).status).toBe(499);
    emu.expireSessions();
    expect((await http(a, 'PUT', { 'content-range': 'bytes */10' })).status).toBe(410);
    expect((await http(a, 'PUT', { 'content-range': 'bytes 0-9/10' }, Buffer.alloc(10))).status).toBe(410);
    const unknown = a.replace(/upload_id=[^&]+/, 'upload_id=nope');
    expect((await http(unknown, 'PUT', { 'content-range': 'bytes */10' })).status).toBe(404);
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

describe('GCS emulator: refuses what the service refuses', () => {
  let emu: GcsEmulator;
  let base: string;
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'sa@ferry-test-project.iam.gserviceaccount.com';
  const keyId = 'key-id-1';
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const SCOPE = 'https://www.googleapis.com/auth/devstorage.full_control';
  beforeAll(async () => {
    emu = await startGcsEmulator({
      buckets: ['acme-backup-bucket'],
      accounts: [
        {
          email,
          keyId,
          publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          role: 'writer',
        },
      ],
      tokens: { [TOKEN]: 'writer' },
    });
    base = emu.url;
  });
  afterAll(() => emu.close());

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = (
    header: Record<string, unknown>,
    claims: Record<string, unknown>,
    signWith: string | ReturnType<typeof generateKeyPairSync>['privateKey'] = pem,
  ) => {
    const input = `${b64(header)}.${b64(claims)}`;
    const sig = createSign('RSA-SHA256').update(input).sign(signWith).toString('base64url');
    return `${input}.${sig}`;
  };
  const now = () => Math.floor(Date.now() / 1000);
  const good = () => ({ iss: email, sub: email, scope: SCOPE, iat: now(), exp: now() + 3600 });
  const listWith = (token: string) =>
    http(`${base}/storage/v1/b/acme-backup-bucket/o`, 'GET', { authorization: `Bearer ${token}` });
  const put = (name: string, data: Buffer, query = '') =>
    http(
      `${base}/upload/storage/v1/b/acme-backup-bucket/o?uploadType=media&name=${encodeURIComponent(name)}${query}`,
      'POST',
      auth,
      data,
    );
  const objectUrl = (name: string) => `${base}/storage/v1/b/acme-backup-bucket/o/${encodeURIComponent(name)}`;

  it('accepts a self-signed JWT as AIP-4111 has it, and the one google-auth-library signs with the key id', async () => {
    expect((await listWith(jwt({ alg: 'RS256', typ: 'JWT', kid: keyId }, good()))).status).toBe(200);
    const signed = await new JWTAccess(email, pem, keyId).getRequestHeaders(undefined, undefined, SCOPE);
    const bearer = String(signed.Authorization).replace(/^Bearer /, '');
    expect((await listWith(bearer)).status).toBe(200);
  });

  it('refuses a self-signed JWT without kid, with another key id, with sub ≠ iss, living over an hour, or badly signed', async () => {
    const refused = async (token: string) => {
      const r = await listWith(token);
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({ error: { errors: [{ reason: 'authError' }] } });
    };
    const h = { alg: 'RS256', typ: 'JWT', kid: keyId };
    await refused(jwt({ alg: 'RS256', typ: 'JWT' }, good()));
    const noKid = await new JWTAccess(email, pem).getRequestHeaders(undefined, undefined, SCOPE);
    await refused(String(noKid.Authorization).replace(/^Bearer /, ''));
    await refused(jwt({ ...h, kid: 'another-key' }, good()));
    await refused(jwt(h, { ...good(), sub: 'someone@else.iam.gserviceaccount.com' }));
    await refused(jwt(h, { ...good(), exp: now() + 3601 }));
    await refused(jwt(h, { ...good(), iat: now() - 4000, exp: now() - 400 }));
    await refused(jwt(h, { ...good(), aud: 'https://storage.googleapis.com/' }));
    await refused(jwt(h, good(), other.privateKey));
  });

  it('answers a missing object in a bucket named "…bucket" with "No such object", and a missing bucket otherwise', async () => {
    expect((await put('bucket/notes.txt', Buffer.from('n'))).status).toBe(200);
    expect((await http(objectUrl('bucket/notes.txt'), 'GET', auth)).status).toBe(200);
    const missing = await http(objectUrl('bucket/gone.txt'), 'GET', auth);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({
      error: { message: 'No such object: acme-backup-bucket/bucket/gone.txt', errors: [{ reason: 'notFound' }] },
    });
    const noBucket = await http(`${base}/storage/v1/b/other-bucket/o/x`, 'GET', auth);
    expect(noBucket.status).toBe(404);
    expect(JSON.parse(noBucket.body)).toMatchObject({
      error: { message: 'The specified bucket does not exist.', errors: [{ reason: 'notFound' }] },
    });
  });

  it('answers 304 when ifGenerationNotMatch holds the generation, 412 when ifGenerationMatch does not', async () => {
    const stored = JSON.parse((await put('pre.txt', Buffer.from('v1'))).body) as { generation: string };
    const notModified = await http(`${objectUrl('pre.txt')}?ifGenerationNotMatch=${stored.generation}`, 'GET', auth);
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBe('');
    const media = await http(
      `${objectUrl('pre.txt')}?alt=media&ifGenerationNotMatch=${stored.generation}`,
      'GET',
      auth,
    );
    expect(media.status).toBe(304);
    expect((await http(`${objectUrl('pre.txt')}?ifGenerationNotMatch=1`, 'GET', auth)).status).toBe(200);
    const stale = await http(`${objectUrl('pre.txt')}?ifGenerationMatch=1`, 'DELETE', auth);
    expect(stale.status).toBe(412);
    expect(JSON.parse(stale.body)).toMatchObject({ error: { errors: [{ reason: 'conditionNotMet' }] } });
    expect(emu.object('acme-backup-bucket', 'pre.txt')).toBeDefined();
    expect((await http(`${objectUrl('pre.txt')}?ifGenerationMatch=${stored.generation}`, 'DELETE', auth)).status).toBe(
      204,
    );
  });

  it('rewrites a large object in several calls (done:false + rewriteToken) and refuses a token call that changes parameters', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 5);
    const src = JSON.parse((await put('big/src.bin', data)).body) as { generation: string };
    const url = `${objectUrl('big/src.bin')}/rewriteTo/b/acme-backup-bucket/o/${encodeURIComponent('big/dst.bin')}`;
    const q = `ifGenerationMatch=0&ifSourceGenerationMatch=${src.generation}`;
    const call = async (query: string) => {
      const r = await http(
        `${url}?${query}`,
        'POST',
        { ...auth, 'content-type': 'application/json' },
        Buffer.from('{}'),
      );
      return { status: r.status, body: JSON.parse(r.body || '{}') as Record<string, unknown> };
    };
    const first = await call(q);
    expect(first.body).toMatchObject({ done: false, totalBytesRewritten: String(1024 * 1024) });
    expect(typeof first.body.rewriteToken).toBe('string');
    expect(emu.object('acme-backup-bucket', 'big/dst.bin')).toBeUndefined();
    const token = String(first.body.rewriteToken);
    expect((await call(`ifGenerationMatch=5&rewriteToken=${token}`)).status).toBe(400);
    const second = await call(`rewriteToken=${token}`);
    expect(second.body).toMatchObject({ done: false, totalBytesRewritten: String(2 * 1024 * 1024) });
    const last = await call(`${q}&rewriteToken=${String(second.body.rewriteToken)}`);
    expect(last.body).toMatchObject({ done: true, resource: { name: 'big/dst.bin', size: String(data.length) } });
    expect(emu.object('acme-backup-bucket', 'big/dst.bin')?.data.equals(data)).toBe(true);
    // A source that is not the generation named: 412.
    expect((await call(`ifSourceGenerationMatch=1`)).status).toBe(412);
  });

  it('checks the destination precondition again when a multi-call rewrite completes', async () => {
    const data = randomBytes(1024 * 1024 + 1);
    await put('race/src.bin', data);
    const url = `${objectUrl('race/src.bin')}/rewriteTo/b/acme-backup-bucket/o/${encodeURIComponent('race/dst.bin')}`;
    const first = JSON.parse((await http(`${url}?ifGenerationMatch=0`, 'POST', auth)).body) as { rewriteToken: string };
    await put('race/dst.bin', Buffer.from('someone else'));
    const last = await http(`${url}?rewriteToken=${first.rewriteToken}`, 'POST', auth);
    expect(last.status).toBe(412);
    expect(emu.object('acme-backup-bucket', 'race/dst.bin')?.data.toString()).toBe('someone else');
  });

  it('composes objects into a composite object that has a CRC32C and no md5Hash, also after a rewrite', async () => {
    await put('c/1', Buffer.from('hello '));
    await put('c/2', Buffer.from('world'));
    const r = await http(
      `${objectUrl('c/all')}/compose`,
      'POST',
      { ...auth, 'content-type': 'application/json' },
      Buffer.from(JSON.stringify({ sourceObjects: [{ name: 'c/1' }, { name: 'c/2' }], destination: {} })),
    );
    expect(r.status).toBe(200);
    const meta = JSON.parse(r.body) as Record<string, unknown>;
    expect(meta.md5Hash).toBeUndefined();
    expect(meta.componentCount).toBe(2);
    expect(meta.crc32c).toBe(crc32cBase64(Buffer.from('hello world')));
    const media = await http(`${objectUrl('c/all')}?alt=media`, 'GET', auth);
    expect(media.body).toBe('hello world');
    expect(String(media.headers['x-goog-hash'])).not.toContain('md5=');
    const copied = await http(
      `${objectUrl('c/all')}/rewriteTo/b/acme-backup-bucket/o/${encodeURIComponent('c/copy')}`,
      'POST',
      auth,
    );
    expect((JSON.parse(copied.body) as { resource: Record<string, unknown> }).resource.md5Hash).toBeUndefined();
  });
});
