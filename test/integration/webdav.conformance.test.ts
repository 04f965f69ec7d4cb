import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/shared/config';
import { FerryError } from '../../src/shared/errors';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { WebdavDestination, type WebdavDestinationConfig } from '../../src/main/engine/providers/webdav/webdavProvider';
import { splitChallenges } from '../../src/main/engine/providers/webdav/davAuth';
import type { UploadSource } from '../../src/main/engine/providers/types';
import { providerConformance } from '../conformance/providerSuite';
import { freePort, startDavFront, startRcloneWebdav, type RcloneServer } from '../servers/rcloneServe';

const servers: RcloneServer[] = [];
const roots: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function webdavConfig(over: Partial<WebdavDestinationConfig> & { url: string }): WebdavDestinationConfig {
  const parsed = configSchema.parse({
    destinations: [{ id: 'dav', type: 'webdav', user: 'u', password: 'env:FERRY_TEST_DAV_PASSWORD', ...over }],
  });
  return parsed.destinations[0] as WebdavDestinationConfig;
}

function makeDest(over: Partial<WebdavDestinationConfig> & { url: string }, password = 'p'): WebdavDestination {
  return new WebdavDestination(webdavConfig(over), { secret: () => password });
}

async function serve(opts: { readOnly?: boolean } = {}): Promise<RcloneServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dav-'));
  roots.push(dir);
  const s = await startRcloneWebdav(dir, opts);
  servers.push(s);
  return s;
}

function tempsUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const abs = join(dir, n);
      if (statSync(abs).isDirectory()) walk(abs);
      else if (n.startsWith('.ferrytmp-')) found.push(abs);
    }
  };
  walk(root);
  return found;
}

