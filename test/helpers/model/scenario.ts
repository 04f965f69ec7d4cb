import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnFerry, syncJson } from '../cli';
import { writeConfig } from '../tree';
import { Ledger, prng, randomChange, readTree, type Mode } from './ops';
import type { Target } from './targets';

/**
 * One model-based run: a seed draws a sequence of changes to the folder (two folders for two-way),
 * full syncs and syncs killed at a random instant (SIGKILL), against one destination kind and one
 * mode; then syncs run until one changes nothing, and the destination is compared with what the
 * mode promises. Everything is reproducible from (seed, mode, target, steps).
 */
export type ScenarioSpec = { seed: number; mode: Mode; target: Target; steps: number };

export type ScenarioResult = {
  log: string[];
  kills: number;
  syncs: number;
  /** Names that were a file on one side and a folder on the other, or changed kind on one side. */
  clashes: number;
  violations: string[];
};

type Side = { name: 'a' | 'b'; folder: string; state: string; config: string };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TEMP = /\.ferrytmp-/;

/** Paths that are a file in one folder and a folder in the other. */
function fileFolderClashes(a: string, b: string): string[] {
  const files = [a, b].map((d) => new Set(readTree(d).keys()));
  const dirs = files.map(
    (f) =>
      new Set(
        [...f].flatMap((p) =>
          p
            .split('/')
            .slice(0, -1)
            .map((_, i, s) => s.slice(0, i + 1).join('/')),
        ),
      ),
  );
  const [fa, fb] = files as [Set<string>, Set<string>];
  const [da, db] = dirs as [Set<string>, Set<string>];
  return [...[...fa].filter((p) => db.has(p)), ...[...fb].filter((p) => da.has(p))];
}

function shaTree(dir: string): Map<string, string> {
  return new Map([...readTree(dir)].map(([p, b]) => [p, sha(b)]));
}

/** Where two trees differ, one line per path (at most 20). */
function diff(want: Map<string, string>, got: Map<string, string>, wantName: string, gotName: string): string[] {
  const out: string[] = [];
  for (const [p, h] of want)
    if (!got.has(p)) out.push(`${p}: in ${wantName}, missing in ${gotName}`);
    else if (got.get(p) !== h) out.push(`${p}: differs between ${wantName} and ${gotName}`);
  for (const p of got.keys()) if (!want.has(p)) out.push(`${p}: in ${gotName}, not in ${wantName}`);
  return out.slice(0, 20);
}

