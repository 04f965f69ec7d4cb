import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { configSchema } from '../../src/shared/config';
import type { Encoding, LocalFile } from '../../src/shared/models';
import { brakeKey, type DestinationState } from '../../src/main/engine/plan/planner';
import type { FullDestination, RemoteEntry } from '../../src/main/engine/providers/types';
import { openDb } from '../../src/main/engine/store/db';
import { Store } from '../../src/main/engine/store/store';
import { adoptInterruptedWrites } from '../../src/main/engine/transfer/adoptInterrupted';
import { planAll, type ScannedFolder } from '../../src/main/engine/sync/runSteps';
import type { BaseEntry } from '../../src/main/engine/store/baseStore';
import type { ShippedRecord } from '../../src/main/engine/store/shippedStore';

/**
 * Golden planner scenarios: each folder below holds `input.yaml` (the config, the local tree, each
 * destination's listing and records, the two-way base) and `expected.yaml` (the plan the real planner
 * makes of it). The format is described in README.md here. `UPDATE_SCENARIOS=1` rewrites every
 * `expected.yaml` from what the planner says now: review the diff before committing it.
 */
const HERE = import.meta.dirname;
const UPDATE = process.env.UPDATE_SCENARIOS === '1';

type Content = { content?: string; size?: number; sha256?: string };
type FileIn = Content & { mtime?: string; ino?: number };
type ListedIn = Content & { version?: string; hashed?: boolean; mtime?: string };
type RecordIn = Content & {
  rule: string;
  folder: string;
  path?: string;
  encoding?: Encoding;
  version?: string | null;
};
type BaseIn = Content & { version?: string | null };
type ScenarioInput = {
  description: string;
  config: unknown;
  now?: string;
  host?: string;
  /** `--confirm-deletes`: true for every rule, or the names of the rules confirmed. */
  confirmDeletes?: boolean | string[];
  folders?: Record<string, { complete?: boolean; unreadable?: string[]; files?: Record<string, FileIn> }>;
  destinations?: Record<
    string,
    {
      /** null: the destination could not be listed (the records are trusted). */
      listing?: Record<string, ListedIn> | null;
      shipped?: Record<string, RecordIn>;
      /**
       * Writes a killed run left unfinished in the queue (remote path → the job): before planning, what
       * the listing shows at their paths is compared with their content and adopted when it is theirs.
       */
      unfinished?: Record<string, RecordIn & { kind?: 'upload' | 'move-remote' | 'copy-remote'; from?: string }>;
      caseInsensitive?: boolean;
      fileAndFolderCoexist?: boolean;
      emptyFoldersStay?: boolean;
      canMove?: boolean;
      canCopy?: boolean;
    }
  >;
  base?: Record<string, Record<string, BaseIn>>;
  /** The deletion brake's baselines: rule name → destination → real files at the last confirmed state. */
  brakeBaselines?: Record<string, Record<string, number>>;
};

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const DEFAULT_NOW = '2026-12-07T12:00:00Z';

/** Size and SHA-256 of an entry given by its content, or as written. */
function measure(c: Content, what: string, aliases: Map<string, string>): { size: number; sha256: string } {
  if (c.content !== undefined) {
    const hash = sha256(c.content);
    aliases.set(hash, `sha256(${c.content})`);
    return { size: c.size ?? Buffer.byteLength(c.content), sha256: hash };
  }
  if (c.size === undefined || c.sha256 === undefined) throw new Error(`${what}: give content, or size and sha256`);
  return { size: c.size, sha256: c.sha256 };
}

async function load(dir: string) {
  const input = parse(readFileSync(join(dir, 'input.yaml'), 'utf8')) as ScenarioInput;
  const aliases = new Map<string, string>();
  const cfg = configSchema.parse(input.config);
  const now = Date.parse(input.now ?? DEFAULT_NOW);
  const scans = new Map<string, ScannedFolder>();
  for (const f of cfg.folders) {
    const given = input.folders?.[f.id] ?? {};
    const files = new Map<string, LocalFile>();
    let ino = 1n;
    for (const [path, fi] of Object.entries(given.files ?? {})) {
      const { size, sha256: hash } = measure(fi, `folders.${f.id}.files.${path}`, aliases);
      const mtimeNs = BigInt(Date.parse(fi.mtime ?? input.now ?? DEFAULT_NOW)) * 1_000_000n;
      files.set(path, {
        folder: f.id,
        path,
        size,
        mtimeNs,
        ino: fi.ino !== undefined ? BigInt(fi.ino) : ino++,
        hashes: { sha256: hash },
      });
    }
    scans.set(f.id, { files, unreadable: new Set(given.unreadable ?? []), complete: given.complete ?? true });
  }
  const states = new Map<string, DestinationState>();
  for (const d of cfg.destinations) {
    const given = input.destinations?.[d.id] ?? {};
    let remote: Map<string, RemoteEntry> | undefined;
    if (given.listing !== null) {
      remote = new Map();
      for (const [path, e] of Object.entries(given.listing ?? {})) {
        const { size, sha256: hash } = measure(e, `destinations.${d.id}.listing.${path}`, aliases);
        remote.set(path, {
          path,
          size,
          ...(e.version !== undefined ? { version: e.version } : {}),
          ...(e.hashed ? { hashes: { sha256: hash } } : {}),
          ...(e.mtime !== undefined ? { mtimeMs: Date.parse(e.mtime) } : {}),
        });
      }
    }
    let shipped: ShippedRecord[] = Object.entries(given.shipped ?? {}).map(([remotePath, r]) => {
      const { size, sha256: hash } = measure(r, `destinations.${d.id}.shipped.${remotePath}`, aliases);
      return {
        destination: d.id,
        remotePath,
        rule: r.rule,
        folder: r.folder,
        path: r.path ?? remotePath,
        size,
        sha256: hash,
        encoding: r.encoding ?? 'identity',
        remoteVersion: r.version ?? null,
        shippedAt: 0,
      };
    });
    if (given.unfinished && remote)
      shipped = await adopted(d.id, shipped, remote, given.listing ?? {}, given.unfinished, aliases);
    states.set(d.id, {
      shipped,
      remote,
      canMove: given.canMove ?? true,
      canCopy: given.canCopy ?? true,
      ...(given.caseInsensitive !== undefined ? { caseInsensitive: given.caseInsensitive } : {}),
      ...(given.fileAndFolderCoexist !== undefined ? { fileAndFolderCoexist: given.fileAndFolderCoexist } : {}),
      ...(given.emptyFoldersStay !== undefined ? { emptyFoldersStay: given.emptyFoldersStay } : {}),
    });
  }
  const base = new Map<string, Map<string, BaseEntry>>();
  for (const [rule, entries] of Object.entries(input.base ?? {}))
    base.set(
      rule,
      new Map(
        Object.entries(entries).map(([path, b]) => {
          const m = measure(b, `base.${rule}.${path}`, aliases);
          return [path, { path, ...m, remoteVersion: b.version ?? null }];
        }),
      ),
    );
  const brakeBaselines = new Map<string, number>();
  for (const [rule, perDest] of Object.entries(input.brakeBaselines ?? {}))
    for (const [dest, files] of Object.entries(perDest)) brakeBaselines.set(brakeKey(rule, dest), files);
  const consent = Array.isArray(input.confirmDeletes) ? new Set(input.confirmDeletes) : (input.confirmDeletes ?? false);
  return { input, cfg, scans, states, base, consent, now, aliases, brakeBaselines };
}

