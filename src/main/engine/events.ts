import { EventEmitter } from 'node:events';
import type { FerryEventName, FerryEvents } from '../../shared/events';

type AnyListener = <K extends FerryEventName>(name: K, payload: FerryEvents[K]) => void;

/** One typed bus: the CLI display, the history, the window and hooks all listen here. */
export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<AnyListener>();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<K extends FerryEventName>(name: K, payload: FerryEvents[K]): void {
    for (const l of this.anyListeners) l(name, payload);
    this.emitter.emit(name, payload);
  }

  on<K extends FerryEventName>(name: K, listener: (payload: FerryEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Every event, for consumers that forward them all (the web socket, JSON logs). */
  onAny(listener: AnyListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }
}
