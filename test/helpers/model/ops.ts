import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { prng } from '../tree';

/**
 * What a person does to a folder between (and during) syncs, drawn from a seed: create, edit (same
 * size or not), touch, rename a file or a folder, move a tree in from outside, `mkdir -p` and write
 * later, delete a file or a folder, replace a file by a folder of the same name or the reverse. Applied to the real file system; the generator looks at what is
 * there, so a run is reproducible from its seed alone.
 */

/**
 * Name segments every destination here can hold: spaces, non-ASCII (NFC), URL-special characters,
 * dotfiles, a leading dash, a long name. Distinct once lower-cased (no case-only twins: Dropbox and
 * case-insensitive stores refuse them as separate files; that case has its own tests).
 */
export const PORTABLE_SEGMENTS: readonly string[] = [
  'a',
  'Docs',
  'notes 2026',
  'été'.normalize('NFC'),
  '#hash',
  '100%',
  'a&b',
  'c+d',
  "it's",
  'x (1)',
  '.hidden',
  '-dash',
  'emoji😀',
  '日本語',
  'semi;colon',
  'eq=1',
  'tilde~',
  `long-${'x'.repeat(120)}`,
];

export type Mode = 'backup' | 'mirror' | 'move' | 'two-way';

/** The model's ledger: every content written and not yet removed on purpose (overwritten or deleted by the person). */
export class Ledger {
  readonly live = new Set<string>();
  written = 0;

  /** A new content: unique (seed + counter) so where it ends up can be traced; sizes from empty to 64 KiB. */
  content(rand: () => number, seed: number, sameSizeAs?: Buffer): Buffer {
    const tag = Buffer.from(`${seed}:${++this.written}:`);
    let size: number;
    if (sameSizeAs !== undefined && sameSizeAs.length >= tag.length) size = sameSizeAs.length;
    else {
      const r = rand();
      size = r < 0.08 ? 0 : r < 0.9 ? tag.length + Math.floor(rand() * 3000) : tag.length + Math.floor(rand() * 65536);
    }
    // An empty file carries no tag: several empty files are one content, counted once.
    const data = size === 0 ? Buffer.alloc(0) : Buffer.concat([tag, randomBytes(Math.max(0, size - tag.length))]);
    this.live.add(data.toString('hex'));
    return data;
  }

  /** The person overwrote or deleted the file at `abs`: what it held is gone on purpose. */
  removedOnPurpose(abs: string): void {
    try {
      this.live.delete(readFileSync(abs).toString('hex'));
    } catch {
      // already gone
    }
  }
}

/** Every regular file below `dir`, relative path → bytes; `skip` names top-level entries to leave out. */
export function readTree(
  dir: string,
  skip: readonly string[] = ['.ferry-trash', '.ferry-versions'],
): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (abs: string, rel: string) => {
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      if (rel === '' && skip.includes(d.name)) continue;
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(join(abs, d.name), r);
      else if (d.isFile()) out.set(r, readFileSync(join(abs, d.name)));
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

function dirsOf(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      if (rel === '' && (d.name === '.ferry-trash' || d.name === '.ferry-versions')) continue;
      if (!d.isDirectory()) continue;
      const r = rel ? `${rel}/${d.name}` : d.name;
      out.push(r);
      walk(r);
    }
  };
  walk('');
  return out;
}

export type OpContext = {
  rand: () => number;
  seed: number;
  ledger: Ledger;
  /** Move rules: new files and rename targets get names never used before (a moved file's name is not reused). */
  freshNames: boolean;
  /**
   * Whether a name may change kind (a file replaced by a folder of that name, or the reverse). Every
   * mode meets it: backup and move keep what they delivered, so their kept copy moves aside for the
   * new one (plan/keptAside.ts).
   */
  kindChanges: boolean;
  /**
   * Two-way: the other computer's folder. Some creations then take a name it holds with the other
   * kind (a file where it has a folder, a folder where it has a file): both sides made one name.
   */
  other?: string;
  /** Numbers fresh names: part of the context, so a run's names depend on its seed alone. */
  counter: { n: number };
};

/** A relative path of one to three segments, under an existing folder half of the time. */
function newPath(root: string, ctx: OpContext): string {
  const { rand } = ctx;
  const pick = () => PORTABLE_SEGMENTS[Math.floor(rand() * PORTABLE_SEGMENTS.length)] as string;
  const dirs = dirsOf(root);
  const base = dirs.length > 0 && rand() < 0.5 ? (dirs[Math.floor(rand() * dirs.length)] as string) : '';
  const depth = Math.floor(rand() * 2);
  const parts = base ? [base] : [];
  for (let i = 0; i < depth; i++) parts.push(pick());
  parts.push(ctx.freshNames ? `${pick()}-${++ctx.counter.n}` : pick());
  return parts.join('/');
}

/** Whether a file can be written at `rel` (no file stands where a parent folder must be, no folder at `rel`). */
function writable(root: string, rel: string): boolean {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const abs = join(root, ...parts.slice(0, i));
    if (existsSync(abs) && !statSync(abs).isDirectory()) return false;
  }
  const abs = join(root, rel);
  return !existsSync(abs) || lstatSync(abs).isFile();
}

/**
 * A file path for `root` that clashes with the folder `other`: a name `other` holds as a folder where
 * `root` has nothing, or a file inside a name `other` holds as a file.
 */
