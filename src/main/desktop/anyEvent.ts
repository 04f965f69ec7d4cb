import type { FerryEventName, FerryEvents } from '../../shared/events';

/** The event stream as a union, so that a switch on the name narrows the payload. */
export type AnyEvent = { [K in FerryEventName]: { name: K; payload: FerryEvents[K] } }[FerryEventName];

/** One event as the bus hands it (name, payload), as one value of the union. */
export function anyEvent<K extends FerryEventName>(name: K, payload: FerryEvents[K]): AnyEvent {
  return { name, payload } as AnyEvent;
}

/** What the desktop modules need from the engine's event bus (engine/events.ts). */
export type EventSource = {
  onAny(listener: <K extends FerryEventName>(name: K, payload: FerryEvents[K]) => void): () => void;
};
