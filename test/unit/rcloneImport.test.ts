import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importRemote } from '../../src/main/engine/rclone/importRemotes';
import { knownHostFingerprints } from '../../src/main/engine/rclone/knownHosts';
import { revealObscured } from '../../src/main/engine/rclone/obscure';
import { parseRcloneConf } from '../../src/main/engine/rclone/rcloneConf';

const obscure = (s: string) => execFileSync('rclone', ['obscure', s], { encoding: 'utf8' }).trim();

describe("rclone's obscured passwords", () => {
  it('are revealed as `rclone reveal` does, for what `rclone obscure` wrote', () => {
    for (const secret of ['p', 'pässwörd with spaces', 'x'.repeat(300), '"quoted", = ;#'])
      expect(revealObscured(obscure(secret))).toBe(secret);
  });

  it('a value that was never obscured is refused, not turned into garbage', () => {
    expect(() => revealObscured('plain-password')).toThrow(/not an obscured value/);
    expect(() => revealObscured('has spaces in it and is long enough')).toThrow(/not an obscured value/);
  });
});

describe('rclone.conf', () => {
  it('reads sections, keys and values as rclone writes them; comments skipped', () => {
    const remotes = parseRcloneConf(
      '# comment\n[my remote]\ntype = sftp\nhost = example.org\n; other\n\n[b]\ntype=s3\nendpoint = http://x:9000/a=b\n',
      'rclone.conf',
    );
    expect(remotes).toEqual([
      { name: 'my remote', options: { type: 'sftp', host: 'example.org' } },
      { name: 'b', options: { type: 's3', endpoint: 'http://x:9000/a=b' } },
    ]);
  });

  it('an encrypted config or a line outside a section is named', () => {
    expect(() => parseRcloneConf('# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nabc', 'r.conf')).toThrow(
      /r\.conf is encrypted by rclone/,
    );
    expect(() => parseRcloneConf('type = s3\n', 'r.conf')).toThrow(/r\.conf:1: "type = s3" is neither/);
  });
});

describe('known_hosts', () => {
  const blob = randomBytes(51);
  const fp = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  const key = blob.toString('base64');

  it('pins the keys recorded for the host and port, plain or hashed', () => {
    expect(knownHostFingerprints(`[10.0.0.5]:2222 ssh-ed25519 ${key}\n`, '10.0.0.5', 2222)).toEqual([fp]);
    expect(knownHostFingerprints(`nas,10.0.0.5 ssh-ed25519 ${key}\n`, 'nas', 22)).toEqual([fp]);
    expect(knownHostFingerprints(`[10.0.0.5]:2222 ssh-ed25519 ${key}\n`, '10.0.0.5', 22)).toEqual([]);
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[nas]:2200').digest('base64')}`;
    expect(knownHostFingerprints(`${hashed} ssh-ed25519 ${key}\n`, 'nas', 2200)).toEqual([fp]);
    expect(knownHostFingerprints(`@revoked nas ssh-ed25519 ${key}\n`, 'nas', 22)).toEqual([]);
  });
});

