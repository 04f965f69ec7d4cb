import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { writeConfig } from '../helpers/tree';
import { converge, folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';
import { startSshd, type SftpServer } from '../servers/sshd';

/**
 * Two instances meet two-way on an SFTP server (OpenSSH: what another client writes is what it serves), whose versions are only size and mtime (whole seconds).
 * Edits of one size made on both computers within the same second leave the hub's file with the token
 * the first instance recorded: before replacing or deleting it, Ferry must read it back.
 */
let sftp: SftpServer;
let root: string;
beforeAll(async () => {
  sftp = await startSshd();
  root = mkdtempSync(join(tmpdir(), 'ferry-2way-weak-'));
});
afterAll(async () => {
  await sftp?.stop();
  rmSync(root, { recursive: true, force: true });
});

type Side = TwoWaySide;

function side(name: string, hubDir: string): Side {
  mkdirSync(join(sftp.dataDir, hubDir), { recursive: true });
  const folder = join(root, name);
  mkdirSync(folder);
  const config = writeConfig(
    join(root, `${name}.yml`),
    [
      'folders:',
      `  - { id: work, path: ${JSON.stringify(folder)} }`,
      'destinations:',
      '  - id: hub',
      '    type: sftp',
      '    host: 127.0.0.1',
      `    port: ${sftp.port}`,
      `    user: ${sftp.user}`,
      `    private_key: file:${sftp.clientKeyFile}`,
      `    host_key: ${sftp.hostKey}`,
      `    path: ${JSON.stringify(join(sftp.dataDir, hubDir))}`,
      'rules:',
      '  - { name: both-ways, from: [work], to: [hub], mode: two-way }',
      '',
    ].join('\n'),
  );
  return { folder, state: join(root, `${name}-state`), config };
}

const put = putFile;
const tree = folderTree;

it('sees another computer’s same-size edit made within the same second, and keeps both versions', async () => {
  const a = side('a1', 'one');
  const b = side('b1', 'one');
  put(a, 'status.txt', 'base v0');
  await converge(a, b);
  const at = new Date('2026-11-23T10:00:00Z');
  put(a, 'status.txt', 'a v142', at);
  put(b, 'status.txt', 'b v143', at);
  expect((await syncJson(a.config, a.state)).code).toBe(0);
  // b finds it changed on both sides: a's version comes home as a conflicted copy, b's goes to the hub,
  // one second on, so that a sees a new version where size and second would otherwise be a's own.
  expect((await syncJson(b.config, b.state)).code).toBe(0);
  expect(statSync(join(sftp.dataDir, 'one', 'status.txt')).mtimeMs).toBe(at.getTime() + 1000);
  await converge(a, b);
  const final = tree(a.folder);
  expect(final).toEqual(tree(b.folder));
  expect(final['status.txt']).toBe('b v143');
  expect(Object.values(final).sort()).toEqual(['a v142', 'b v143']);
}, 120_000);

it('never replaces nor deletes a file another client rewrote with the same size and time', async () => {
  const a = side('a2', 'two');
  const b = side('b2', 'two');
  put(a, 'notes.txt', 'base v0');
  put(a, 'gone.txt', 'base v1');
  await converge(a, b);
  // Another SFTP client rewrites both in place and keeps their times: the listing cannot tell.
  for (const [name, content] of [
    ['notes.txt', 'else v0'],
    ['gone.txt', 'else v1'],
  ] as const) {
    const there = join(sftp.dataDir, 'two', name);
    const { mtime } = statSync(there);
    writeFileSync(there, content);
    utimesSync(there, mtime, mtime);
  }
  put(a, 'notes.txt', 'a v150');
  unlinkSync(join(a.folder, 'gone.txt'));
  const r = await syncJson(a.config, a.state);
  expect(r.summary?.failures).toContainEqual(
    expect.objectContaining({ path: 'notes.txt', error: expect.objectContaining({ kind: 'conflict' }) }),
  );
  expect(readFileSync(join(sftp.dataDir, 'two', 'notes.txt'), 'utf8')).toBe('else v0');
  expect(readFileSync(join(sftp.dataDir, 'two', 'gone.txt'), 'utf8')).toBe('else v1');

  await converge(a, b);
  // a settled both by keeping every version; b's own copies still look like the hub's to any listing.
  const final = tree(a.folder);
  expect(final['gone.txt']).toBe('else v1');
  expect(Object.values(final).sort()).toEqual(['a v150', 'else v0', 'else v1']);
  expect(Object.values(tree(b.folder))).toEqual(expect.arrayContaining(['a v150', 'else v0']));
}, 120_000);