function clashingPath(root: string, other: string, rand: () => number): string | undefined {
  const free = (rel: string) => writable(root, rel) && !existsSync(join(root, rel));
  const seg = () => PORTABLE_SEGMENTS[Math.floor(rand() * PORTABLE_SEGMENTS.length)] as string;
  const choices = [
    ...dirsOf(other).filter(free),
    ...[...readTree(other).keys()].map((f) => `${f}/${seg()}`).filter(free),
  ];
  return choices[Math.floor(rand() * choices.length)];
}

function write(root: string, rel: string, data: Buffer): void {
  const abs = join(root, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, data);
}

/** One random change to the folder `root`; returns a one-line description (for a failing seed's log). */
export function randomChange(root: string, ctx: OpContext): string {
  const { rand, ledger } = ctx;
  const files = [...readTree(root).keys()];
  const r = rand();
  if (r < 0.3 || files.length === 0) {
    if (ctx.other !== undefined && rand() < 0.3) {
      const clash = clashingPath(root, ctx.other, rand);
      if (clash === undefined) return 'create a file/folder clash: none';
      write(root, clash, ledger.content(rand, ctx.seed));
      return `create ${clash} (the other side has that name as the other kind)`;
    }
    const rel = newPath(root, ctx);
    if (!writable(root, rel) || existsSync(join(root, rel))) return `create ${rel}: skipped (taken)`;
    write(root, rel, ledger.content(rand, ctx.seed));
    return `create ${rel}`;
  }
  const victim = files[Math.floor(rand() * files.length)] as string;
  const abs = join(root, victim);
  if (r < 0.5) {
    const old = readFileSync(abs);
    ledger.removedOnPurpose(abs);
    const sameSize = rand() < 0.4;
    const { mtime } = statSync(abs);
    writeFileSync(abs, ledger.content(rand, ctx.seed, sameSize ? old : undefined));
    // A same-size edit that keeps its mtime: only the content (or the inode's ctime) tells.
    if (sameSize && rand() < 0.5) utimesSync(abs, mtime, mtime);
    return `edit ${victim}${sameSize ? ' (same size)' : ''}`;
  }
  if (r < 0.55) {
    const t = new Date(Date.now() - Math.floor(rand() * 1e9));
    utimesSync(abs, t, t);
    return `touch ${victim}`;
  }
  if (r < 0.68) {
    const to = newPath(root, ctx);
    if (!writable(root, to) || existsSync(join(root, to))) return `rename ${victim}: skipped`;
    mkdirSync(dirname(join(root, to)), { recursive: true });
    renameSync(abs, join(root, to));
    return `rename ${victim} → ${to}`;
  }
  if (r < 0.74) {
    const dirs = dirsOf(root);
    const dir = dirs[Math.floor(rand() * dirs.length)];
    if (dir === undefined) return 'rename folder: none';
    const to = `${dir
      .split('/')
      .slice(0, -1)
      .concat(`${PORTABLE_SEGMENTS[Math.floor(rand() * PORTABLE_SEGMENTS.length)] as string}-r${++ctx.counter.n}`)
      .join('/')}`;
    renameSync(join(root, dir), join(root, to));
    return `rename folder ${dir} → ${to}`;
  }
  if (r < 0.82) {
    // A tree made elsewhere (Downloads) and moved in whole: its folders are new to any watcher.
    const outside = mkdtempSync(join(tmpdir(), 'ferry-model-in-'));
    const top = `${PORTABLE_SEGMENTS[Math.floor(rand() * PORTABLE_SEGMENTS.length)] as string}-in${++ctx.counter.n}`;
    const n = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < n; i++) {
      const rel = [top, ...(rand() < 0.5 ? ['y', 'z'] : []), `f${i}`].join('/');
      write(outside, rel, ledger.content(rand, ctx.seed));
    }
    // Same file system (tmpdir): a rename, as `mv` does.
    try {
      renameSync(join(outside, top), join(root, top));
    } catch {
      rmSync(join(outside, top), { recursive: true, force: true });
    }
    rmSync(outside, { recursive: true, force: true });
    return `move in ${top} (${n} files)`;
  }
  if (r < 0.9 || (r < 0.94 && !ctx.kindChanges)) {
    ledger.removedOnPurpose(abs);
    unlinkSync(abs);
    return `delete ${victim}`;
  }
  if (r < 0.94) {
    // A name changes kind: a file becomes a folder of that name (it holds a new file), or a folder a file.
    const dirs = dirsOf(root);
    const dir = dirs[Math.floor(rand() * dirs.length)];
    if (rand() < 0.5 || dir === undefined) {
      ledger.removedOnPurpose(abs);
      unlinkSync(abs);
      const inside = `${victim}/${PORTABLE_SEGMENTS[Math.floor(rand() * PORTABLE_SEGMENTS.length)] as string}`;
      write(root, inside, ledger.content(rand, ctx.seed));
      return `replace file ${victim} by folder (${inside})`;
    }
    for (const [rel] of readTree(join(root, dir), [])) ledger.removedOnPurpose(join(root, dir, rel));
    rmSync(join(root, dir), { recursive: true });
    write(root, dir, ledger.content(rand, ctx.seed));
    return `replace folder ${dir} by a file`;
  }
  const dirs = dirsOf(root);
  const dir = dirs[Math.floor(rand() * dirs.length)];
  if (dir === undefined) return 'delete folder: none';
  for (const [rel] of readTree(join(root, dir), [])) ledger.removedOnPurpose(join(root, dir, rel));
  rmSync(join(root, dir), { recursive: true });
  return `delete folder ${dir}`;
}

export { prng };