describe('each remote type maps to a destination, or says why not', () => {
  const remote = (name: string, options: Record<string, string>) => ({ name, options });

  it('ftp: tls modes, revealed password, concurrency as connections', () => {
    const r = importRemote(
      remote('ftp1', {
        type: 'ftp',
        host: 'h',
        user: 'u',
        pass: obscure('pw'),
        explicit_tls: 'true',
        concurrency: '3',
        no_check_certificate: 'true',
      }),
      'up/load',
    );
    expect(r).toMatchObject({
      ok: true,
      destination: {
        id: 'ftp1',
        type: 'ftp',
        host: 'h',
        port: 21,
        user: 'u',
        tls: 'explicit',
        connections: 3,
        path: '/up/load',
        password: 'keychain:rclone-ftp1-password',
      },
      secrets: [{ name: 'rclone-ftp1-password', value: 'pw' }],
      ignored: [{ option: 'no_check_certificate', reason: expect.stringMatching(/give a private CA as ca_file/) }],
    });
    expect(importRemote(remote('f', { type: 'ftp', host: 'h', tls: 'true' }), '')).toMatchObject({
      destination: { tls: 'implicit', port: 990 },
    });
    expect(importRemote(remote('f', { type: 'ftp', host: 'h' }), '')).toMatchObject({ destination: { tls: 'none' } });
  });

  it('gcs: a service account file, a bucket from the path; a user OAuth token is not enough', () => {
    expect(
      importRemote(
        remote('g', { type: 'google cloud storage', service_account_file: '/k.json', project_number: '42' }),
        'bk/sub',
      ),
    ).toMatchObject({
      ok: true,
      destination: { type: 'gcs', bucket: 'bk', prefix: 'sub', key_file: 'file:/k.json', project_id: '42' },
    });
    expect(importRemote(remote('g', { type: 'google cloud storage', token: '{}' }), 'bk')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/signs in as a Google user/),
    });
  });

  it("dropbox: its own app's refresh token moves; rclone's built-in app cannot", () => {
    const token = JSON.stringify({ access_token: 'a', refresh_token: 'r-123', expiry: '2030-01-01T00:00:00Z' });
    expect(importRemote(remote('d', { type: 'dropbox', client_id: 'app1', token }), 'Work')).toMatchObject({
      ok: true,
      destination: {
        type: 'dropbox',
        app_key: 'app1',
        root: '/Work',
        refresh_token: 'keychain:rclone-d-refresh_token',
      },
      secrets: [{ value: 'r-123' }],
    });
    expect(importRemote(remote('d', { type: 'dropbox', token }), '')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/rclone's own Dropbox app/),
    });
  });

  it('sftp: an inline key kept as a secret; a key with a passphrase, or no known_hosts, is said', () => {
    const r = importRemote(
      remote('s', { type: 'sftp', host: 'h', user: 'u', key_pem: '-----BEGIN KEY-----\\nabc\\n-----END KEY-----' }),
      '/srv',
    );
    expect(r).toMatchObject({ ok: true, destination: { path: '/srv', private_key: 'keychain:rclone-s-private_key' } });
    expect(r.ok && r.secrets[0]?.value).toBe('-----BEGIN KEY-----\nabc\n-----END KEY-----');
    expect(r.ignored).toEqual([
      { option: '(host key)', reason: expect.stringMatching(/Ferry always does: `ferry check` shows the key/) },
    ]);
    expect(
      importRemote(remote('s', { type: 'sftp', host: 'h', key_file: '/k', key_file_pass: obscure('x') }), ''),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/protected by a passphrase/),
    });
    expect(importRemote(remote('s', { type: 'sftp', host: 'h', pass: 'not obscured' }), '')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/its pass is not obscured as rclone writes it/),
    });
  });

  it('webdav with a bearer token, wrappers, unknown types, local without a path: not imported, with why', () => {
    expect(importRemote(remote('w', { type: 'webdav', url: 'https://x', bearer_token: 't' }), '')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/bearer token/),
    });
    expect(importRemote(remote('c', { type: 'crypt', remote: 'x:' }), '')).toMatchObject({
      ok: false,
      reason: 'a "crypt" remote wraps another remote: import that one (Ferry has no crypt)',
    });
    expect(importRemote(remote('o', { type: 'onedrive' }), '')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^Ferry has no "onedrive" destination \(it has s3, google cloud storage/),
    });
    expect(importRemote(remote('l', { type: 'local' }), '')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/needs a folder/),
    });
    expect(importRemote(remote('l', { type: 'local', copy_links: 'true' }), '/mnt/backup')).toMatchObject({
      ok: true,
      destination: { type: 'local', path: '/mnt/backup' },
      ignored: [{ option: 'copy_links', reason: 'Ferry has no such setting' }],
    });
  });

  it('s3: AWS keeps virtual-host requests, others get path style and a scheme on a bare endpoint', () => {
    expect(
      importRemote(remote('a', { type: 's3', provider: 'AWS', region: 'eu-west-1', env_auth: 'true' }), 'bk'),
    ).toMatchObject({
      ok: true,
      destination: { type: 's3', bucket: 'bk', region: 'eu-west-1' },
      secrets: [],
    });
    const w = importRemote(
      remote('w', {
        type: 's3',
        provider: 'Wasabi',
        endpoint: 's3.wasabisys.com',
        access_key_id: 'K',
        secret_access_key: 'S',
      }),
      'bk',
    );
    expect(w).toMatchObject({ destination: { endpoint: 'https://s3.wasabisys.com', force_path_style: true } });
    expect(importRemote(remote('t', { type: 's3', session_token: 'x' }), 'bk')).toMatchObject({ ok: false });
  });
});
