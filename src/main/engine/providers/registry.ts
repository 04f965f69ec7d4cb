import type { DestinationConfig } from '../../../shared/config';
import { FerryError } from '../../../shared/errors';
import { LocalDestination } from './local/localProvider';
import type { DropboxDestinationConfig } from './dropbox/dropboxProvider';
import type { FtpDestinationConfig } from './ftp/ftpProvider';
import type { GcsDestinationConfig } from './gcs/gcsProvider';
import type { HttpDestinationConfig } from './http/httpProvider';
import type { S3DestinationConfig } from './s3/s3Provider';
import type { SftpDestinationConfig } from './sftp/sftpProvider';
import type { WebdavDestinationConfig } from './webdav/webdavProvider';
import type { Destination, ProviderDeps } from './types';

export type { ProviderDeps } from './types';

export type DestinationFactory = (cfg: DestinationConfig, deps: ProviderDeps) => Destination | Promise<Destination>;

/** Destination types this build can talk to. Tests may add their own (the in-memory reference). */
export function defaultFactories(): Map<string, DestinationFactory> {
  return new Map<string, DestinationFactory>([
    [
      'local',
      (cfg, deps) =>
        new LocalDestination(cfg as Extract<DestinationConfig, { type: 'local' }>, deps.workers, deps.temp),
    ],
    // Each provider (and its SDK) is loaded when a destination of its type is first used: a CLI run
    // that ships to a local folder does not pay for loading the AWS, Google and Dropbox clients.
    [
      'dropbox',
      async (cfg, deps) =>
        new (await import('./dropbox/dropboxProvider')).DropboxDestination(cfg as DropboxDestinationConfig, deps),
    ],
    [
      'gcs',
      async (cfg, deps) => new (await import('./gcs/gcsProvider')).GcsDestination(cfg as GcsDestinationConfig, deps),
    ],
    ['s3', async (cfg, deps) => new (await import('./s3/s3Provider')).S3Destination(cfg as S3DestinationConfig, deps)],
    [
      'sftp',
      async (cfg, deps) =>
        new (await import('./sftp/sftpProvider')).SftpDestination(cfg as SftpDestinationConfig, deps),
    ],
    [
      'ftp',
      async (cfg, deps) => new (await import('./ftp/ftpProvider')).FtpDestination(cfg as FtpDestinationConfig, deps),
    ],
    [
      'webdav',
      async (cfg, deps) =>
        new (await import('./webdav/webdavProvider')).WebdavDestination(cfg as WebdavDestinationConfig, deps),
    ],
    [
      'http',
      async (cfg, deps) =>
        new (await import('./http/httpProvider')).HttpUploadDestination(cfg as HttpDestinationConfig, deps),
    ],
  ]);
}

export async function createDestination(
  cfg: DestinationConfig,
  factories: Map<string, DestinationFactory>,
  deps: ProviderDeps,
): Promise<Destination> {
  const make = factories.get(cfg.type);
  if (!make)
    throw new FerryError(
      'permanent',
      'type-unavailable',
      `destination "${cfg.id}": type ${cfg.type} is not available in this build of Ferry`,
      {
        context: { destination: cfg.id },
        hint: `available types: ${[...factories.keys()].join(', ')}`,
      },
    );
  return make(cfg, deps);
}
