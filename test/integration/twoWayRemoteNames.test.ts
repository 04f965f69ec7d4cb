import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { snapshot, writeConfig } from '../helpers/tree';
import { startGcsEmulator, type GcsEmulator } from '../servers/gcsEmulator';
import { fakeServiceAccount, type FakeServiceAccount } from '../servers/gcsFixtures';

/**
 * Object stores hold any key: GCS and S3 accept names with ".." segments, a leading "/" or "//". A
 * two-way rule must never let such a name write outside its folder, nor take it for a deletion.
 * The bucket is filled through the emulator's own JSON API, as another client would.
 */
let emu: GcsEmulator;
let root: string;
let account: FakeServiceAccount;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ferry-names-'));
  account = fakeServiceAccount(root, 'writer');
  emu = await startGcsEmulator({
    buckets: ['names'],
    accounts: [{ email: account.email, keyId: account.keyId, publicKeyPem: account.publicKeyPem, role: 'writer' }],
    tokens: { 'seed-token': 'writer' },
  });
});
afterAll(async () => {
  await emu.close();
  rmSync(root, { recursive: true, force: true });
});

async function seed(name: string, content: string): Promise<void> {
  const res = await fetch(`${emu.url}/upload/storage/v1/b/names/o?uploadType=media&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: 'Bearer seed-token', 'content-type': 'text/plain' },
    body: content,
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Every file below `dir`, as paths relative to it. */
const files = (dir: string): string[] => [...snapshot(dir).keys()].sort();

it('two-way: remote names that would leave the folder are refused one by one, the rest arrives, and nothing remote is deleted', async () => {
  const shared = join(root, 'shared');
  const work = join(shared, 'work');
  mkdirSync(work, { recursive: true });
  const hostile = [
    'docs/../../escape.txt',
    '../outside.txt',
    'deep/../../../../tmp-escape.txt',
    'x//empty-segment.txt',
  ];
  await seed('fine/report.txt', 'a normal file');
  for (const name of hostile) await seed(name, `hostile: ${name}`);

  const config = writeConfig(
    join(root, 'ferry.yml'),
    [
      'folders:',
      `  - { id: work, path: ${JSON.stringify(work)} }`,
      'destinations:',
      '  - id: bucket',
      '    type: gcs',
      '    bucket: names',
      `    endpoint: ${emu.url}`,
      `    key_file: ${JSON.stringify(`file:${account.keyFile}`)}`,
      'rules:',
      '  - { name: both-ways, from: [work], to: [bucket], mode: two-way }',
      '',
    ].join('\n'),
  );
  const state = join(root, 'state');
  for (let pass = 1; pass <= 2; pass++) {
    const r = await syncJson(config, state);
    // Not everything could be made equal: the run says so, naming each refused name and why.
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const problems = Object.fromEntries(
      ((r.summary?.problems ?? []) as unknown as { path: string; message: string }[]).map((p) => [p.path, p.message]),
    );
    expect(problems).toEqual({
      'docs/../../escape.txt': 'left alone: a ".." segment would lead out of the folder',
      '../outside.txt': 'left alone: a ".." segment would lead out of the folder',
      'deep/../../../../tmp-escape.txt': 'left alone: a ".." segment would lead out of the folder',
      'x//empty-segment.txt': 'left alone: the path has an empty segment',
    });
    expect(readFileSync(join(work, 'fine/report.txt'), 'utf8')).toBe('a normal file');
    expect(files(work)).toEqual(['fine/report.txt']);
    // Nothing was written beside or above the folder.
    expect(files(shared)).toEqual(['work/fine/report.txt']);
    for (const leaked of ['escape.txt', 'outside.txt', 'tmp-escape.txt'])
      expect(existsSync(join(root, leaked)) || existsSync(join(tmpdir(), leaked))).toBe(false);
  }
  // Refused is not deleted: every object is still in the bucket.
  expect(emu.objects('names').map((o) => o.name)).toEqual(expect.arrayContaining(['fine/report.txt', ...hostile]));
});
