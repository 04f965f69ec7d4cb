import { FERRY_VERSION } from '../../shared/version';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { FerryConfig } from '../../shared/config';
import { FerryError } from '../../shared/errors';
import { TRANSFER_OUTCOMES } from '../../shared/models';
import type { RcloneImportOutcome } from '../../shared/contract';
import { bigintReplacer } from '../../shared/json';
import { ConfigError, loadConfig } from '../engine/config/loadConfig';
import { EventBus } from '../engine/events';
import { HookRunner } from '../engine/host/hooks';
import { testDestination } from '../engine/host/destinationTest';
import { defaultFactories } from '../engine/providers/registry';
import type { ProviderDeps } from '../engine/providers/types';
import { resolveSecret } from '../engine/secrets/secrets';
import { FileWorkers } from '../engine/workers/fileWorkers';
import { defaultStateDir } from '../engine/store/stateDir';
import { fileKeychain } from '../engine/secrets/fileKeychain';
import { writeFileAtomically } from '../engine/files/atomicWrite';
import { lockStateDir } from '../engine/store/stateLock';
import { defaultRcloneConf } from '../engine/rclone/rcloneConf';
import {
  IMPORT_USAGE_CODES,
  importIntoConfig,
  importLines,
  readRcloneRemotes,
} from '../engine/rclone/importIntoConfig';
import { openHistoryReader } from '../engine/store/historyReader';
import { Store } from '../engine/store/store';
import { prepare, syncOnce, type EngineDeps } from '../engine/sync/syncRun';
import { confirmDaemonDeletes, daemonStatus, runDaemon, stopDaemon } from './daemon';
import { attachProgress } from './progress';
import { historyCsv, historyFilters, historyJson, historyText, type HistoryOptions } from './history';
import { page } from './pager';
import { planReport } from './planReport';
import { SINCE_FORMS } from './sinceTime';
import { summaryJson, summaryLines } from './summary';
import { addVersionCommands } from './versionsCommands';

import { EXIT, ExitError } from './exit';

export { EXIT };

type Io = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };
type Common = { config: string; stateDir?: string; json?: boolean };

function readConfig(file: string): FerryConfig {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new ExitError(EXIT.usage, `Invalid configuration:\n${err.message}`);
    throw err;
  }
}

/**
 * A config with nothing to do (an empty file, or no rule yet) is not a successful sync of nothing: it
 * is most often the wrong file, and the person is told so.
 */
function requireConfigured(cfg: FerryConfig, file: string, needs: 'rules' | 'destinations'): void {
  if (cfg[needs].length > 0) return;
  const has = `${cfg.folders.length} folder${cfg.folders.length === 1 ? '' : 's'}, ${cfg.destinations.length} destination${cfg.destinations.length === 1 ? '' : 's'}, ${cfg.rules.length} rule${cfg.rules.length === 1 ? '' : 's'}`;
  throw new ExitError(
    EXIT.usage,
    `${file}: nothing configured (${has}). ${
      needs === 'rules' ? 'Add a folder, a destination and a rule that ships one to the other' : 'Add a destination'
    } (the README's "Quick start" has one), or set them up in the window: ferry daemon, then open the address it prints`,
  );
}

/** Opens the engine for one command: lock, store, hash workers. Closed by the returned function. */
async function withEngine<T>(
  cfg: FerryConfig,
  opts: Common,
  run: (deps: EngineDeps, stateDir: string) => Promise<T>,
  engine: { workerIdleMs?: number } = {},
): Promise<T> {
  const stateDir = opts.stateDir ?? cfg.settings.state_dir ?? defaultStateDir();
  let unlock: () => void;
  let store: Store;
  try {
    unlock = lockStateDir(stateDir);
  } catch (err) {
    throw new ExitError(
      EXIT.unavailable,
      err instanceof FerryError ? `${err.message}${err.hint ? ` — ${err.hint}` : ''}` : String(err),
    );
  }
  try {
    store = Store.open(stateDir);
  } catch (err) {
    unlock();
    throw new ExitError(
      EXIT.unavailable,
      err instanceof FerryError ? `${err.message}${err.hint ? ` — ${err.hint}` : ''}` : String(err),
    );
  }
  const workers = new FileWorkers(undefined, engine.workerIdleMs);
  try {
    return await run(
      { store, events: new EventBus(), workers, factories: defaultFactories(), keychain: fileKeychain(stateDir) },
      stateDir,
    );
  } finally {
    await workers.close();
    store.close();
    unlock();
  }
}

