import type { FerryConfig } from '../../../shared/config';
import type { HashKind } from '../../../shared/hashes';
import type { Destination } from '../providers/types';
import {
  connectDestinations,
  kindsPerFolder,
  passingFailuresRetried,
  toSerialized,
  type DestinationFailure,
  type EngineDeps,
} from '../sync/runSteps';

/**
 * The destinations the live service is connected to, and the ones that failed: connected at start,
 * looked at again (writing nothing) before each pass, tried again while they fail. The transfer pool
 * holds `connected` and `kinds`: they change in place.
 */
export class DestinationSet {
  readonly connected = new Map<string, Destination>();
  /** Hash kinds each folder's destinations need (the scanner computes these). */
  readonly kinds = new Map<string, HashKind[]>();
  private errors: DestinationFailure[] = [];
  private reconnecting: Promise<void> | undefined;

  constructor(
    private readonly cfg: FerryConfig,
    private readonly deps: EngineDeps,
    private readonly signal: AbortSignal,
    /** A destination came back: its folders need a full pass with a listing. */
    private readonly onBack: () => void,
  ) {}

  async connect(): Promise<void> {
    const { destinations, errors } = await connectDestinations(this.cfg, this.deps, this.signal);
    for (const [id, d] of destinations) this.connected.set(id, d);
    this.errors = errors;
    for (const [folder, kinds] of kindsPerFolder(this.cfg, this.connected)) this.kinds.set(folder, kinds);
  }

  get failures(): readonly DestinationFailure[] {
    return this.errors;
  }

  /** Destinations that failed their check (a drive not mounted yet, a server down) are tried again. */
  reconnect(): Promise<void> {
    this.reconnecting ??= this.tryReconnect().finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  private async tryReconnect(): Promise<void> {
    if (this.errors.length === 0 || this.signal.aborted) return;
    const failed = new Set(this.errors.map((e) => e.destination));
    const retry = { ...this.cfg, destinations: this.cfg.destinations.filter((d) => failed.has(d.id)) };
    const { destinations, errors } = await connectDestinations(retry, this.deps, this.signal);
    for (const [id, dest] of destinations) this.connected.set(id, dest);
    for (const [folder, kinds] of kindsPerFolder(this.cfg, this.connected)) this.kinds.set(folder, kinds);
    this.errors = errors;
    if (destinations.size > 0) this.onBack();
  }

  /**
   * Looks again, writing nothing, at the destinations it holds: a disk unplugged or a share unmounted
   * since the last pass is offline (nothing planned for it, the status says so) instead of being
   * written to, and reconnect() brings it back once its folder is there again.
   */
  async verify(which: (d: Destination) => boolean = () => true): Promise<void> {
    const signal = this.signal;
    await Promise.all(
      [...this.connected].map(async ([id, dest]) => {
        if (!which(dest)) return;
        try {
          await passingFailuresRetried(() => dest.check(signal, { write: false }), signal);
        } catch (err) {
          if (signal.aborted) return;
          this.connected.delete(id);
          await dest.close().catch(() => undefined);
          const error = toSerialized(err, id);
          this.errors = [...this.errors.filter((e) => e.destination !== id), { destination: id, error }];
          this.deps.events.emit('destination:error', { destination: id, error });
        }
      }),
    );
  }

  /** Each configured destination: connected, or the error that keeps it offline. */
  statusRows(): { id: string; ok: boolean; error: string | null; used: boolean }[] {
    return this.cfg.destinations.map((d) => {
      const err = this.errors.find((e) => e.destination === d.id);
      return {
        id: d.id,
        ok: err === undefined && this.connected.has(d.id),
        error: err ? err.error.message : null,
        used: this.cfg.rules.some((r) => r.to.includes(d.id)),
      };
    });
  }

  async close(): Promise<void> {
    await this.reconnecting;
    await Promise.all([...this.connected.values()].map((d) => d.close().catch(() => undefined)));
  }
}