function sourceOf(dir: string, bytes: Buffer): UploadSource {
  const abs = join(dir, `src-${randomBytes(4).toString('hex')}`);
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

let suiteServer: RcloneServer | undefined;
providerConformance('webdav (rclone serve webdav)', async () => {
  suiteServer = await serve();
  return { dest: makeDest({ url: suiteServer.url }) };
});

it('webdav provider: leaves no temporary file behind after the whole suite (cancelled and refused uploads included)', () => {
  const root = suiteServer?.dir as string;
  expect(readdirSync(root).length).toBeGreaterThan(5);
  expect(tempsUnder(root).map((p) => p.slice(root.length))).toEqual([]);
});

describe('webdav provider against rclone serve webdav', () => {
  let s: RcloneServer;
  let work: string;
  beforeAll(async () => {
    s = await serve();
    work = mkdtempSync(join(tmpdir(), 'ferry-davsrc-'));
    roots.push(work);
  });

  it('check says which step failed: wrong password → auth, missing folder → container, read-only → write, nothing listening → connect', async () => {
    const wrong = await failure(makeDest({ url: s.url }, 'not-the-password').check());
    expect(wrong.code).toBe('auth-failed');
    expect(wrong.message).toMatch(/401/);
    const missing = await failure(makeDest({ url: s.url, path: '/no/such/folder' }).check());
    expect(missing.code).toBe('container-missing');
    expect(missing.message).toContain('no/such/folder');
    const ro = await serve({ readOnly: true });
    const readOnly = await failure(makeDest({ url: ro.url }).check());
    expect(readOnly.code).toBe('read-only');
    expect(readOnly.hint).toMatch(/write permission/);
    const port = await freePort();
    const down = await failure(makeDest({ url: `http://127.0.0.1:${port}` }).check());
    expect(down.code).toBe('unreachable');
    expect(down.message).toContain(`127.0.0.1:${port}`);
  });

  it('a path below the server URL, and a prefix, root every file there', async () => {
    for (const dir of ['team%20space/', 'team%20space/ferry/', 'team%20space/ferry/backups/'])
      expect(await raw(s, 'MKCOL', dir)).toBe(201);
    const d = makeDest({ url: `${s.url}/team%20space`, path: '/ferry', prefix: 'backups' });
    await d.check();
    await d.upload('a/b.txt', sourceOf(work, Buffer.from('rooted')), { signal: new AbortController().signal });
    expect(statSync(join(s.dir, 'team space', 'ferry', 'backups', 'a', 'b.txt')).size).toBe(6);
    const listed: string[] = [];
    for await (const e of d.list('')) listed.push(e.path);
    expect(listed).toEqual(['a/b.txt']);
    await d.close();
  });

  it('small uploads into known folders cost one PUT and one MOVE each: no PROPFIND, no MKCOL', async () => {
    const d = makeDest({ url: s.url });
    await d.check(); // learns that this server keeps ETags across a MOVE
    await d.upload('few/seed.bin', sourceOf(work, Buffer.from('seed')), { signal: new AbortController().signal });
    for await (const _ of d.list('few')) void _;
    const before = { ...d.requests };
    const n = 20;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        d.upload(`few/f${i}.bin`, sourceOf(work, randomBytes(1000 + i)), { signal: new AbortController().signal }),
      ),
    );
    const delta = (m: string) => (d.requests[m] ?? 0) - (before[m] ?? 0);
    expect(delta('PUT')).toBe(n);
    expect(delta('MOVE')).toBe(n);
    expect(delta('PROPFIND')).toBe(0);
    expect(delta('MKCOL')).toBe(0);
    // The ETag kept from the PUT is the one the listing shows: the next plan sees the files in sync.
    const listed = new Map<string, string | undefined>();
    for await (const e of d.list('few')) listed.set(e.path, e.version);
    for (const r of results) expect(listed.get(r.path)).toBe(r.version);
    expect(d.verified.answer).toBeGreaterThanOrEqual(n);
    await d.close();
  });

  it('makes missing parent folders once (MKCOL), however many files go into them', async () => {
    const d = makeDest({ url: s.url });
    await d.check();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        d.upload(`new/deep/er/f${i}`, sourceOf(work, Buffer.from(`${i}`)), { signal: new AbortController().signal }),
      ),
    );
    expect(d.requests.MKCOL).toBe(3);
    expect(readdirSync(join(s.dir, 'new', 'deep', 'er')).length).toBe(10);
    await d.close();
  });

  it('a large upload is verified by the server’s own account of it (PROPFIND: size and ETag)', async () => {
    const d = makeDest({ url: s.url });
    await d.check();
    const data = randomBytes(9 * 1024 * 1024);
    const e = await d.upload('big/nine.bin', sourceOf(work, data), { signal: new AbortController().signal });
    expect(e.size).toBe(data.length);
    expect(e.version).toBeTruthy();
    expect(d.verified.propfind).toBe(1);
    await d.close();
  });

  it('under a low bandwidth cap the connection keeps moving: paced in slices, the inactivity timeout does not fire', async () => {
    const d = makeDest({ url: s.url, timeout: 1 });
    const data = randomBytes(3 * 1024 * 1024 + 5);
    // A cap of 1.5 MiB/s: a whole 2 MiB chunk paced at once would leave the socket idle for over 1 s.
    const pace = (bytes: number) => new Promise<void>((r) => setTimeout(r, (bytes / (1.5 * 1024 * 1024)) * 1000));
    const e = await d.upload('paced/slow.bin', sourceOf(work, data), { signal: new AbortController().signal, pace });
    expect(e.size).toBe(data.length);
    expect(statSync(join(s.dir, 'paced', 'slow.bin')).size).toBe(data.length);
    await d.close();
  });

  it('flags leftovers of interrupted uploads as partial in listings', async () => {
    const d = makeDest({ url: s.url });
    await d.upload('left/x.bin', sourceOf(work, Buffer.from('whole')), { signal: new AbortController().signal });
    expect(await raw(s, 'PUT', 'left/.ferrytmp-0123456789abcdef-x.bin', 'half')).toBe(201);
    const seen: { path: string; partial?: boolean }[] = [];
    for await (const e of d.list('left')) seen.push({ path: e.path, ...(e.partial ? { partial: true } : {}) });
    expect(seen.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'left/.ferrytmp-0123456789abcdef-x.bin', partial: true },
      { path: 'left/x.bin' },
    ]);
    await d.close();
  });

  it('sends the expected SHA-256 as OC-Checksum, trusts a checksum the server reports, and refuses one that differs', async () => {
    // A gateway that plays Nextcloud: it answers a PUT with the OC-Checksum it was sent (or a wrong one)
    // and an OC-FileId, after which the provider asks for oc:checksums in its PROPFINDs — which rclone
    // answers in a separate 404 propstat, to be read past.
    const seen: string[] = [];
    let lie = false;
    const gw = await gateway(
      s.url,
      (req) => {
        const c = req.headers['oc-checksum'];
        if (req.method === 'PUT' && typeof c === 'string') seen.push(c);
      },
      (req, headers) => {
        if (req.method !== 'PUT') return;
        headers['oc-fileid'] = '42';
        const c = req.headers['oc-checksum'];
        if (typeof c === 'string') headers['oc-checksum'] = lie ? `SHA256:${'0'.repeat(64)}` : c;
      },
    );
    const d = makeDest({ url: gw.url });
    const data = Buffer.from('checksummed');
    const e = await d.upload('ck/file.txt', sourceOf(work, data), { signal: new AbortController().signal });
    const sha = createHash('sha256').update(data).digest('hex');
    expect(seen).toEqual([`SHA256:${sha}`]);
    expect(e.hashes?.sha256).toBe(sha);
    expect(d.verified.checksum).toBe(1);
    const listed = [];
    for await (const x of d.list('ck')) listed.push(x);
    expect(listed.map((x) => [x.path, x.size, typeof x.version])).toEqual([['ck/file.txt', data.length, 'string']]);
    lie = true;
    const err = await failure(d.upload('ck/other.txt', sourceOf(work, data), { signal: new AbortController().signal }));
    expect(err.code).toBe('verify-failed');
    gw.close();
    await d.close();
  });

  it('digest authentication: learns the challenge, then answers every request with a valid digest', async () => {
    const gw = await digestGateway(s.url, 'u', 'p');
    const d = makeDest({ url: gw.url, auth: 'digest' });
    await d.check();
    const data = randomBytes(3 * 1024 * 1024);
    await d.upload('digest/one.bin', sourceOf(work, data), { signal: new AbortController().signal });
    expect(statSync(join(s.dir, 'digest', 'one.bin')).size).toBe(data.length);
    expect(gw.stats.valid).toBeGreaterThan(4);
    expect(gw.stats.basic).toBe(0);
    const wrong = await failure(new WebdavDestination(webdavConfig({ url: gw.url }), { secret: () => 'nope' }).check());
    expect(wrong.code).toBe('auth-failed');
    gw.close();
    await d.close();
  });

  it('classifies a refused write on a read-only server as read-only, with what to do', async () => {
    const ro = await serve({ readOnly: true });
    const d = makeDest({ url: ro.url });
    const err = await failure(
      d.upload('x/y.txt', sourceOf(work, Buffer.from('no')), { signal: new AbortController().signal }),
    );
    expect(['read-only', 'parent-missing']).toContain(err.code);
    await d.close();
  });
});

