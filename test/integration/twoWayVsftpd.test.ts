import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { ownedFolder } from '../helpers/ftpDest';
import { writeConfig } from '../helpers/tree';
import { converge, folderTree, putFile, type TwoWaySide } from '../helpers/twoWay';
import type { FtpServer } from '../servers/ftpKit';
import { startVsftpd } from '../servers/vsftpd';

/**
 * Two instances meet two-way on vsftpd, which has no MLSD: a file's version there is its size alone,
 * so another client's rewrite of the same size, at any time, leaves the version the instances
 * recorded. Before replacing or deleting such a file Ferry must read it back.
 */
let ftp: FtpServer;
let root: string;
beforeAll(async () => {
  ftp = await startVsftpd();
  root = mkdtempSync(join(tmpdir(), 'ferry-2way-vsftpd-'));
});
afterAll(async () => {
  await ftp?.stop();
  rmSync(root, { recursive: true, force: true });
});

function side(name: string, hub: string): TwoWaySide {
  const folder = join(root, name);
  mkdirSync(folder);
  const config = writeConfig(
    join(root, `${name}.yml`),
    [
      'folders:',
      `  - { id: work, path: ${JSON.stringify(folder)} }`,
      'destinations:',
      '  - id: hub',
      '    type: ftp',
      `    host: ${ftp.host}`,
      `    port: ${ftp.port}`,
      `    user: ${ftp.user}`,
      `    password: file:${ftp.passwordFile}`,
      '    tls: explicit',
      `    ca_file: ${ftp.certFile}`,
      `    path: ${hub}`,
      'rules:',
      '  - { name: both-ways, from: [work], to: [hub], mode: two-way }',
      '',
    ].join('\n'),
  );
  return { folder, state: join(root, `${name}-state`), config };
}

it('never replaces nor deletes a file another client rewrote with the same size', async () => {
  const hub = ownedFolder(ftp, 'hub');
  const a = side('a', hub);
  const b = side('b', hub);
  putFile(a, 'notes.txt', 'base v0');
  putFile(a, 'gone.txt', 'base v1');
  await converge(a, b);
  // Another FTP client rewrites both: same sizes, so the same versions on a LIST-only server.
  writeFileSync(join(ftp.dataDir, 'hub', 'notes.txt'), 'else v0');
  writeFileSync(join(ftp.dataDir, 'hub', 'gone.txt'), 'else v1');
  putFile(a, 'notes.txt', 'a v150');
  unlinkSync(join(a.folder, 'gone.txt'));
  const r = await syncJson(a.config, a.state);
  expect(r.summary?.failures).toContainEqual(
    expect.objectContaining({ path: 'notes.txt', error: expect.objectContaining({ kind: 'conflict' }) }),
  );
  expect(readFileSync(join(ftp.dataDir, 'hub', 'notes.txt'), 'utf8')).toBe('else v0');
  expect(readFileSync(join(ftp.dataDir, 'hub', 'gone.txt'), 'utf8')).toBe('else v1');

  await converge(a, b);
  // a kept every version; b's copies still look like the hub's to any listing.
  const final = folderTree(a.folder);
  expect(final['gone.txt']).toBe('else v1');
  expect(Object.values(final).sort()).toEqual(['a v150', 'else v0', 'else v1']);
  expect(Object.values(folderTree(b.folder))).toEqual(expect.arrayContaining(['a v150', 'else v0']));
}, 120_000);
