import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import type { FerryConfig, FolderConfig } from '../../shared/config';
import { FerryError } from '../../shared/errors';
import { createDestination } from '../engine/providers/registry';
import type { Destination } from '../engine/providers/types';
import { providerDeps, type EngineDeps } from '../engine/sync/runSteps';
import { catalog } from '../engine/versions/catalog';
import { processClock } from '../engine/versions/clock';
import { restore } from '../engine/versions/restore';
import { parseMoment } from '../engine/versions/timeSpec';
import { reconcileVersions, versionDestinations } from '../engine/versions/versionsApi';

type Io = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };
type Common = { config: string; stateDir?: string; json?: boolean; rule?: string };

/** What the command table lends these commands (index.ts). */
export type CliKit = {
  common: (cmd: Command) => Command;
  readConfig: (file: string) => FerryConfig;
  withEngine: <T>(cfg: FerryConfig, opts: Common, run: (deps: EngineDeps) => Promise<T>) => Promise<T>;
  fail: (exitCode: number, message: string) => Error;
  exit: { ok: number; incomplete: number; usage: number };
};

/** A path as typed (absolute, or relative to where ferry runs) to the folder holding it and the path inside. */
function locate(cfg: FerryConfig, typed: string, kit: CliKit): { folder: FolderConfig; path: string } {
  const abs = resolve(typed);
  for (const f of cfg.folders) {
    const rel = relative(resolve(f.path), abs);
    if (rel === '') return { folder: f, path: '' };
    if (!rel.startsWith('..') && !isAbsolute(rel)) return { folder: f, path: rel.split(sep).join('/') };
  }
  throw kit.fail(
    kit.exit.usage,
    `${typed}: not inside a synced folder (folders: ${cfg.folders.map((f) => `${f.id} at ${f.path}`).join(', ') || 'none'}); give a path inside one of them`,
  );
}

/** The destinations whose versions a command looks at: --rule's, else those of every rule reading the folder. */
function destinationIds(cfg: FerryConfig, folders: readonly string[], rule: string | undefined, kit: CliKit): string[] {
  try {
    return versionDestinations(cfg, folders, rule);
  } catch (err) {
    throw kit.fail(kit.exit.usage, (err as Error).message);
  }
}

async function connect(
  cfg: FerryConfig,
  deps: EngineDeps,
  ids: readonly string[],
  kit: CliKit,
): Promise<Destination[]> {
  const out: Destination[] = [];
  try {
    for (const id of ids) {
      const dc = cfg.destinations.find((d) => d.id === id);
      if (!dc) continue;
      const d = await createDestination(dc, deps.factories, providerDeps(deps));
      out.push(d);
      await d.check(undefined, { write: false });
    }
  } catch (err) {
    await Promise.all(out.map((d) => d.close().catch(() => undefined)));
    const e = err instanceof FerryError ? err : undefined;
    throw kit.fail(
      kit.exit.incomplete,
      `destination "${out[out.length - 1]?.id ?? ids[0]}" cannot be reached: ${e?.message ?? String(err)}${e?.hint ? ` — ${e.hint}` : ''}; nothing was restored or changed`,
    );
  }
  return out;
}

const when = (ms: number) => new Date(ms).toISOString();
const short = (sha: string | null) => (sha === null ? 'sha256 unknown' : `sha256 ${sha.slice(0, 16)}`);

