import { describe, expect, it } from 'vitest';
import { digestResponse, splitChallenges } from '../../src/main/engine/providers/webdav/davAuth';
import { normalizeEtag, parseChecksums, parseMultistatus } from '../../src/main/engine/providers/webdav/davXml';
import { bodySnippet, statusError } from '../../src/main/engine/providers/kit/httpTransport';
import { parseRetryAfter } from '../../src/main/engine/providers/kit/retryAfter';

describe('WebDAV multistatus parsing', () => {
  it('reads files and collections whatever the namespace prefixes, keeping names and ETags as strings', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<multistatus xmlns="DAV:" xmlns:x="http://owncloud.org/ns">
  <response><href>/dav/a/</href><propstat><prop><resourcetype><collection/></resourcetype></prop>
    <status>HTTP/1.1 200 OK</status></propstat></response>
  <response><href>/dav/a/caf%C3%A9%20%26%20co.txt</href>
    <propstat><prop><getcontentlength>1234</getcontentlength><getetag>"1e5"</getetag>
      <getlastmodified>Sun, 22 Nov 2026 23:35:10 GMT</getlastmodified><resourcetype/>
      <x:checksums><x:checksum>SHA1:abc MD5:DEF SHA256:0123abcd</x:checksum></x:checksums></prop>
    <status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>`;
    const [dir, file] = parseMultistatus(xml);
    expect(dir).toMatchObject({ href: '/dav/a/', collection: true });
    expect(file).toMatchObject({
      href: '/dav/a/caf%C3%A9%20%26%20co.txt',
      collection: false,
      size: 1234,
      etag: '1e5',
      lastModifiedMs: Date.UTC(2026, 10, 22, 23, 35, 10),
      checksums: { sha1: 'abc', md5: 'def', sha256: '0123abcd' },
    });
  });

  it('takes the properties of every 2xx propstat, whichever comes first, and ignores the 404 ones', () => {
    const xml = `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/f</D:href>
      <D:propstat><D:prop><checksums xmlns="http://owncloud.org/ns"/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
      <D:propstat><D:prop><D:getcontentlength>7</D:getcontentlength><D:getetag>W/"abc"</D:getetag><D:resourcetype/></D:prop>
      <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
    expect(parseMultistatus(xml)[0]).toMatchObject({ size: 7, etag: 'abc', checksums: {} });
  });

  it('decodes entities and CDATA, and refuses a DOCTYPE (no entity expansion)', () => {
    const xml = `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a&amp;b/&#x63;<![CDATA[&d]]></d:href></d:response></d:multistatus>`;
    expect(parseMultistatus(xml)[0]?.href).toBe('/a&b/c&d');
    expect(() => parseMultistatus('<!DOCTYPE x [<!ENTITY e "boom">]><d:multistatus xmlns:d="DAV:"/>')).toThrow(
      /DOCTYPE/,
    );
    expect(() => parseMultistatus('<d:multistatus xmlns:d="DAV:"><d:response></d:multistatus>')).toThrow();
  });

  it('normalizes ETags and checksum lists', () => {
    expect(normalizeEtag('W/"x y"')).toBe('x y');
    expect(normalizeEtag('abc')).toBe('abc');
    expect(parseChecksums('SHA256:AA SHA3-256:bb')).toEqual({ sha256: 'aa', sha3256: 'bb' });
  });
});

describe('WebDAV authentication', () => {
  it('computes RFC 2617’s digest example', () => {
    expect(
      digestResponse({
        user: 'Mufasa',
        password: 'Circle Of Life',
        realm: 'testrealm@host.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('computes RFC 7616’s SHA-256 example', () => {
    expect(
      digestResponse({
        user: 'Mufasa',
        password: 'Circle of Life',
        realm: 'http-auth@example.org',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
        algorithm: 'SHA-256',
      }),
    ).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('splits several challenges with quoted commas', () => {
    expect(
      splitChallenges('Digest realm="a, b", nonce="n", qop="auth,auth-int", algorithm=MD5, Basic realm="r"'),
    ).toEqual([
      { scheme: 'digest', params: { realm: 'a, b', nonce: 'n', qop: 'auth,auth-int', algorithm: 'MD5' } },
      { scheme: 'basic', params: { realm: 'r' } },
    ]);
  });
});

describe('HTTP status classification (what the transfer pool does next)', () => {
  const answer = (status: number, headers: Record<string, string> = {}, body = '') => ({
    status,
    headers,
    body: Buffer.from(body),
  });
  const cases: [number, Record<string, string>, string, string][] = [
    [429, { 'retry-after': '7' }, 'rate-limited', 'rate-limited'],
    [503, { 'retry-after': '3' }, 'rate-limited', 'unavailable'],
    [503, {}, 'retryable', 'http-503'],
    [500, {}, 'retryable', 'http-500'],
    [502, {}, 'retryable', 'http-502'],
    [401, {}, 'auth', 'auth-failed'],
    [403, {}, 'auth', 'forbidden'],
    [404, {}, 'not-found', 'not-found'],
    [412, {}, 'conflict', 'conflict'],
    [409, {}, 'conflict', 'conflict'],
    [413, {}, 'permanent', 'too-large'],
    [507, {}, 'quota', 'quota'],
    [422, {}, 'permanent', 'http-422'],
  ];
  for (const [status, headers, kind, code] of cases)
    it(`${status}${headers['retry-after'] ? ' with Retry-After' : ''} → ${kind} (${code})`, () => {
      const e = statusError(answer(status, headers), 'PUT x', {});
      expect([e.kind, e.code]).toEqual([kind, code]);
      if (headers['retry-after']) expect(e.retryAfterMs).toBe(Number(headers['retry-after']) * 1000);
    });

  it('reads Retry-After as seconds or as a date, and quotes the server’s own message', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.UTC(2026, 0, 1))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(bodySnippet(Buffer.from('{"error":"no space left for team A"}'))).toBe('no space left for team A');
    expect(bodySnippet(Buffer.from('<d:error><s:message>Quota exceeded</s:message></d:error>'))).toBe('Quota exceeded');
    expect(statusError(answer(507, {}, 'full'), 'cannot upload a', {}).message).toBe(
      'cannot upload a: HTTP 507 — full',
    );
  });
});
