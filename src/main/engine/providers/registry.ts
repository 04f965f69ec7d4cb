import type { DestinationConfig } from '../../../shared/config';
import { FerryError } from '../../../shared/errors';
import { LocalDestination } from './local/localProvider';
import type { Destination } from './types';

export type DestinationFactory = (cfg: DestinationConfig) => Destination;

/** Destination types this build can talk to. Tests may add their own (the in-memory reference). */
export function defaultFactories(): Map<string, DestinationFactory> {
  return new Map<string, DestinationFactory>([
    ['local', (cfg) => new LocalDestination(cfg as Extract<DestinationConfig, { type: 'local' }>)],
  ]);
}

export function createDestination(cfg: DestinationConfig, factories: Map<string, DestinationFactory>): Destination {
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
  return make(cfg);
}
