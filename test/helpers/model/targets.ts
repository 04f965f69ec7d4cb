import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDropboxEmulator, type DropboxEmulator } from '../../servers/dropboxEmulator';
import { startGcsEmulator, type GcsEmulator } from '../../servers/gcsEmulator';
import { fakeServiceAccount } from '../../servers/gcsFixtures';
import { FTP_GID, FTP_UID, startPureFtpd, type FtpServer } from '../../servers/pureFtpd';
import { startRcloneWebdav, type RcloneServer } from '../../servers/rcloneServe';
import { s3Client, s3DestinationYaml, s3Snapshot, S3RVER_KEY, startS3rver, type S3rver } from '../../servers/s3rver';
import { startSshd, type SftpServer } from '../../servers/sshd';
import { readTree } from './ops';

/**
 * A destination kind for the model runs: a real server (or the project's emulator) started once,
 * a fresh place on it per run, and an independent look at what it holds (the server's own folder,
 * the S3 SDK, the emulator's store) — never Ferry's own provider code.
 */
export type Place = {
  /** The destination's YAML entry (id `dest`). */
  yaml: string;
  env: NodeJS.ProcessEnv;
  /** What the destination holds: relative path → SHA-256. */
  snapshot: () => Promise<Map<string, string>>;
};

export type Target = {
  name: TargetName;
  /** A fresh, empty place for one run. */
  place: (id: string) => Place;
  stop: () => Promise<void>;
};

export type TargetName = 'local' | 'sftp' | 'ftp' | 'webdav' | 's3' | 'gcs' | 'dropbox';
export const TARGET_NAMES: readonly TargetName[] = ['local', 'sftp', 'ftp', 'webdav', 's3', 'gcs', 'dropbox'];

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A folder's files as path → SHA-256 (a server's data folder seen from outside; its versions area is Ferry's). */
function folderSnapshot(dir: string): Map<string, string> {
  return new Map([...readTree(dir, ['.ferry-versions'])].map(([p, b]) => [p, sha(b)]));
}

export async function startTarget(name: TargetName): Promise<Target> {
  switch (name) {
    case 'local': {
      const base = mkdtempSync(join(tmpdir(), 'ferry-model-local-'));
      return {
        name,
        place: (id) => {
          const dir = join(base, id);
          mkdirSync(dir);
          return {
            yaml: `  - { id: dest, type: local, path: ${JSON.stringify(dir)} }`,
            env: {},
            snapshot: () => Promise.resolve(folderSnapshot(dir)),
          };
        },
        stop: () => Promise.resolve(rmSync(base, { recursive: true, force: true })),
      };
    }
    case 'sftp': {
      const server: SftpServer = await startSshd();
      return {
        name,
        place: (id) => ({
          yaml: [
            '  - id: dest',
            '    type: sftp',
            '    host: 127.0.0.1',
            `    port: ${server.port}`,
            `    user: ${server.user}`,
            `    path: ${JSON.stringify(server.dataDir)}`,
            `    prefix: ${id}`,
            `    host_key: ${server.hostKey}`,
            `    private_key: file:${server.clientKeyFile as string}`,
          ].join('\n'),
          env: {},
          snapshot: () => Promise.resolve(folderSnapshot(join(server.dataDir, id))),
        }),
        stop: () => server.stop(),
      };
    }
    case 'ftp': {
      const server: FtpServer = await startPureFtpd();
      return {
        name,
        place: (id) => {
          mkdirSync(join(server.dataDir, id));
          chownSync(join(server.dataDir, id), FTP_UID, FTP_GID);
          return {
            yaml: [
              '  - id: dest',
              '    type: ftp',
              '    host: 127.0.0.1',
              `    port: ${server.port}`,
              `    user: ${server.user}`,
              `    password: file:${server.passwordFile}`,
              `    path: /${id}`,
              '    tls: explicit',
              `    ca_file: ${JSON.stringify(server.certFile)}`,
            ].join('\n'),
            env: {},
            snapshot: () => Promise.resolve(folderSnapshot(join(server.dataDir, id))),
          };
        },
        stop: () => server.stop(),
      };
    }
    case 'webdav': {
      const dir = mkdtempSync(join(tmpdir(), 'ferry-model-dav-'));
      // Places are made on disk while it runs: without this, rclone's cached listing of its root hides
      // them from the second run on ("the folder … does not exist").
      const server: RcloneServer = await startRcloneWebdav(dir, { extra: ['--dir-cache-time', '0s'] });
      return {
        name,
        place: (id) => {
          mkdirSync(join(dir, id));
          return {
            yaml: [
              '  - id: dest',
              '    type: webdav',
              `    url: ${JSON.stringify(`${server.url}/${id}`)}`,
              `    user: ${server.user}`,
              '    password: env:FERRY_TEST_DAV_PASSWORD',
            ].join('\n'),
            env: { FERRY_TEST_DAV_PASSWORD: server.pass },
            snapshot: () => Promise.resolve(folderSnapshot(join(dir, id))),
          };
        },
        stop: async () => {
          await server.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    case 's3': {
      const server: S3rver = await startS3rver(['model']);
      const client = s3Client(server.url);
      return {
        name,
        place: (id) => ({
          yaml: s3DestinationYaml('dest', { bucket: 'model', endpoint: server.url, prefix: id }),
          env: { FERRY_S3_KEY: S3RVER_KEY, FERRY_S3_SECRET: S3RVER_KEY },
          snapshot: () => s3Snapshot(client, 'model', id),
        }),
        stop: () => server.stop(),
      };
    }
    case 'gcs': {
      const keys = mkdtempSync(join(tmpdir(), 'ferry-model-gcs-'));
      const account = fakeServiceAccount(keys, 'model-writer');
      // A bucket whose name holds the word "bucket": real names do.
      const emu: GcsEmulator = await startGcsEmulator({
        buckets: ['model-backup-bucket'],
        accounts: [{ email: account.email, keyId: account.keyId, publicKeyPem: account.publicKeyPem, role: 'writer' }],
      });
      return {
        name,
        place: (id) => ({
          yaml: [
            '  - id: dest',
            '    type: gcs',
            '    bucket: model-backup-bucket',
            `    endpoint: ${emu.url}`,
            `    key_file: ${JSON.stringify(`file:${account.keyFile}`)}`,
            `    prefix: ${id}`,
          ].join('\n'),
          env: {},
          snapshot: () =>
            Promise.resolve(
              new Map(
                emu
                  .objects('model-backup-bucket')
                  .filter((o) => o.name.startsWith(`${id}/`))
                  .map((o) => [o.name.slice(id.length + 1), sha(o.data)]),
              ),
            ),
        }),
        stop: async () => {
          await emu.close();
          rmSync(keys, { recursive: true, force: true });
        },
      };
    }
    case 'dropbox': {
      const emu: DropboxEmulator = await startDropboxEmulator();
      return {
        name,
        place: (id) => ({
          yaml: [
            '  - id: dest',
            '    type: dropbox',
            '    app_key: ferry-test-app',
            '    refresh_token: env:FERRY_TEST_DBX_TOKEN',
            `    endpoint: ${emu.url}`,
            `    root: /${id}`,
          ].join('\n'),
          env: { FERRY_TEST_DBX_TOKEN: emu.issueRefreshToken() },
          snapshot: () => {
            const out = new Map<string, string>();
            const prefix = `${id}/`.toLowerCase();
            for (const [path, data] of emu.files())
              if (path.toLowerCase().startsWith(prefix)) out.set(path.slice(prefix.length), sha(data));
            return Promise.resolve(out);
          },
        }),
        stop: () => emu.close(),
      };
    }
  }
}
