import type { DestinationConfig } from '../../../shared/config';
import { FerryError } from '../../../shared/errors';
import { LocalDestination } from './local/localProvider';
import { GcsDestination, type GcsDestinationConfig } from './gcs/gcsProvider';
import { S3Destination, type S3DestinationConfig } from './s3/s3Provider';
import type { FileWorkers } from '../workers/fileWorkers';
import type { Destination, ResumeStore } from './types';

/**
 * What a provider may use from the engine: shared worker threads for local file work, secrets resolved
 * from their config references at the moment they are needed, and a place to remember uploads that
 * can resume.
 */
export type ProviderDeps = {
  workers: FileWorkers;
  /** The value behind a secret reference (env:, file:, keychain:); `what` names it in errors. */
  secret: (ref: string, what: string) => string;
  resume: ResumeStore;
};

export type DestinationFactory = (cfg: DestinationConfig, deps: ProviderDeps) => Destination;

/** Destination types this build can talk to. Tests may add their own (the in-memory reference). */
export function defaultFactories(): Map<string, DestinationFactory> {
  return new Map<string, DestinationFactory>([
    ['local', (cfg, deps) => new LocalDestination(cfg as Extract<DestinationConfig, { type: 'local' }>, deps.workers)],
    ['gcs', (cfg, deps) => new GcsDestination(cfg as GcsDestinationConfig, deps)],
    ['s3', (cfg, deps) => new S3Destination(cfg as S3DestinationConfig, deps)],
  ]);
}

export function createDestination(
  cfg: DestinationConfig,
  factories: Map<string, DestinationFactory>,
  deps: ProviderDeps,
): Destination {
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
