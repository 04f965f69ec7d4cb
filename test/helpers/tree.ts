import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A deterministic pseudo-random generator, so a failing tree can be made again. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type TreeSpec = { files: number; bigFileBytes?: number; seed?: number };

/**
 * Writes a tree of `files` small files in nested folders, with empty files, names with spaces,
 * unicode names in NFC and NFD, and optionally one big random file. Returns the relative paths.
 */
export function makeTree(root: string, spec: TreeSpec): string[] {
  const rnd = prng(spec.seed ?? 1);
  const paths: string[] = [];
  const cafeNfc = 'café'.normalize('NFC');
  const cafeNfd = 'café'.normalize('NFD');
  const specials = [
    'empty-1',
    'docs/empty-2.txt',
    'with space/a file with spaces.txt',
    `unicode/${cafeNfc}-nfc.txt`,
    `unicode/${cafeNfd}-nfd.txt`,
    `unicode/${'Åström'.normalize('NFD')}/${'日本語のファイル'}.md`,
    'deep/a/b/c/d/e/f/g/h/leaf.txt',
    '.hidden/dotfile',
  ];
  for (const [i, p] of specials.entries()) {
    const abs = join(root, p);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, p.startsWith('empty') || p.includes('empty-') ? '' : `special ${i}\n`);
    paths.push(p);
  }
  for (let i = paths.length; i < spec.files; i++) {
    const depth = Math.floor(rnd() * 4);
    const dirs = Array.from({ length: depth }, () => `d${Math.floor(rnd() * 12)}`);
    const p = [...dirs, `file-${i}.${['txt', 'jpg', 'bin', 'md'][i % 4]}`].join('/');
    const abs = join(root, p);
    mkdirSync(dirname(abs), { recursive: true });
    const size = rnd() < 0.05 ? 0 : Math.floor(rnd() * 16_384);
    writeFileSync(abs, randomBytes(size));
    paths.push(p);
  }
  if (spec.bigFileBytes) {
    const p = 'big/large file.bin';
    mkdirSync(join(root, 'big'), { recursive: true });
    writeFileSync(join(root, p), randomBytes(spec.bigFileBytes));
    paths.push(p);
  }
  return paths;
}

/**
 * Every regular file below `root` with its SHA-256, keyed by relative path; Ferry's temporaries included.
 * A destination's `.ferry-versions/` area (what mirror and two-way rules kept, by default) is Ferry's,
 * not the synced content: left out unless `versions` asks for it.
 */
export function snapshot(root: string, opts: { versions?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel !== '') return;
      throw err;
    }
    for (const name of names) {
      if (rel === '' && name === '.ferry-versions' && opts.versions !== true) continue;
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      // A live sync may remove a temporary file between the listing and the look: skip what vanished.
      try {
        const st = lstatSync(abs);
        if (st.isDirectory()) walk(abs, r);
        else if (st.isFile()) out.set(r, createHash('sha256').update(readFileSync(abs)).digest('hex'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  };
  walk(root, '');
  return out;
}

export function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

export function writeConfig(file: string, yaml: string): string {
  writeFileSync(file, yaml);
  return file;
}