/**
 * The records once the engine's crash recovery (transfer/adoptInterrupted.ts) has looked at the
 * unfinished writes: run on an in-memory state database, against a destination that serves the
 * listing's contents when a file must be read back.
 */
async function adopted(
  destination: string,
  shipped: readonly ShippedRecord[],
  listed: ReadonlyMap<string, RemoteEntry>,
  contents: Record<string, ListedIn>,
  unfinished: NonNullable<NonNullable<ScenarioInput['destinations']>[string]['unfinished']>,
  aliases: Map<string, string>,
): Promise<ShippedRecord[]> {
  const store = new Store(openDb(':memory:'), mkdtempSync(join(tmpdir(), 'ferry-scenario-')));
  try {
    for (const r of shipped) store.shipped.put(r);
    for (const [remotePath, j] of Object.entries(unfinished)) {
      const m = measure(j, `unfinished.${remotePath}`, aliases);
      store.jobs.add({
        kind: j.kind ?? 'upload',
        rule: j.rule,
        destination,
        folder: j.folder,
        path: j.path ?? remotePath,
        remotePath,
        ...(j.from !== undefined ? { fromRemotePath: j.from } : {}),
        size: m.size,
        sha256: m.sha256,
        reason: 'unfinished when the run was killed',
      });
    }
    const dest = {
      id: destination,
      download: async (path: string, to: string) => {
        writeFileSync(to, contents[path]?.content ?? '');
        return listed.get(path) as RemoteEntry;
      },
    } as unknown as FullDestination;
    await adoptInterruptedWrites(store, dest, listed);
    return store.shipped.forDestination(destination).map((r) => ({ ...r, shippedAt: 0 }));
  } finally {
    rmSync(store.stagingDir, { recursive: true, force: true });
    store.close();
  }
}

/** Hashes of contents the input names are written as `sha256(<content>)`, so that expectations stay readable. */
function readable<T>(value: T, aliases: ReadonlyMap<string, string>): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'bigint' ? String(v) : typeof v === 'string' ? (aliases.get(v) ?? v) : v,
    ),
  ) as T;
}

async function run(dir: string) {
  const { cfg, scans, states, base, consent, now, aliases, input, brakeBaselines } = await load(dir);
  const p = planAll(cfg, scans, states, consent, undefined, (r) => base.get(r) ?? new Map(), {
    now,
    host: input.host ?? 'laptop',
    brakeBaselines,
  });
  return readable(
    {
      actions: p.actions,
      problems: p.problems,
      inSync: p.inSync,
      uncaught: p.uncaught,
      belowQuorum: p.belowQuorum,
      brakeBaselines: p.brakeBaselines,
      ...(p.twoWay ? { baseUpdates: p.twoWay.baseUpdates } : {}),
    },
    aliases,
  );
}

const cases = readdirSync(HERE, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(HERE, d.name, 'input.yaml')))
  .map((d) => d.name)
  .sort();

describe('golden planner scenarios (test/scenarios/<case>/input.yaml → expected.yaml)', () => {
  // Conflicted copies carry the local date: fixed here so that expectations do not depend on the machine.
  process.env.TZ = 'UTC';

  it('finds the scenarios', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s', async (name) => {
    const dir = join(HERE, name);
    const got = await run(dir);
    const file = join(dir, 'expected.yaml');
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE)
        throw new Error(`${name}: no expected.yaml (run with UPDATE_SCENARIOS=1 to write it, then review it)`);
      writeFileSync(file, stringify(got, { lineWidth: 0 }));
      return;
    }
    expect(got).toEqual(parse(readFileSync(file, 'utf8')));
  });
});