function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command()
    .name('ferry')
    .description('Ferry ships every change of your folders to their destinations, verified.')
    .version(FERRY_VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const common = (cmd: Command) =>
    cmd
      .requiredOption('-c, --config <file>', 'the configuration file (YAML)')
      .option(
        '--state-dir <dir>',
        'where Ferry keeps its state database (default: settings.state_dir, else the platform default)',
      )
      .option('--json', 'machine-readable output on stdout');

  common(
    program
      .command('sync')
      .description('scan, plan, transfer and verify; with --once, exit when done')
      .option('--once', 'one pass, then exit (live syncing is `ferry daemon`)')
      .option(
        '--confirm-deletes',
        'allow a mirror rule to delete more than settings.max_delete_share of what it shipped',
      )
      .addOption(new Option('-v, --verbose', 'print every file as it is shipped')),
  ).action(async (opts: Common & { once?: boolean; confirmDeletes?: boolean; verbose?: boolean }) => {
    if (!opts.once)
      throw new ExitError(EXIT.usage, 'ferry sync needs --once for now: continuous syncing comes with `ferry daemon`');
    const cfg = readConfig(opts.config);
    requireConfigured(cfg, opts.config, 'rules');
    const { signal, dispose } = interruptSignal();
    try {
      await withEngine(cfg, opts, async (deps) => {
        const detach = opts.json
          ? () => undefined
          : attachProgress(deps.events, io.stderr, { verbose: opts.verbose ?? false });
        const hooks = new HookRunner(cfg, deps.events, (_level, message) =>
          io.stderr.write(`warning: ${message}\n`),
        ).start();
        const summary = await syncOnce(cfg, deps, { confirmDeletes: opts.confirmDeletes ?? false, signal }).finally(
          detach,
        );
        // Hooks run beside the sync; a one-shot run waits for them (each has its own timeout).
        await hooks.drained();
        hooks.stop();
        if (opts.json) io.stdout.write(`${JSON.stringify(summaryJson(summary), bigintReplacer, 2)}\n`);
        else for (const l of summaryLines(summary)) io.stdout.write(`${l}\n`);
        setExit(signal.aborted ? EXIT.interrupted : summary.ok ? EXIT.ok : EXIT.incomplete);
      });
    } finally {
      dispose();
    }
  });

  common(
    program
      .command('plan')
      .description('show what a sync would do, without doing it')
      .option('--rule <name>', 'only this rule: the files it catches, where each goes, and what it would do')
      .option('--confirm-deletes', 'plan as if deletions beyond the brake were confirmed'),
  ).action(async (opts: Common & { confirmDeletes?: boolean; rule?: string }) => {
    const cfg = readConfig(opts.config);
    requireConfigured(cfg, opts.config, 'rules');
    const only = opts.rule === undefined ? undefined : cfg.rules.find((r) => r.name === opts.rule);
    if (opts.rule !== undefined && !only)
      throw new ExitError(
        EXIT.usage,
        `${opts.config}: no rule named "${opts.rule}" (rules: ${cfg.rules.map((r) => `"${r.name}"`).join(', ') || 'none'})`,
      );
    await withEngine(cfg, opts, async (deps) => {
      const prepared = await prepare(cfg, deps, { confirmDeletes: opts.confirmDeletes ?? false });
      const report = planReport(cfg, prepared, only);
      if (opts.json) io.stdout.write(`${JSON.stringify(report.json, bigintReplacer, 2)}\n`);
      else for (const l of report.lines) io.stdout.write(`${l}\n`);
      const blocking = [...prepared.scans.values()].some((s) => s.issues.some((i) => i.blocking));
      setExit(prepared.destinationErrors.length > 0 || blocking ? EXIT.incomplete : EXIT.ok);
    });
  });

  program
    .command('check')
    .description(
      "test each destination's connection: reachable, credentials accepted, bucket or folder present, writable",
    )
    .argument('[destinations...]', 'destination ids (default: all)')
    .requiredOption('-c, --config <file>', 'the configuration file (YAML)')
    .option(
      '--state-dir <dir>',
      'where keychain: secrets are kept (default: settings.state_dir, else the platform default)',
    )
    .option('--json', 'machine-readable output on stdout')
    .action(async (ids: string[], opts: { config: string; stateDir?: string; json?: boolean }) => {
      const cfg = readConfig(opts.config);
      requireConfigured(cfg, opts.config, 'destinations');
      const unknown = ids.filter((id) => !cfg.destinations.some((d) => d.id === id));
      if (unknown.length > 0)
        throw new ExitError(
          EXIT.usage,
          `${opts.config}: no destination ${unknown.map((u) => `"${u}"`).join(', ')} (destinations: ${cfg.destinations.map((d) => d.id).join(', ') || 'none'})`,
        );
      // No state directory needed: a check can run beside a daemon that holds it.
      const workers = new FileWorkers(1);
      const deps: ProviderDeps = {
        workers,
        // The secret store is read, not locked: a check runs beside a daemon.
        secret: (ref, what) =>
          resolveSecret(ref, what, fileKeychain(opts.stateDir ?? cfg.settings.state_dir ?? defaultStateDir())),
        resume: { load: () => undefined, save: () => undefined, clear: () => undefined, all: () => [] },
      };
      try {
        const chosen = cfg.destinations.filter((d) => ids.length === 0 || ids.includes(d.id));
        const results = await Promise.all(
          chosen.map(async (d) => ({ destination: d.id, ...(await testDestination(d, defaultFactories(), deps)) })),
        );
        if (opts.json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        else
          for (const r of results)
            io.stdout.write(
              r.ok
                ? `✓ ${r.destination}: ${r.message} (${r.durationMs} ms)\n`
                : `✗ ${r.destination}: ${r.step} failed: ${r.message}${r.hint ? ` — ${r.hint}` : ''}\n`,
            );
        setExit(results.every((r) => r.ok) ? EXIT.ok : EXIT.incomplete);
      } finally {
        await workers.close();
      }
    });

  program
    .command('connect')
    .description(
      'connect a Dropbox destination: open the address shown, allow Ferry, and the refresh token is written to --token-file',
    )
    .argument('<destination>', 'the id of a dropbox destination in the config')
    .requiredOption('-c, --config <file>', 'the configuration file (YAML)')
    .requiredOption('--token-file <file>', 'where to keep the refresh token (written with mode 0600)')
    .option('--timeout <seconds>', 'how long to wait for the browser', (v) => Number.parseInt(v, 10), 300)
    .action(async (id: string, opts: { config: string; tokenFile: string; timeout: number }) => {
      const cfg = readConfig(opts.config);
      const dc = cfg.destinations.find((d) => d.id === id);
      if (dc?.type !== 'dropbox')
        throw new ExitError(
          EXIT.usage,
          `${opts.config}: ${dc ? `destination "${id}" is of type ${dc.type}` : `no destination "${id}"`}; \`ferry connect\` connects Dropbox destinations`,
        );
      const { connectDropbox } = await import('../engine/providers/dropbox/oauth');
      const { Transport } = await import('../engine/providers/dropbox/dropboxTransport');
      const transport = new Transport(dc.endpoint);
      const { signal, dispose } = interruptSignal();
      try {
        const { refreshToken } = await connectDropbox({
          appKey: dc.app_key,
          fetch: transport.fetch(signal),
          authorizeBase: dc.endpoint,
          redirectUri: dc.redirect_uri,
          timeoutMs: opts.timeout * 1000,
          signal,
          openBrowser: (url) => {
            io.stdout.write(`Open this address in a browser and allow Ferry:\n${url}\n`);
          },
        });
        const file = resolve(opts.tokenFile);
        writeFileAtomically(file, `${refreshToken}\n`);
        io.stdout.write(
          `Connected. The refresh token is in ${file} (readable by you only); in ${opts.config}, set:\n  refresh_token: file:${file}\n`,
        );
      } catch (err) {
        if (err instanceof FerryError)
          throw new ExitError(EXIT.incomplete, `${err.message}${err.hint ? ` — ${err.hint}` : ''}`);
        throw err;
      } finally {
        dispose();
        transport.close();
      }
    });

  common(
    program
      .command('daemon')
      .description('watch the folders and sync continuously, until stopped (SIGTERM, SIGINT or `ferry stop`)')
      .option(
        '--host <address>',
        'address to serve the API and the web app on (keep loopback unless you mean it)',
        '127.0.0.1',
      )
      .option('--port <n>', 'port (0: any free port)', (v) => Number.parseInt(v, 10), 7717)
      .option('--no-webapp', 'serve only the API, not the web app')
      .option('--pidfile <file>', 'write the process id here, for `ferry stop`')
      .option('--log-file <file>', 'structured log lines (JSON), rotated at 10 MB; default: standard error'),
  ).action(
    async (opts: Common & { host: string; port: number; webapp: boolean; pidfile?: string; logFile?: string }) => {
      const cfg = readConfig(opts.config);
      if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
        throw new ExitError(EXIT.usage, '--port must be a number from 0 to 65535');
      await withEngine(
        cfg,
        opts,
        async (deps, stateDir) => {
          const daemonOpts = {
            configPath: resolve(opts.config),
            stateDir,
            host: opts.host,
            port: opts.port,
            webapp: opts.webapp,
            pidfile: opts.pidfile,
            logFile: opts.logFile,
          };
          setExit(await runDaemon(cfg, deps, daemonOpts, io.stdout, io.stderr));
        },
        // An idle daemon gives its worker threads' memory back; they start again with the next change.
        { workerIdleMs: 5000 },
      );
    },
  );

  program
    .command('import-rclone')
    .description(
      "add destinations from rclone's config: its remotes of the types Ferry has, secrets moved into Ferry's secret store",
    )
    .argument('[remotes...]', 'remote names, or NAME:PATH for a bucket or folder of one (default: every remote)')
    .requiredOption('-c, --config <file>', 'the Ferry configuration file to add them to (made if missing)')
    .option(
      '--rclone-config <file>',
      "rclone's config (default: where rclone looks: $RCLONE_CONFIG, ~/.config/rclone/rclone.conf)",
    )
    .option(
      '--state-dir <dir>',
      'where Ferry keeps its state and the secret store (default: settings.state_dir, else the platform default)',
    )
    .option('--json', 'machine-readable output on stdout')
    .action((remotes: string[], opts: { config: string; rcloneConfig?: string; stateDir?: string; json?: boolean }) => {
      const existing = existsSync(opts.config) ? readConfig(opts.config) : undefined;
      const stateDir = opts.stateDir ?? existing?.settings.state_dir ?? defaultStateDir();
      const keychain = fileKeychain(stateDir);
      let outcomes: RcloneImportOutcome[];
      try {
        const remotesFound = readRcloneRemotes(opts.rcloneConfig ?? defaultRcloneConf());
        outcomes = importIntoConfig(remotesFound, remotes, opts.config, keychain).outcomes;
      } catch (err) {
        if (err instanceof FerryError && IMPORT_USAGE_CODES.has(err.code))
          throw new ExitError(EXIT.usage, `${err.message}${err.hint ? `; ${err.hint} with --rclone-config` : ''}`);
        throw err;
      }
      // Secret values never reach the output: only the references the config holds.
      if (opts.json) io.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
      else for (const l of importLines(outcomes, opts.config, keychain.where)) io.stdout.write(`${l}\n`);
      setExit(outcomes.length > 0 && outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.incomplete);
    });

  program
    .command('history')
    .description('every transfer that ended (done, failed, skipped, cancelled), newest first, as the window lists them')
    .requiredOption('-c, --config <file>', 'the configuration file (to find its state directory and destinations)')
    .option(
      '--state-dir <dir>',
      'where Ferry keeps its state database (default: settings.state_dir, else the platform default)',
    )
    .option('--destination <id>', 'only transfers to this destination')
    .option('--outcome <outcome>', `only this outcome: ${TRANSFER_OUTCOMES.join(', ')}`)
    .option('--since <time>', `only transfers since then: ${SINCE_FORMS}`)
    .option('--search <text>', 'only transfers whose path, remote path, rule or tags hold this text')
    .addOption(new Option('--json', 'the entries as JSON on stdout').conflicts('csv'))
    .addOption(new Option('--csv', "the entries as CSV on stdout (the window's export)").conflicts('json'))
    .option('--no-pager', 'never page the output (it is paged only on a terminal)')
    .action(
      async (
        opts: HistoryOptions & { config: string; stateDir?: string; json?: boolean; csv?: boolean; pager: boolean },
      ) => {
        const cfg = readConfig(opts.config);
        const stateDir = opts.stateDir ?? cfg.settings.state_dir ?? defaultStateDir();
        let reader: ReturnType<typeof openHistoryReader>;
        try {
          reader = openHistoryReader(stateDir);
        } catch (err) {
          throw new ExitError(
            EXIT.unavailable,
            err instanceof FerryError ? `${err.message}${err.hint ? ` — ${err.hint}` : ''}` : String(err),
          );
        }
        try {
          const filters = historyFilters(cfg, opts, (id) => reader?.hasDestination(id) ?? false);
          if (!reader)
            io.stderr.write(`ferry: no history yet: Ferry has not run with the state directory ${stateDir}\n`);
          const { total, items } = reader?.all(filters) ?? { total: 0, items: [] };
          const text = opts.json ? historyJson(items) : opts.csv ? historyCsv(items) : historyText(items, total);
          await page(io.stdout, text, { enabled: opts.pager });
        } finally {
          reader?.close();
        }
      },
    );

  program
    .command('status')
    .description('how a running daemon is doing')
    .option('-c, --config <file>', 'the configuration file (to find its state directory)')
    .option('--state-dir <dir>', 'the state directory the daemon runs with')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { config?: string; stateDir?: string; json?: boolean }) => {
      setExit(await daemonStatus(daemonStateDir(opts), opts.json ?? false, io.stdout, io.stderr));
    });

  program
    .command('confirm-deletes')
    .description('let the deletions a running daemon holds for a rule (the deletion brake) go ahead')
    .argument('<rule>', 'the rule whose held deletions to confirm (ferry status lists them)')
    .option('-c, --config <file>', 'the configuration file (to find its state directory)')
    .option('--state-dir <dir>', 'the state directory the daemon runs with')
    .action(async (rule: string, opts: { config?: string; stateDir?: string }) => {
      setExit(await confirmDaemonDeletes(daemonStateDir(opts), rule, io.stdout, io.stderr));
    });

  program
    .command('stop')
    .description('stop a running daemon gracefully and wait until it has stopped')
    .requiredOption('--pidfile <file>', 'the pidfile the daemon was started with')
    .action(async (opts: { pidfile: string }) => {
      setExit(await stopDaemon(opts.pidfile, io.stderr));
    });

  addVersionCommands(program, io, setExit, {
    common,
    readConfig,
    withEngine: (cfg, opts, run) => withEngine(cfg, opts, (deps) => run(deps)),
    fail: (code, message) => new ExitError(code, message),
    exit: EXIT,
  });

  return program;
}

/** The state directory of the daemon a command talks to: --state-dir, else the config's, else the default. */
function daemonStateDir(opts: { config?: string; stateDir?: string }): string {
  return opts.stateDir ?? (opts.config ? readConfig(opts.config).settings.state_dir : undefined) ?? defaultStateDir();
}

/** Runs the CLI and resolves to its exit code; never calls process.exit itself. */
export async function main(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof ExitError) {
      io.stderr.write(`ferry: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof FerryError) {
      io.stderr.write(`ferry: ${err.message}${err.hint ? ` — ${err.hint}` : ''}\n`);
      return EXIT.incomplete;
    }
    io.stderr.write(`ferry: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.incomplete;
  }
}