export async function runScenario(spec: ScenarioSpec): Promise<ScenarioResult> {
  const { seed, mode, target } = spec;
  const rand = prng(seed);
  const root = mkdtempSync(join(tmpdir(), `ferry-model-${seed}-`));
  const place = target.place(`m${seed}-${mode}`);
  const ledger = new Ledger();
  const ctx = {
    rand,
    seed,
    ledger,
    freshNames: mode === 'move',
    kindChanges: true,
    counter: { n: 0 },
  };
  const log: string[] = [];
  let kills = 0;
  let syncs = 0;
  const clashes = new Set<string>();
  let kindChanges = 0;

  const side = (name: 'a' | 'b'): Side => {
    const folder = join(root, name);
    mkdirSync(folder);
    const config = writeConfig(
      join(root, `${name}.yml`),
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(folder)} }`,
        'destinations:',
        place.yaml,
        'rules:',
        `  - { name: model, from: [work], to: [dest], mode: ${mode} }`,
        '',
      ].join('\n'),
    );
    return { name, folder, state: join(root, `${name}-state`), config };
  };
  const sides = mode === 'two-way' ? [side('a'), side('b')] : [side('a')];
  const pickSide = () => sides[Math.floor(rand() * sides.length)] as Side;

  const sync = async (s: Side) => {
    syncs++;
    const r = await syncJson(s.config, s.state, { env: place.env, extra: ['--confirm-deletes'] });
    const stats = r.summary?.stats;
    log.push(`sync ${s.name}: exit ${r.code}, done ${stats?.done}, failed ${stats?.failed}`);
    if (r.code !== 0) throw new Error(`sync ${s.name} exited ${r.code}:\n${r.stderr}\n${r.stdout.slice(0, 4000)}`);
    return stats?.done ?? 0;
  };

  try {
    for (let i = 0; i < spec.steps; i++) {
      const r = rand();
      const s = pickSide();
      if (r < 0.6) {
        const other = sides.find((o) => o !== s);
        const change = randomChange(s.folder, other ? { ...ctx, other: other.folder } : ctx);
        log.push(`${s.name}: ${change}`);
        if (change.startsWith('replace ')) kindChanges++;
        if (sides.length === 2)
          for (const p of fileFolderClashes((sides[0] as Side).folder, (sides[1] as Side).folder))
            if (!clashes.has(p)) {
              clashes.add(p);
              log.push(`   (${p}: a file on one side, a folder on the other)`);
            }
      } else if (r < 0.8) await sync(s);
      else {
        const child = spawnFerry(
          ['sync', '--once', '--json', '--confirm-deletes', '--config', s.config, '--state-dir', s.state],
          { env: place.env },
        );
        const closed = new Promise((res) => child.once('close', res));
        const after = 50 + Math.floor(rand() * 1500);
        await new Promise((res) => setTimeout(res, after));
        child.kill('SIGKILL');
        await closed;
        kills++;
        log.push(`sync ${s.name}: killed after ${after} ms`);
      }
    }
    // Until a round of syncs changes nothing (that round is the "next pass does nothing" check).
    let quiet = false;
    for (let round = 0; round < 5 && !quiet; round++) {
      let done = 0;
      for (const s of sides) done += await sync(s);
      quiet = done === 0;
    }

    const violations: string[] = [];
    if (!quiet) violations.push('five rounds of syncs after the last change still changed something');
    const dest = new Map(
      [...(await place.snapshot())].filter(
        ([p]) => !p.startsWith('.ferry-trash/') && !p.startsWith('.ferry-versions/'),
      ),
    );
    const a = shaTree((sides[0] as Side).folder);
    for (const p of dest.keys()) if (TEMP.test(p)) violations.push(`temporary file left at the destination: ${p}`);
    for (const s of sides)
      for (const p of readTree(s.folder, []).keys())
        if (TEMP.test(p)) violations.push(`temporary file left in folder ${s.name}: ${p}`);
    const present = new Set([...dest.values()]);
    switch (mode) {
      case 'mirror':
        violations.push(...diff(a, dest, 'the folder', 'the destination'));
        break;
      case 'backup':
        for (const [p, h] of a)
          if (dest.get(p) !== h) violations.push(`${p}: the destination does not hold the folder's content`);
        break;
      case 'move':
        for (const p of a.keys()) violations.push(`${p}: still in the folder after a move rule converged`);
        break;
      case 'two-way': {
        const b = shaTree((sides[1] as Side).folder);
        violations.push(...diff(a, b, 'folder a', 'folder b'));
        violations.push(...diff(a, dest, 'folder a', 'the destination'));
        for (const h of a.values()) present.add(h);
        break;
      }
    }
    // Nothing written and not removed on purpose may be missing (the empty content is everywhere or nowhere).
    const lost = [...ledger.live].filter((hex) => hex !== '' && !present.has(sha(Buffer.from(hex, 'hex'))));
    for (const hex of lost.slice(0, 10))
      violations.push(`content lost: ${Buffer.from(hex, 'hex').subarray(0, 16).toString('latin1')}…`);
    return { log, kills, syncs, clashes: clashes.size + kindChanges, violations };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { log, kills, syncs, clashes: clashes.size + kindChanges, violations: [`run stopped: ${message}`] };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A failure message that says how to run the same case again. */
export function replayHint(spec: ScenarioSpec): string {
  return `npm run soak -- --target ${spec.target.name} --mode ${spec.mode} --seed ${spec.seed} --steps ${spec.steps}`;
}