export function addVersionCommands(program: Command, io: Io, setExit: (code: number) => void, kit: CliKit): void {
  kit
    .common(
      program
        .command('versions')
        .description('every kept version of a file, or of every file below a folder, with time, size and hash')
        .argument('<path>', 'a file or folder inside a synced folder')
        .option('--rule <name>', "only this rule's destinations"),
    )
    .action(async (typed: string, opts: Common) => {
      const cfg = kit.readConfig(opts.config);
      const t = locate(cfg, typed, kit);
      const ids = destinationIds(cfg, [t.folder.id], opts.rule, kit);
      await kit.withEngine(cfg, opts, async (deps) => {
        // Settle what a crash left pending where the destination answers; listing goes on without it.
        const dests = await connect(cfg, deps, ids, kit).catch(() => [] as Destination[]);
        try {
          for (const d of dests) await reconcileVersions(cfg, deps.store, d).catch(() => undefined);
        } finally {
          await Promise.all(dests.map((d) => d.close()));
        }
        const files = catalog(deps.store, t.folder.id, t.path, ids);
        if (files.length === 0)
          throw kit.fail(
            kit.exit.incomplete,
            `${typed}: Ferry never shipped it to ${ids.map((i) => `"${i}"`).join(', ') || 'any destination'}, so it has no versions`,
          );
        if (opts.json) {
          const json = files.map((f) => ({
            folder: f.folder,
            path: f.path,
            destination: f.destination,
            remotePath: f.remotePath,
            current: f.current
              ? { shippedAt: when(f.current.shippedAt), size: f.current.size, sha256: f.current.sha256 }
              : null,
            versions: f.versions.map((v) => ({
              keptAt: when(v.keptAt),
              since: v.since === null ? null : when(v.since),
              size: v.size,
              sha256: v.sha256,
              cause: v.cause,
              location: v.location,
            })),
          }));
          io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        } else
          for (const f of files) {
            io.stdout.write(`${f.path} at ${f.destination}\n`);
            if (f.current)
              io.stdout.write(
                `  now      since ${when(f.current.shippedAt)}  ${f.current.size} B  ${short(f.current.sha256)}\n`,
              );
            for (const v of f.versions)
              io.stdout.write(
                `  ${v.cause.padEnd(8)} ${when(v.keptAt)}  ${v.size} B  ${short(v.sha256)}  (${v.location})\n`,
              );
          }
        setExit(kit.exit.ok);
      });
    });

  kit
    .common(
      program
        .command('restore')
        .description('bring files or folders back as they were at a moment, verified by checksum, written atomically')
        .argument('<paths...>', 'files or folders inside a synced folder')
        .requiredOption('--at <time>', 'the moment: ISO 8601 (2026-12-07T18:15:00Z) or "2 hours ago"')
        .option('--to <dir>', 'write below this folder instead of into the synced folder (the current files stay)')
        .option('--rule <name>', "only this rule's destinations"),
    )
    .action(async (paths: string[], opts: Common & { at: string; to?: string }) => {
      const cfg = kit.readConfig(opts.config);
      const clock = processClock();
      const at = parseMoment(opts.at, clock());
      if (at === undefined)
        throw kit.fail(
          kit.exit.usage,
          `--at "${opts.at}": not a time; give ISO 8601 (2026-12-07T18:15:00Z) or "2 hours ago"`,
        );
      const targets = paths.map((p) => locate(cfg, p, kit));
      const ids = destinationIds(cfg, [...new Set(targets.map((t) => t.folder.id))], opts.rule, kit);
      await kit.withEngine(cfg, opts, async (deps) => {
        const dests = await connect(cfg, deps, ids, kit);
        const controller = new AbortController();
        try {
          for (const d of dests) await reconcileVersions(cfg, deps.store, d);
          const done = await restore({
            store: deps.store,
            destinations: dests,
            targets,
            at,
            ...(opts.to !== undefined ? { to: resolve(opts.to) } : {}),
            clock,
            signal: controller.signal,
          });
          if (opts.json) io.stdout.write(`${JSON.stringify({ at: when(at), restored: done }, null, 2)}\n`);
          else
            for (const r of done)
              io.stdout.write(
                r.unchanged
                  ? `= ${r.path}: already as it was at ${when(at)}\n`
                  : `✓ ${r.path} → ${r.file} (${r.size} B, ${short(r.sha256)}, verified, from ${r.from} at ${r.destination})${r.keptCurrent ? `; the file it replaced is kept as ${r.keptCurrent}` : ''}\n`,
              );
          setExit(kit.exit.ok);
        } catch (err) {
          if (err instanceof FerryError)
            throw kit.fail(kit.exit.incomplete, `${err.message}${err.hint ? ` — ${err.hint}` : ''}`);
          throw err;
        } finally {
          await Promise.all(dests.map((d) => d.close()));
        }
      });
    });
}
