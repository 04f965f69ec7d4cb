import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/loadConfig';
import { EngineHost } from './engineHost';
import { fileKeychain } from '../secrets/fileKeychain';
import type { Keychain } from '../secrets/secrets';
import { EventBus } from '../events';
import { fileLogger } from '../diagnostics/log';
import { defaultFactories } from '../providers/registry';
import { lockStateDir } from '../store/stateLock';
import { Store } from '../store/store';
import { FileWorkers } from '../workers/fileWorkers';

export type AppEngine = {
  host: EngineHost;
  events: EventBus;
  /** Stops the engine; running transfers get `graceMs` to finish first (quitting the app). */
  close: (graceMs?: number) => Promise<void>;
};

const EMPTY_CONFIG =
  '# Ferry: folders, destinations and rules (edited by the window, or by hand).\nfolders: []\ndestinations: []\nrules: []\n';

/**
 * Opens the engine for the desktop app: config and state in the user's app-data folder (an empty
 * config on first run), one lock, the state database, file workers that idle out, and the host.
 */
export async function openAppEngine(dataDir: string, opts: { keychain?: Keychain } = {}): Promise<AppEngine> {
  mkdirSync(dataDir, { recursive: true });
  const configPath = join(dataDir, 'config.yml');
  if (!existsSync(configPath)) writeFileSync(configPath, EMPTY_CONFIG, { mode: 0o600 });
  let cfg;
  try {
    cfg = loadConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`the configuration cannot be used:\n${err.message}`);
    throw err;
  }
  const stateDir = cfg.settings.state_dir ?? join(dataDir, 'state');
  const unlock = lockStateDir(stateDir);
  const store = Store.open(stateDir);
  const workers = new FileWorkers(undefined, 5000);
  const events = new EventBus();
  const log = fileLogger(join(dataDir, 'logs', 'ferry.log'));
  // The shell passes the OS keychain (safeStorage); without one, secrets stay in a private file.
  const keychain = opts.keychain ?? fileKeychain(stateDir);
  const deps = { store, events, workers, factories: defaultFactories(), keychain };
  const host = new EngineHost(cfg, deps, configPath, log, { face: 'desktop', stateDir });
  await host.start();
  return {
    host,
    events,
    close: async (graceMs = 0) => {
      await host.stop(graceMs);
      await workers.close();
      store.close();
      unlock();
    },
  };
}
