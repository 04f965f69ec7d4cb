import { execFileSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Integration tests run the real `ferry` binary: bundle it once before any test file starts.
 * Under root, permission tests run that binary as `nobody` (see helpers/cli.ts), which must be able
 * to reach it: a checkout inside a private folder (mktemp -d makes them 0700) gets search permission
 * (o+x, not read) on its ancestors, nothing more.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-node.mjs'], { stdio: 'inherit' });
  if (process.getuid?.() !== 0) return;
  for (let dir = resolve('.'); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    if (dirname(dir) === dir) break;
  }
}
