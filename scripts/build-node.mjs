// Bundles the Node entry points (the `ferry` CLI and the hash worker) into out/node with esbuild.
// Dependencies stay external: better-sqlite3 is native, the rest are resolved from node_modules.
import { build } from 'esbuild';

import { readFileSync, rmSync } from 'node:fs';

// A fresh folder each time, so no stale entry point survives a rename.
rmSync(new URL('../out/node', import.meta.url), { recursive: true, force: true });

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: {
    cli: 'src/main/cli/run.ts',
    fileWorker: 'src/main/engine/workers/fileWorker.ts',
  },
  outdir: 'out/node',
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
