import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { syncJson } from './cli';

/** One instance of a two-way test: its folder, its state directory, its config file. */
export type TwoWaySide = { folder: string; state: string; config: string };

/** Every file below a folder with its content, the trash and a destination's versions left out. */
export function folderTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string) => {
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      if (rel === '' && (d.name === '.ferry-trash' || d.name === '.ferry-versions')) continue;
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(join(abs, d.name), r);
      else out[r] = readFileSync(join(abs, d.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

/** Writes a file into a side's folder (its parents made), with `at` as its times when given. */
export function putFile(side: TwoWaySide, path: string, content: string, at?: Date): void {
  const abs = join(side.folder, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  if (at) utimesSync(abs, at, at);
}

/** Runs both sides until a round changes nothing (at most 4 rounds); every run must exit 0. */
export async function converge(a: TwoWaySide, b: TwoWaySide, env?: NodeJS.ProcessEnv): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const ra = await syncJson(a.config, a.state, env ? { env } : {});
    const rb = await syncJson(b.config, b.state, env ? { env } : {});
    expect(ra.code, ra.stderr + ra.stdout).toBe(0);
    expect(rb.code, rb.stderr + rb.stdout).toBe(0);
    if ((ra.summary?.stats.done ?? 0) + (rb.summary?.stats.done ?? 0) === 0) return;
  }
}
