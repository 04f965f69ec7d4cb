#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is bundled by `npm install` (prepare) or `npm run build:node`.
try {
  require('../out/node/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('out/node/cli.js')) {
    console.error('ferry: the CLI is not built yet: run `npm run build:node` (or `npm install`) in the Ferry folder');
    process.exit(3);
  }
  throw err;
}
