import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

const root = dirname(fileURLToPath(import.meta.url));

function readAppVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') {
    return pkg.version;
  }
  throw new Error('package.json has no string "version"');
}

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Dependencies stay in node_modules (better-sqlite3 is native); only our code is bundled.
      externalizeDeps: true,
      rollupOptions: {
        // The file worker runs in its own thread and is loaded by path, beside index.js.
        input: {
          index: resolve(root, 'src/main/index.ts'),
          fileWorker: resolve(root, 'src/main/engine/workers/fileWorker.ts'),
        },
        output: { format: 'cjs', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    define: {
      __FERRY_VERSION__: JSON.stringify(readAppVersion()),
    },
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can only `require('electron')` and a few shims: bundle everything else,
      // and emit CommonJS (sandboxed preloads cannot be ES modules).
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].js' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src/renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      // The daemon serves the window over HTTP too: minified, it opens faster.
      minify: 'esbuild',
      rollupOptions: {
        input: { index: resolve(root, 'src/renderer/index.html') },
      },
    },
  },
});
