import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';

/**
 * The emulator driven with raw HTTP, the way Dropbox's documentation describes each call, so that a
 * bug in the provider cannot be hidden by the same bug in the emulator.
 */

const MiB = 1024 * 1024;

/** Dropbox's content_hash, computed here independently: SHA-256 of the concatenated 4 MiB block SHA-256s. */
function contentHash(data: Buffer): string {
  const blocks: Buffer[] = [];
  for (let off = 0; off < data.length; off += 4 * MiB)
    blocks.push(
      createHash('sha256')
        .update(data.subarray(off, off + 4 * MiB))
        .digest(),
    );
  return createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
}

/** JSON for an HTTP header, non-ASCII escaped as \uXXXX (Dropbox's "JSON encoding" page). */
function argHeader(arg: unknown): string {
  return JSON.stringify(arg).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

describe('Dropbox emulator, raw HTTP', () => {
  let emu: DropboxEmulator;
  let token: string;
  let mainRefresh: string;

  const getToken = async (refresh: string) => {
    const res = await fetch(`${emu.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: emu.appKey,
      }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const content = async (route: string, arg: unknown, body: Buffer = Buffer.alloc(0), headerValue?: string) => {
    const res = await fetch(`${emu.url}/2/${route}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'dropbox-api-arg': headerValue ?? argHeader(arg),
      },
      body,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const rpc = async (route: string, arg: unknown) => {
    const res = await fetch(`${emu.url}/2/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(arg),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  beforeAll(async () => {
    emu = await startDropboxEmulator({ listPageSize: 2, batchJobMs: 100 });
    mainRefresh = emu.issueRefreshToken();
    token = (await getToken(mainRefresh)).body.access_token as string;
  });
  afterAll(() => emu.close());

  it('upload sessions keep their offset: a wrong one is refused with incorrect_offset and the correct_offset', async () => {
    const a = Buffer.from('hello ');
    const b = Buffer.from('world');
    const start = await content('files/upload_session/start', { close: false }, a);
    expect(start.status).toBe(200);
    const sessionId = start.json().session_id as string;
    const wrong = await content(
      'files/upload_session/append_v2',
      { cursor: { session_id: sessionId, offset: 2 }, close: false },
      b,
    );
    expect(wrong.status).toBe(409);
    expect(wrong.json().error).toEqual({ '.tag': 'incorrect_offset', correct_offset: 6 });
    expect(wrong.json().error_summary).toMatch(/^incorrect_offset\/\.+$/);
    const right = await content(
      'files/upload_session/append_v2',
      { cursor: { session_id: sessionId, offset: 6 }, close: false },
      b,
    );
    expect([right.status, right.text]).toEqual([200, 'null']);
    const whole = Buffer.concat([a, b]);
    const commit = {
      path: '/sessions/greeting.txt',
      mode: 'add',
      autorename: false,
      client_modified: '2024-05-01T10:20:30Z',
    };
    // finish checks its offset too (a lookup failure nested in UploadSessionFinishError)
    const late = await content('files/upload_session/finish', { cursor: { session_id: sessionId, offset: 6 }, commit });
    expect(late.json().error).toEqual({
      '.tag': 'lookup_failed',
      lookup_failed: { '.tag': 'incorrect_offset', correct_offset: 11 },
    });
    const badHash = await content('files/upload_session/finish', {
      cursor: { session_id: sessionId, offset: 11 },
      commit,
      content_hash: contentHash(Buffer.from('something else')),
    });
    expect(badHash.json().error).toEqual({ '.tag': 'content_hash_mismatch' });
    // content_hash is the hash of this call's bytes: the whole file's hash on an empty finish is refused
    const wholeHash = await content('files/upload_session/finish', {
      cursor: { session_id: sessionId, offset: 11 },
      commit,
      content_hash: contentHash(whole),
    });
    expect(wholeHash.json().error).toEqual({ '.tag': 'content_hash_mismatch' });
    const done = await content('files/upload_session/finish', {
      cursor: { session_id: sessionId, offset: 11 },
      commit,
      content_hash: contentHash(Buffer.alloc(0)),
    });
    expect(done.status).toBe(200);
    expect(done.json()).toMatchObject({
      name: 'greeting.txt',
      path_display: '/sessions/greeting.txt',
      size: 11,
      content_hash: contentHash(whole),
      client_modified: '2024-05-01T10:20:30Z',
    });
    expect(done.json()['.tag']).toBeUndefined(); // FileMetadata, a struct: no tag
    const after = await content('files/upload_session/append_v2', { cursor: { session_id: sessionId, offset: 11 } }, b);
    expect(after.json().error).toEqual({ '.tag': 'not_found' });
    // content_hash of a multi-block file: the emulator agrees with the independent computation
    const big = Buffer.alloc(9 * MiB, 7);
    const up = await content('files/upload', { path: '/sessions/blocks.bin', mode: 'add', autorename: false }, big);
    expect(up.json().content_hash).toBe(contentHash(big));
  });

  it('expired sessions are not_found (sessions live 7 days)', async () => {
    const start = await content('files/upload_session/start', {}, Buffer.from('x'));
    const id = start.json().session_id as string;
    emu.expireSession(id);
    const r = await content(
      'files/upload_session/append_v2',
      { cursor: { session_id: id, offset: 1 } },
      Buffer.from('y'),
    );
    expect(r.json().error).toEqual({ '.tag': 'not_found' });
  });

  it('finish_batch (v1) may be an async job: check says in_progress, then complete with one entry per session', async () => {
    emu.v1CompletesAtOnce = () => false;
    const ids = (await rpc('files/upload_session/start_batch', { num_sessions: 3 })).json().session_ids as string[];
    expect(ids).toHaveLength(3);
    const bodies = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
    for (const [i, id] of ids.entries())
      await content(
        'files/upload_session/append_v2',
        { cursor: { session_id: id, offset: 0 }, close: i < 2 },
        bodies[i],
      );
    const launch = await rpc('files/upload_session/finish_batch', {
      entries: ids.map((id, i) => ({
        cursor: { session_id: id, offset: (bodies[i] as Buffer).length },
        commit: { path: `/batch/${i}.txt`, mode: 'add', autorename: false },
      })),
    });
    expect(launch.json()['.tag']).toBe('async_job_id');
    const jobId = launch.json().async_job_id as string;
    expect((await rpc('files/upload_session/finish_batch/check', { async_job_id: jobId })).json()).toEqual({
      '.tag': 'in_progress',
    });
    await new Promise((r) => setTimeout(r, 150));
    const result = (await rpc('files/upload_session/finish_batch/check', { async_job_id: jobId })).json();
    expect(result['.tag']).toBe('complete');
    const entries = result.entries as Record<string, unknown>[];
    expect(entries[0]).toMatchObject({ '.tag': 'success', path_display: '/batch/0.txt', size: 3 });
    expect(entries[1]).toMatchObject({ '.tag': 'success', path_display: '/batch/1.txt', size: 3 });
    // The third session was never closed: finish_batch wants closed sessions.
    expect(entries[2]).toEqual({
      '.tag': 'failure',
      failure: { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_closed' } },
    });
    expect((await rpc('files/upload_session/finish_batch/check', { async_job_id: 'dbjid:nope' })).json().error).toEqual(
      {
        '.tag': 'invalid_async_job_id',
      },
    );
  });

  it('Dropbox-API-Arg must be ASCII: non-ASCII is escaped as \\uXXXX, and Dropbox-API-Result comes back escaped', async () => {
    const name = '/unicode/café Åström 日本.txt';
    const raw = Buffer.from(JSON.stringify({ path: name, mode: 'add' }), 'utf8').toString('latin1');
    const refused = await content('files/upload', undefined, Buffer.from('x'), raw);
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/could not decode input as JSON/);
    const ok = await content('files/upload', { path: name, mode: 'add' }, Buffer.from('x'));
    expect(ok.json().path_display).toBe(name);
    const dl = await content('files/download', { path: name });
    expect(dl.text).toBe('x');
    const result = dl.headers.get('dropbox-api-result') as string;
    expect(result).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(result).name).toBe('café Åström 日本.txt');
    const missing = await content('files/download', { path: '/unicode/none' });
    expect([missing.status, missing.json().error]).toEqual([409, { '.tag': 'path', path: { '.tag': 'not_found' } }]);
  });

  it('the namespace is case-insensitive and case-preserving; identical content is no conflict, other content is', async () => {
    const first = await content(
      'files/upload',
      { path: '/Case/Mixed.TXT', mode: 'add', autorename: false },
      Buffer.from('a'),
    );
    const meta = await rpc('files/get_metadata', { path: '/case/mixed.txt' });
    expect(meta.json()).toMatchObject({
      '.tag': 'file',
      path_display: '/Case/Mixed.TXT',
      path_lower: '/case/mixed.txt',
    });
    const same = await content(
      'files/upload',
      { path: '/CASE/mixed.txt', mode: 'add', autorename: false },
      Buffer.from('a'),
    );
    expect(same.json().rev).toBe(first.json().rev);
    const clash = await content(
      'files/upload',
      { path: '/CASE/mixed.txt', mode: 'add', autorename: false },
      Buffer.from('b'),
    );
    expect(clash.status).toBe(409);
    expect(clash.json().error).toMatchObject({
      '.tag': 'path',
      reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } },
    });
    expect(clash.json().error_summary).toMatch(/^path\/conflict\/file\//);
    const over = await content(
      'files/upload',
      { path: '/CASE/mixed.txt', mode: { '.tag': 'overwrite' } },
      Buffer.from('b'),
    );
    expect(over.json().path_display).toBe('/Case/Mixed.TXT');
    const renamed = await content(
      'files/upload',
      { path: '/case/mixed.txt', mode: 'add', autorename: true },
      Buffer.from('c'),
    );
    expect(renamed.json().name).toBe('mixed (1).txt');
  });

  it('refuses the names Dropbox will not store, and control characters', async () => {
    const tagOf = async (path: string) =>
      (await content('files/upload', { path, mode: 'add' }, Buffer.from('x'))).json().error;
    for (const name of [
      'desktop.ini',
      'Thumbs.db',
      '.DS_Store',
      'Icon\r',
      '.dropbox',
      '.dropbox.attr',
      'dot.',
      'space ',
    ])
      expect(await tagOf(`/names/${name}`), name).toMatchObject({ reason: { '.tag': 'disallowed_name' } });
    expect(await tagOf('/names/ctl\u0001')).toMatchObject({ reason: { '.tag': 'malformed_path' } });
    expect(await tagOf('/names/a//b')).toMatchObject({ reason: { '.tag': 'malformed_path' } });
  });

  it('refuses a single request above its limit (150 MiB, as Dropbox) with payload_too_large', async () => {
    expect(emu.maxRequestBytes).toBe(150 * MiB);
    // The rule itself at 1 MiB: 150 MiB through loopback HTTP is seconds of a loaded CI machine.
    emu.maxRequestBytes = MiB;
    try {
      const r = await content('files/upload', { path: '/huge.bin', mode: 'add' }, Buffer.alloc(MiB + 1));
      expect([r.status, r.json().error]).toEqual([409, { '.tag': 'payload_too_large' }]);
      expect(emu.file('/huge.bin')).toBeUndefined();
      const atLimit = await content('files/upload', { path: '/limit.bin', mode: 'add' }, Buffer.alloc(MiB));
      expect(atLimit.status).toBe(200);
    } finally {
      emu.maxRequestBytes = 150 * MiB;
    }
  });

  it('pages list_folder with a cursor; a recursive listing starts with the folder itself', async () => {
    for (let i = 0; i < 5; i++)
      await content('files/upload', { path: `/list/f${i}`, mode: 'add' }, Buffer.from(String(i)));
    const seen: string[] = [];
    let page = (await rpc('files/list_folder', { path: '/List', recursive: true })).json();
    for (;;) {
      for (const e of page.entries as { path_display: string }[]) seen.push(e.path_display);
      if (!page.has_more) break;
      page = (await rpc('files/list_folder/continue', { cursor: page.cursor })).json();
    }
    expect(seen).toEqual(['/list', '/list/f0', '/list/f1', '/list/f2', '/list/f3', '/list/f4']);
    const none = await rpc('files/list_folder', { path: '/nothing-here' });
    expect(none.json().error).toEqual({ '.tag': 'path', path: { '.tag': 'not_found' } });
  });

  it('answers 401 expired_access_token once an access token is past its lifetime; a revoked refresh token is invalid_grant', async () => {
    const refresh = emu.issueRefreshToken();
    const { body } = await getToken(refresh);
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: emu.tokenLifetimeSec });
    const saved = token;
    token = body.access_token as string;
    emu.expireAccessTokens();
    const r = await rpc('files/get_metadata', { path: '/list' });
    expect([r.status, r.json().error]).toEqual([401, { '.tag': 'expired_access_token' }]);
    expect(saved).not.toBe(token);
    token = (await getToken(mainRefresh)).body.access_token as string; // every token expired: a new one
    emu.revoke(refresh);
    expect(await getToken(refresh)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('rate limits: 429 with Retry-After and a RateLimitError body', async () => {
    emu.rateLimit = () => 3;
    try {
      const r = await rpc('files/get_metadata', { path: '/list' });
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('3');
      expect(r.json().error).toEqual({ reason: { '.tag': 'too_many_requests' }, retry_after: 3 });
    } finally {
      emu.rateLimit = undefined;
    }
  });

  it('a token without files.content.write is refused writes with 401 missing_scope', async () => {
    const readOnly = (await getToken(emu.issueRefreshToken(['files.metadata.read']))).body.access_token as string;
    const saved = token;
    token = readOnly;
    try {
      const r = await content('files/upload', { path: '/ro.txt', mode: 'add' }, Buffer.from('x'));
      expect([r.status, r.json().error]).toEqual([
        401,
        { '.tag': 'missing_scope', required_scope: 'files.content.write' },
      ]);
    } finally {
      token = saved;
    }
  });

  it('finish_batch entries carry no content: a whole-file content_hash is refused per entry, none is accepted', async () => {
    const ids = (await rpc('files/upload_session/start_batch', { num_sessions: 2 })).json().session_ids as string[];
    const body = Buffer.from('batched');
    for (const id of ids)
      await content('files/upload_session/append_v2', { cursor: { session_id: id, offset: 0 }, close: true }, body);
    const r = await rpc('files/upload_session/finish_batch_v2', {
      entries: ids.map((id, i) => ({
        cursor: { session_id: id, offset: body.length },
        commit: { path: `/hashbatch/${i}.txt`, mode: 'add' },
        ...(i === 0 ? { content_hash: contentHash(body) } : {}),
      })),
    });
    expect(r.status).toBe(200);
    const entries = r.json().entries as Record<string, unknown>[];
    expect(entries[0]).toEqual({ '.tag': 'failure', failure: { '.tag': 'content_hash_mismatch' } });
    expect(entries[1]).toMatchObject({ '.tag': 'success', size: body.length, content_hash: contentHash(body) });
  });

  it('append_v2 checks content_hash against its own body', async () => {
    const id = (await content('files/upload_session/start', { close: false }, Buffer.from('a'))).json()
      .session_id as string;
    const bad = await content(
      'files/upload_session/append_v2',
      { cursor: { session_id: id, offset: 1 }, content_hash: contentHash(Buffer.from('ab')) },
      Buffer.from('b'),
    );
    expect(bad.json().error).toEqual({ '.tag': 'content_hash_mismatch' });
    const good = await content(
      'files/upload_session/append_v2',
      { cursor: { session_id: id, offset: 1 }, content_hash: contentHash(Buffer.from('b')) },
      Buffer.from('b'),
    );
    expect(good.status).toBe(200);
  });

  it('finish_batch_v2 answers synchronously; entries fail alone with too_many_write_operations or internal_error', async () => {
    const ids = (await rpc('files/upload_session/start_batch', { num_sessions: 3 })).json().session_ids as string[];
    for (const id of ids)
      await content(
        'files/upload_session/append_v2',
        { cursor: { session_id: id, offset: 0 }, close: true },
        Buffer.from('x'),
      );
    emu.batchEntryFault = (p) =>
      p.endsWith('/0.txt') ? 'too_many_write_operations' : p.endsWith('/1.txt') ? 'internal_error' : undefined;
    try {
      const r = await rpc('files/upload_session/finish_batch_v2', {
        entries: ids.map((id, i) => ({ cursor: { session_id: id, offset: 1 }, commit: { path: `/v2/${i}.txt` } })),
      });
      const entries = r.json().entries as Record<string, unknown>[];
      expect(entries[0]).toEqual({ '.tag': 'failure', failure: { '.tag': 'too_many_write_operations' } });
      expect(entries[1]).toEqual({ '.tag': 'failure', failure: { '.tag': 'internal_error' } });
      expect(entries[2]).toMatchObject({ '.tag': 'success', path_display: '/v2/2.txt' });
      expect(emu.file('/v2/0.txt')).toBeUndefined();
    } finally {
      emu.batchEntryFault = undefined;
    }
  });

  it('v1 finish_batch sometimes completes in its answer', async () => {
    emu.v1CompletesAtOnce = () => true;
    const id = (await content('files/upload_session/start', { close: true }, Buffer.from('v1'))).json()
      .session_id as string;
    const r = await rpc('files/upload_session/finish_batch', {
      entries: [{ cursor: { session_id: id, offset: 2 }, commit: { path: '/v1now.txt' } }],
    });
    expect(r.json()['.tag']).toBe('complete');
    expect((r.json().entries as Record<string, unknown>[])[0]).toMatchObject({ '.tag': 'success' });
  });

  it('refuses concurrent writes beyond its limit with 409 too_many_write_operations in the route error', async () => {
    const busy = await startDropboxEmulator({ maxConcurrentWrites: 1, writeLatencyMs: 100 });
    try {
      const refresh = busy.issueRefreshToken();
      const tok = await (
        await fetch(`${busy.url}/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: busy.appKey }),
        })
      ).json();
      const up = (i: number) =>
        fetch(`${busy.url}/2/files/upload`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${(tok as { access_token: string }).access_token}`,
            'content-type': 'application/octet-stream',
            'dropbox-api-arg': argHeader({ path: `/busy/${i}`, mode: 'add' }),
          },
          body: Buffer.from('x'),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
      const answers = await Promise.all([up(1), up(2)]);
      const refused = answers.filter((a) => a.status !== 200);
      expect(refused).toHaveLength(1);
      expect(refused[0]?.status).toBe(409);
      expect(refused[0]?.body.error).toMatchObject({ '.tag': 'path', reason: { '.tag': 'too_many_write_operations' } });
    } finally {
      await busy.close();
    }
  });

  it('longpoll: a cursor made before resetCursors() is reset; list_folder/continue too', async () => {
    for (let i = 0; i < 3; i++)
      await content('files/upload', { path: `/resets/f${i}`, mode: 'add' }, Buffer.from(String(i)));
    const page = (await rpc('files/list_folder', { path: '/resets', limit: 1 })).json();
    const latest = (await rpc('files/list_folder/get_latest_cursor', { path: '/resets' })).json().cursor as string;
    emu.resetCursors();
    expect((await rpc('files/list_folder/continue', { cursor: page.cursor })).json().error).toEqual({
      '.tag': 'reset',
    });
    const poll = await fetch(`${emu.url}/2/files/list_folder/longpoll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cursor: latest, timeout: 30 }),
    });
    expect([poll.status, ((await poll.json()) as Record<string, unknown>).error]).toEqual([409, { '.tag': 'reset' }]);
  });

  it('longpoll waits timeout plus jitter, carries backoff, and refuses a longpoll before the backoff is over', async () => {
    emu.longpollSecondMs = 2;
    emu.longpollJitterSec = () => 90;
    emu.longpollBackoffSec = 60;
    try {
      const latest = (await rpc('files/list_folder/get_latest_cursor', { path: '' })).json().cursor as string;
      const poll = () =>
        fetch(`${emu.url}/2/files/list_folder/longpoll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ cursor: latest, timeout: 30 }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
      const before = emu.stats.longpollAnswered;
      expect(await poll()).toEqual({ status: 200, body: { changes: false, backoff: 60 } });
      expect(emu.stats.longpollAnswered).toBe(before + 1);
      const again = await poll();
      expect(again.status).toBe(429);
      expect(emu.stats.longpollTooSoon).toBe(1);
    } finally {
      emu.longpollSecondMs = 1000;
      emu.longpollBackoffSec = undefined;
    }
  });

  it('OAuth: redirect URIs must be registered exactly; a refresh token only with token_access_type=offline', async () => {
    emu.redirectUris.add('http://127.0.0.1:53682/callback');
    const authorize = (redirect: string, offline: boolean) =>
      fetch(
        `${emu.url}/oauth2/authorize?${new URLSearchParams({
          client_id: emu.appKey,
          response_type: 'code',
          redirect_uri: redirect,
          ...(offline ? { token_access_type: 'offline' } : {}),
        })}`,
        { redirect: 'manual' },
      );
    for (const other of [
      'http://127.0.0.1:53683/callback',
      'http://localhost:53682/callback',
      'http://127.0.0.1:53682/other',
    ])
      expect((await authorize(other, true)).status, other).toBe(400);
    const exchange = async (offline: boolean) => {
      const at = await authorize('http://127.0.0.1:53682/callback', offline);
      expect(at.status).toBe(302);
      const code = new URL(at.headers.get('location') as string).searchParams.get('code') as string;
      const r = await fetch(`${emu.url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          client_id: emu.appKey,
          redirect_uri: 'http://127.0.0.1:53682/callback',
        }),
      });
      return (await r.json()) as Record<string, unknown>;
    };
    expect((await exchange(false)).refresh_token).toBeUndefined();
    expect(typeof (await exchange(true)).refresh_token).toBe('string');
  });

  it('can report parents in path_display in the case they were written with (only the last component is sure)', async () => {
    await content('files/upload', { path: '/Cased/Docs/a.txt', mode: 'add' }, Buffer.from('a'));
    emu.staleParentCase = true;
    try {
      await content('files/upload', { path: '/cased/DOCS/b.txt', mode: 'add' }, Buffer.from('b'));
      const shown: string[] = [];
      let page = (await rpc('files/list_folder', { path: '/cased', recursive: true })).json();
      for (;;) {
        for (const e of page.entries as { path_display: string }[]) shown.push(e.path_display);
        if (!page.has_more) break;
        page = (await rpc('files/list_folder/continue', { cursor: page.cursor })).json();
      }
      expect(shown).toEqual(['/Cased', '/Cased/Docs', '/Cased/Docs/a.txt', '/cased/DOCS/b.txt']);
    } finally {
      emu.staleParentCase = false;
    }
  });

  it('keeps revisions: list_revisions newest first, download by rev:, restore a revision, and refuses what Dropbox refuses', async () => {
    const up = async (data: string) =>
      (await content('files/upload', { path: '/revs/r.txt', mode: 'overwrite' }, Buffer.from(data))).json();
    const first = await up('one');
    const second = await up('two');
    const listed = await rpc('files/list_revisions', { path: '/revs/r.txt' });
    expect(listed.status).toBe(200);
    const body = listed.json() as { is_deleted: boolean; entries: { rev: string; size: number }[] };
    expect(body.is_deleted).toBe(false);
    expect(body.entries.map((e) => e.rev)).toEqual([second.rev, first.rev]);
    expect(
      ((await rpc('files/list_revisions', { path: '/revs/r.txt', limit: 1 })).json().entries as unknown[]).length,
    ).toBe(1);
    // ListRevisionsArg.limit is 1..100.
    expect((await rpc('files/list_revisions', { path: '/revs/r.txt', limit: 101 })).status).toBe(400);
    expect((await rpc('files/list_revisions', { path: '/revs/none.txt' })).json().error_summary).toMatch(
      /^path\/not_found\//,
    );
    // DownloadArg.path takes rev:<rev>: the earlier bytes.
    const old = await content('files/download', { path: `rev:${String(first.rev)}` });
    expect(old.status).toBe(200);
    expect(old.text).toBe('one');
    // Deleted: is_deleted with server_deleted, the revisions still listed and readable.
    await rpc('files/delete_v2', { path: '/revs/r.txt' });
    const gone = (await rpc('files/list_revisions', { path: '/revs/r.txt' })).json();
    expect(gone.is_deleted).toBe(true);
    expect(typeof gone.server_deleted).toBe('string');
    expect((gone.entries as { rev: string }[]).map((e) => e.rev)).toEqual([second.rev, first.rev]);
    // files/restore: the revision's bytes become the file again; an unknown one is invalid_revision.
    const restored = await rpc('files/restore', { path: '/revs/r.txt', rev: first.rev });
    expect(restored.status).toBe(200);
    expect((await content('files/download', { path: '/revs/r.txt' })).text).toBe('one');
    expect((await rpc('files/restore', { path: '/revs/r.txt', rev: 'abcdef0123456' })).json().error_summary).toMatch(
      /^invalid_revision\//,
    );
  });
});
