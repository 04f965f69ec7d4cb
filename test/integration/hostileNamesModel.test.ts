import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { RUN_AS_NOBODY, syncJson } from '../helpers/cli';
import { prng } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

/**
 * A model-based random test of one-way sync over hostile names: a seeded generator makes, edits,
 * renames, moves in and deletes files named with backslashes, control characters, bytes that are not
 * UTF-8, 255-byte names, case-only and NFC/NFD twins, dotfiles; after each pass the destination must be
 * what the model says (mirror: the source; move: every version that was shipped), hold no temporary
 * file, and the next pass must do nothing. FERRY_SEED=n runs one seed (the seed is in every message);
 * FERRY_SEEDS=k runs k seeds from 1 for a longer soak.
 */
const SEEDS = process.env.FERRY_SEED
  ? [Number(process.env.FERRY_SEED)]
  : Array.from({ length: Number(process.env.FERRY_SEEDS ?? 2) }, (_, i) => i + 1);
const ROUNDS = 4;
const OPS = 10;

type Path = Buffer[];
const keyOf = (p: Path): string => p.map((b) => b.toString('hex')).join('/');
const SLASH = Buffer.from('/');
const absOf = (root: string, p: Path): Buffer => Buffer.concat([Buffer.from(root), ...p.flatMap((b) => [SLASH, b])]);

/** Exactly `bytes` long: a tag, then two-byte characters (so a limit counted in characters would be wrong). */
function longName(tag: string, bytes = 255): Buffer {
  let s = tag;
  while (Buffer.byteLength(s) + 2 <= bytes) s += '\u00e9';
  while (Buffer.byteLength(s) < bytes) s += 'e';
  return Buffer.from(s);
}

/** Names chosen from a small pool, so that twins (case, NFC/NFD, backslash/slash) meet often. */
function nameFor(rand: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const n = Math.floor(rand() * 3);
  return pick<() => Buffer>([
    () => Buffer.from(`plain${n}.txt`),
    () => Buffer.from(`back\\slash${n}.txt`),
    () => Buffer.from(`back`),
    () => Buffer.from(`ctl\u0001\u007f${n}`),
    () => Buffer.from(`tab\tand\nnewline${n}`),
    () => Buffer.from(`caf\xe9${n}.txt`, 'latin1'),
    () => Buffer.from([0x6c, 0xff, 0xfe, 0x30 + n]),
    () => Buffer.from([0xe2, 0x82, 0x30 + n]),
    () => longName(`L${n}`),
    () => Buffer.from(`Twin${n}.TXT`),
    () => Buffer.from(`twin${n}.txt`),
    () => Buffer.from(`caf\u00e9${n}`.normalize('NFC')),
    () => Buffer.from(`caf\u00e9${n}`.normalize('NFD')),
    () => Buffer.from(`.dot${n}`),
    () => Buffer.from(`trailing space${n} `),
    () => Buffer.from(`trailing dot${n}.`),
    () => Buffer.from(`-dash ${n}`),
  ])();
}

/** Every file below `root` as key → content, names as bytes; a destination's kept versions left out. */
function rawTree(root: Buffer, prefix: Path = []): Map<string, string> {
  const out = new Map<string, string>();
  const dir = Buffer.concat([root, ...prefix.flatMap((b) => [SLASH, b])]);
  for (const name of readdirSync(dir, { encoding: 'buffer' })) {
    if (prefix.length === 0 && name.toString() === '.ferry-versions') continue;
    const p = [...prefix, name];
    const abs = Buffer.concat([dir, SLASH, name]);
    if (lstatSync(abs).isDirectory()) for (const [k, v] of rawTree(root, p)) out.set(k, v);
    else out.set(keyOf(p), readFileSync(abs, 'utf8'));
  }
  return out;
}

/** Makes a path's folders (open to the test user, who runs Ferry). */
function makeParents(root: string, p: Path): void {
  for (let i = 1; i < p.length; i++) {
    const dir = absOf(root, p.slice(0, i));
    mkdirSync(dir, { recursive: true });
    if (RUN_AS_NOBODY) chmodSync(dir, 0o777);
  }
}

/** The source tree as the model knows it, and the random steps that change both. */
class Model {
  readonly files = new Map<string, { path: Path; content: string }>();
  private counter = 0;

  constructor(
    private readonly root: string,
    private readonly staging: string,
    private readonly rand: () => number,
    private readonly seed: number,
    /** Paths the destination holds that the source no longer has (move): a folder there blocks a file. */
    private readonly kept: ReadonlyMap<string, string> = new Map(),
  ) {}

  private pickFile(): { path: Path; content: string } | undefined {
    const all = [...this.files.values()];
    return all.length === 0 ? undefined : all[Math.floor(this.rand() * all.length)];
  }

