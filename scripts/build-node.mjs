// Bundles the Node entry points (the `ferry` CLI and the hash worker) into out/node with esbuild.
// Dependencies stay external: better-sqlite3 is native, the rest are resolved from node_modules.
import { build } from 'esbuild';

import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A fresh folder each time, so no stale entry point survives a rename; built beside and swapped in,
// so a test run that is using out/node meanwhile never finds it half built or missing.
const final = fileURLToPath(new URL('../out/node', import.meta.url));
const staging = `${final}.build-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: {
    cli: 'src/main/cli/run.ts',
    fileWorker: 'src/main/engine/workers/fileWorker.ts',
  },
  outdir: staging,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}),
  logLevel: 'warning',
  // fileWorkers falls back to import.meta only when run from source (tests); bundles use __dirname.
  logOverride: { 'empty-import-meta': 'silent' },
});

const old = `${final}.old-${process.pid}`;
try {
  renameSync(final, old);
} catch {
  // First build: nothing to move aside.
}
renameSync(staging, final);
rmSync(old, { recursive: true, force: true });
