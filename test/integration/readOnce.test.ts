import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnFerry, syncJson } from '../helpers/cli';
import { sha256, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';
import { startRcloneSftp, startSshd, type SftpServer } from '../servers/sshd';
import { ferryWithIo } from '../helpers/procIo';

/**
 * Read once: a first sync reads each new file's bytes once, hashing them while they are sent, and the
 * index learns its hashes from that read. Read bytes are the kernel's count for the Ferry process
 * (/proc/<pid>/io `rchar`, worker threads included), less what the same run reads with an empty folder
 * (start-up: the program itself, the state database, the destination's check).
 */

const KiB = 1024;
const MiB = 1024 * KiB;

let rclone: SftpServer;
let sshd: SftpServer;
// rclone's VFS keeps a folder's listing for minutes: the folders the tests use are there before it
// first lists its root.
const FOLDERS = 12;
beforeAll(async () => {
  [rclone, sshd] = await Promise.all([startRcloneSftp(), startSshd()]);
  for (const server of [rclone, sshd])
    for (let i = 0; i < FOLDERS; i++) mkdirSync(join(server.dataDir, `ro-${i}`), { mode: 0o777 });
}, 60_000);
afterAll(async () => {
  await Promise.all([rclone?.stop(), sshd?.stop()]);
});

type Target = 'local' | 'sftp';

/** An SFTP destination `box` on `server`, in a folder of its own. */
function sftpDestination(server: SftpServer, folder: string): string {
  const onDisk = join(server.dataDir, folder);
  return [
    '  - id: box',
    '    type: sftp',
    '    host: 127.0.0.1',
    `    port: ${server.port}`,
    `    user: ${server.user}`,
    // rclone serves its data folder as the root; OpenSSH's internal-sftp takes absolute paths.
    `    path: ${JSON.stringify(server === rclone ? folder : onDisk)}`,
    `    host_key: ${server.hostKey}`,
    server.clientKeyFile
      ? `    private_key: file:${server.clientKeyFile}`
      : `    password: file:${server.passwordFile}`,
  ].join('\n');
}

let wsCount = 0;
function targetWorkspace(target: Target, server: SftpServer, settings?: string): Workspace & { out: string } {
  if (wsCount >= FOLDERS) throw new Error('more SFTP folders are needed: raise FOLDERS');
  const folder = `ro-${wsCount++}`;
  const ws = workspace({
    rules: [{ mode: 'mirror', to: [target === 'local' ? 'nas' : 'box'] }],
    ...(target === 'sftp' ? { extraDestinations: sftpDestination(server, folder) } : {}),
    ...(settings ? { settings } : {}),
  });
  return { ...ws, out: target === 'local' ? ws.dest : join(server.dataDir, folder) };
}

async function readBytesOfSync(ws: Workspace, tag: string): Promise<number> {
  const r = await ferryWithIo(
    CLI,
    ['sync', '--once', '--json', '--config', ws.config, '--state-dir', join(ws.root, `state-${tag}`)],
    join(ws.root, `io-${tag}.txt`),
  );
  expect(r.code, r.out).toBe(0);
  return r.io.rchar;
}

function indexRow(ws: Workspace, path: string): { sha256: string } | undefined {
  const db = new Database(join(ws.state, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT sha256 FROM files WHERE path = ?').get(path) as { sha256: string } | undefined;
  } finally {
    db.close();
  }
}

function shippedSha(ws: Workspace, remotePath: string): string | undefined {
  const db = new Database(join(ws.state, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT sha256 FROM shipped WHERE remote_path = ?').get(remotePath) as
      { sha256: string } | undefined;
    return row?.sha256;
  } finally {
    db.close();
  }
}

describe('read once: a cold sync reads each new file once', () => {
  it.each(['local', 'sftp'] as const)(
    'to %s: read bytes are at most 1.1 × the data shipped',
    async (target) => {
      // rclone serve sftp hashes on the server (sha256sum): nothing is read back to verify.
      const empty = targetWorkspace(target, rclone);
      const full = targetWorkspace(target, rclone);
      try {
        let data = 0;
        const put = (rel: string, size: number) => {
          mkdirSync(join(full.src, rel, '..'), { recursive: true });
          writeFileSync(join(full.src, rel), randomBytes(size));
          data += size;
        };
        for (let i = 0; i < 200; i++) put(`small/d${i % 10}/f${i}.bin`, 64 * KiB);
        for (let i = 0; i < 3; i++) put(`big/b${i}.bin`, 6 * MiB);

        const fixed = await readBytesOfSync(empty, 'empty');
        const read = (await readBytesOfSync(full, 'full')) - fixed;
        expect(snapshot(full.out)).toEqual(snapshot(full.src));
        expect(read / data, `read ${read} bytes for ${data} bytes of data`).toBeLessThanOrEqual(1.1);
      } finally {
        empty.cleanup();
        full.cleanup();
      }
    },
    120_000,
  );
});

describe('read once: what the first sync learnt serves the next', () => {
  it.each(['local', 'sftp'] as const)(
    'to %s: a file renamed after a read-once upload is renamed at the destination, not uploaded again',
    async (target) => {
      const ws = targetWorkspace(target, rclone);
      try {
        const body = randomBytes(300 * KiB);
        mkdirSync(join(ws.src, 'docs'));
        writeFileSync(join(ws.src, 'docs', 'report.bin'), body);
        writeFileSync(join(ws.src, 'other.txt'), 'other');
        const first = await syncJson(ws.config, ws.state);
        expect(first.code, first.stdout + first.stderr).toBe(0);
        // The upload read it: the index holds the hash of the bytes sent, not a mark of a file unread.
        expect(indexRow(ws, 'docs/report.bin')?.sha256).toBe(sha256(body));

        renameSync(join(ws.src, 'docs', 'report.bin'), join(ws.src, 'docs', 'final.bin'));
        const second = await syncJson(ws.config, ws.state, { extra: ['-v'] });
        expect(second.code, second.stdout + second.stderr).toBe(0);
        expect(second.summary?.stats.bytes, 'the renamed file was uploaded again').toBe(0);
        expect(second.summary?.stats.done).toBe(1);
        expect(snapshot(ws.out)).toEqual(snapshot(ws.src));
      } finally {
        ws.cleanup();
      }
    },
    60_000,
  );
});

/** Bytes in the upload's temporary file so far (0 before it is there). */
function sentSoFar(dir: string): number {
  let most = 0;
  for (const n of readdirSync(dir).filter((x) => x.includes('.ferrytmp-')))
    try {
      most = Math.max(most, statSync(join(dir, n)).size);
    } catch {
      // published or removed meanwhile
    }
  return most;
}

describe('read once: a file edited while it is sent', () => {
  it.each([
    ['local', 'local'],
    ['sftp', 'OpenSSH'],
  ] as const)(
    'to %s (%s): is never published torn, and the index only ever holds hashes of whole contents',
    async (target, _server) => {
      // OpenSSH writes the temporary file where the test sees it grow; a cap keeps the upload in flight.
      const ws = targetWorkspace(target, sshd, '  transfers: 1\n  bandwidth: 20000000');
      try {
        const file = join(ws.src, 'growing.bin');
        const v1 = randomBytes(40 * MiB);
        const v2 = randomBytes(40 * MiB);
        writeFileSync(file, v1);
        const whole = new Set([sha256(v1), sha256(v2)]);
        const copy = join(ws.out, 'growing.bin');

        const child = spawnFerry(['sync', '--once', '--json', '--config', ws.config, '--state-dir', ws.state]);
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        let running = true;
        void exited.then(() => (running = false));
        let rewritten = false;
        let lastSeen = '';
        const indexed = new Set<string>();
        while (running) {
          if (!rewritten && sentSoFar(ws.out) > 4 * MiB) {
            // Mid-upload: the source rewritten in place (never truncated) with other bytes of the same size.
            writeFileSync(file, v2, { flag: 'r+' });
            rewritten = true;
          }
          try {
            const row = indexRow(ws, 'growing.bin');
            if (row) indexed.add(row.sha256);
          } catch {
            // the state database is not made yet
          }
          try {
            const st = statSync(copy);
            const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
            if (key !== lastSeen) {
              lastSeen = key;
              expect(whole.has(sha256(readFileSync(copy))), 'the destination shows a torn file').toBe(true);
            }
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
          await new Promise((r) => setTimeout(r, 15));
        }
        await exited;
        expect(rewritten, 'the test never caught the upload in flight').toBe(true);
        const final = sha256(readFileSync(copy));
        expect(final).toBe(sha256(v2));
        // Unread (a mark of its identity) until the upload that read and sent it whole: never the hash of
        // a mix of both, nor of the first content, whose upload was given up.
        for (const h of indexed) expect(h.startsWith('unread:') || h === sha256(v2), `index held ${h}`).toBe(true);
        expect(indexRow(ws, 'growing.bin')?.sha256).toBe(final);
        expect(shippedSha(ws, 'growing.bin')).toBe(final);
      } finally {
        ws.cleanup();
      }
    },
    120_000,
  );
});