  /** A new path: under an existing folder of the model (or a new one) with a pool name. */
  private newPath(): Path {
    const dirs = [...this.files.values()].map((f) => f.path.slice(0, -1)).filter((d) => d.length > 0);
    const r = this.rand();
    const dir =
      r < 0.4 || dirs.length === 0
        ? []
        : r < 0.8
          ? (dirs[Math.floor(this.rand() * dirs.length)] as Path)
          : [nameFor(this.rand)];
    return [...dir, nameFor(this.rand)];
  }

  /** Whether a file may be at `p`: no file there, none where a folder of it would be, no folder there. */
  private free(p: Path): boolean {
    const key = keyOf(p);
    if (this.files.has(key)) return false;
    for (let i = 1; i < p.length; i++) if (this.files.has(keyOf(p.slice(0, i)))) return false;
    for (const k of this.files.keys()) if (k.startsWith(`${key}/`)) return false;
    for (let i = 1; i < p.length; i++) if (this.kept.has(keyOf(p.slice(0, i)))) return false;
    for (const k of this.kept.keys()) if (k.startsWith(`${key}/`)) return false;
    // A folder emptied by deletions is still there on disk.
    try {
      if (lstatSync(absOf(this.root, p)).isDirectory()) return false;
    } catch {
      // nothing there
    }
    return true;
  }

  step(): string {
    const content = `seed ${this.seed} v${this.counter++}`;
    const r = this.rand();
    const f = this.pickFile();
    if (r < 0.45 || !f) {
      const p = this.newPath();
      if (!this.free(p)) return 'create (skipped)';
      makeParents(this.root, p);
      writeFileSync(absOf(this.root, p), content);
      this.files.set(keyOf(p), { path: p, content });
      return `create ${keyOf(p)}`;
    }
    if (r < 0.6) {
      writeFileSync(absOf(this.root, f.path), content);
      this.files.set(keyOf(f.path), { path: f.path, content });
      return `edit ${keyOf(f.path)}`;
    }
    if (r < 0.75) {
      unlinkSync(absOf(this.root, f.path));
      this.files.delete(keyOf(f.path));
      return `delete ${keyOf(f.path)}`;
    }
    const to = this.newPath();
    if (!this.free(to)) return 'rename (skipped)';
    makeParents(this.root, to);
    if (r < 0.9) {
      renameSync(absOf(this.root, f.path), absOf(this.root, to));
      this.files.delete(keyOf(f.path));
      this.files.set(keyOf(to), { path: to, content: f.content });
      return `rename ${keyOf(f.path)} -> ${keyOf(to)}`;
    }
    // Moved in from outside the folder: a file the watcher and scan have never seen.
    const outside = absOf(this.staging, [Buffer.from(`in${this.counter}`)]);
    writeFileSync(outside, content);
    renameSync(outside, absOf(this.root, to));
    this.files.set(keyOf(to), { path: to, content });
    return `move in ${keyOf(to)}`;
  }

  snapshot(): Map<string, string> {
    return new Map([...this.files].map(([k, f]) => [k, f.content]));
  }
}

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

describe.each(SEEDS)('hostile names, seeded random run (seed %i)', (seed) => {
  for (const mode of ['mirror', 'move'] as const)
    it(`${mode} to a local folder: the destination is what the model says after every pass, and the next does nothing`, async () => {
      ws = workspace({ rules: [{ mode }], settings: '  max_delete_share: 1' });
      const w = ws;
      const staging = `${w.root}/staging`;
      mkdirSync(staging);
      const rand = prng(seed * 7919 + (mode === 'move' ? 1 : 0));
      const shipped = new Map<string, string>();
      const model = new Model(w.src, staging, rand, seed, shipped);
      const log: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < OPS; i++) log.push(model.step());
        const at = `seed ${seed}, ${mode}, round ${round} (FERRY_SEED=${seed} reproduces it)\n${log.join('\n')}`;
        const r = await syncJson(w.config, w.state);
        expect(r.code, `${at}\n${r.stdout}${r.stderr}`).toBe(0);
        const dest = rawTree(Buffer.from(w.dest));
        if (mode === 'mirror') expect(dest, at).toEqual(model.snapshot());
        else {
          // Every version shipped stays (move keeps what it delivered); the source is empty.
          for (const [k, v] of model.snapshot()) shipped.set(k, v);
          model.files.clear();
          expect(dest, at).toEqual(shipped);
          expect(rawTree(Buffer.from(w.src)), at).toEqual(new Map());
        }
        const again = await syncJson(w.config, w.state);
        expect(again.code, `${at}\n${again.stdout}${again.stderr}`).toBe(0);
        expect(again.summary?.stats, at).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
        log.push(`-- pass ${round}`);
      }
    });
});