/** A plain request to rclone, around the provider (rclone caches its folders: no writes behind its back). */
function raw(srv: RcloneServer, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${srv.url}/${path}`, { method, auth: `${srv.user}:${srv.pass}` }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---- gateways in front of rclone (rclone itself only does Basic, and knows no checksums) ---------------

type Gateway = { url: string; close: () => void; stats: { valid: number; invalid: number; basic: number } };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Forwards everything to rclone with its Basic credentials (see startDavFront). */
async function gateway(
  target: string,
  inspect: (req: IncomingMessage) => void,
  answer: (req: IncomingMessage, headers: Record<string, string | string[] | undefined>) => void = () => undefined,
): Promise<Gateway> {
  const front = await startDavFront(target, { basic: { user: 'u', pass: 'p' }, inspect, answer });
  return { url: front.url, stats: { valid: 0, invalid: 0, basic: 0 }, close: () => void front.close() };
}

/**
 * A Digest-only front (RFC 7616, MD5, qop=auth), written independently of the provider's code: it
 * checks each request's response value, then forwards to rclone with Basic.
 */
async function digestGateway(target: string, user: string, pass: string): Promise<Gateway> {
  const realm = 'ferry-test';
  const nonce = randomBytes(16).toString('hex');
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const stats = { valid: 0, invalid: 0, basic: 0 };
  const inner = await gateway(target, () => undefined);
  const up = new URL(inner.url);
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Basic')) stats.basic++;
    const p = splitChallenges(auth)[0]?.params ?? {};
    const expected = md5(
      `${md5(`${user}:${realm}:${pass}`)}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${md5(`${req.method}:${req.url}`)}`,
    );
    if (!auth.startsWith('Digest') || p.response !== expected || p.uri !== req.url || p.nonce !== nonce) {
      if (auth.startsWith('Digest')) stats.invalid++;
      req.resume();
      res.writeHead(401, {
        'www-authenticate': `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5`,
      });
      res.end('digest please');
      return;
    }
    stats.valid++;
    const headers = { ...req.headers, host: up.host };
    delete headers.authorization;
    const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  const url = await listen(server);
  return {
    url,
    stats,
    close: () => {
      server.close();
      inner.close();
    },
  };
}
