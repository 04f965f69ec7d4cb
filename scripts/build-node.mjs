// Bundles the Node entry points (the `ferry` CLI and the hash worker) into out/node with esbuild.
// Dependencies stay external: better-sqlite3 is native, the rest are resolved from node_modules.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: {
    cli: 'src/main/cli/run.ts',
    hashWorker: 'src/main/engine/scan/hashWorker.ts',
  },
  outdir: 'out/node',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}),
  logLevel: 'warning',
  // hashPool falls back to import.meta only when run from source (tests); bundles use __dirname.
  logOverride: { 'empty-import-meta': 'silent' },
});
