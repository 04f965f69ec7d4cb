import type { FerryConfig } from '../../../shared/config';
import type { FerryApi } from '../../../shared/contract';
import { createApi } from './api';
import { testDestination } from './destinationTest';
import { fileKeychain } from '../secrets/fileKeychain';
import { HookRunner } from './hooks';
import type { Logger } from '../diagnostics/log';
import { providerDeps, type EngineDeps } from '../sync/runSteps';
import { SyncService } from '../sync/syncService';
import { DropboxConnections } from '../window/dropboxConnect';

/**
 * The live engine as a face hosts it (the daemon, Electron's main process): the sync service, its
 * hooks and the contract's implementation. A new configuration is re-applied without a restart:
 * the old service stops (its queue stays in the database) and a new one starts.
 */
export class EngineHost {
  readonly api: FerryApi;
  private service: SyncService;
  private hooks: HookRunner;
  private readonly dropbox: DropboxConnections;
  private heldBy: string | undefined;

  constructor(
    private cfg: FerryConfig,
    private readonly deps: EngineDeps,
    configPath: string,
    private readonly log: Logger,
    where: { face: 'desktop' | 'daemon'; stateDir: string },
  ) {
    this.service = new SyncService(cfg, deps);
    this.hooks = new HookRunner(cfg, deps.events, log);
    const keychain = deps.keychain ?? fileKeychain(where.stateDir);
    this.dropbox = new DropboxConnections(keychain);
    this.api = createApi({
      store: deps.store,
      service: () => this.service,
      config: () => this.cfg,
      configPath,
      apply: (next) => this.apply(next),
      testDestination: (dc) => testDestination(dc, deps.factories, providerDeps(deps)),
      keychain,
      dropbox: this.dropbox,
      info: where,
    });
  }

  get config(): FerryConfig {
    return this.cfg;
  }

  async start(): Promise<void> {
    this.hooks.start();
    await this.service.start();
  }

  private async apply(next: FerryConfig): Promise<void> {
    if (onlyBandwidthChanged(this.cfg, next)) {
      // Caps change in place: the running transfers go on under the new ones.
      this.log('info', 'bandwidth settings changed: in force now');
      this.cfg = next;
      this.service.setBandwidth(next.settings);
      return;
    }
    this.log('info', 'configuration changed: re-applying');
    // A hold the person overrode (resumed by hand) stays overridden in the new service.
    this.heldBy = this.service.heldReason;
    await this.service.stop();
    this.hooks.stop();
    this.cfg = next;
    this.hooks = new HookRunner(next, this.deps.events, this.log).start();
    this.service = new SyncService(next, this.deps);
    await this.service.start();
    if (this.heldBy !== undefined) this.service.hold(this.heldBy);
  }

  /**
   * Holds every transfer for a reason the person did not give (the desktop app: on battery, a metered
   * network), or lets go (undefined). Kept across configuration changes.
   */
  hold(reason: string | undefined): void {
    if (reason === this.heldBy) return;
    this.log('info', reason === undefined ? 'hold released' : `holding every transfer: ${reason}`);
    this.heldBy = reason;
    this.service.hold(reason);
  }

  /** After sleep or a network change: destinations are reached again, folders rescanned, listings re-read. */
  recheck(): void {
    this.log('info', 'rechecking after a wake-up or a network change');
    this.service.rescanAll();
  }

  /**
   * Stops watching. Running transfers get `graceMs` to finish (the desktop app's quit); then they are
   * interrupted and stay queued. Nothing is half-recorded.
   */
  async stop(graceMs = 0): Promise<void> {
    this.dropbox.close();
    await this.service.stop(graceMs);
    this.hooks.stop();
  }
}

/** Whether two configurations differ only in their bandwidth settings (applied without a restart). */
function onlyBandwidthChanged(a: FerryConfig, b: FerryConfig): boolean {
  const strip = (c: FerryConfig) =>
    JSON.stringify({ ...c, settings: { ...c.settings, bandwidth: 0, bandwidth_schedule: undefined } });
  return strip(a) === strip(b);
}
