// Preloaded into a Ferry process (NODE_OPTIONS=--import …) to write its /proc/self/io, worker threads
// included, to FERRY_IO_REPORT when it exits: how many bytes it read, measured by the kernel.
import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.FERRY_IO_REPORT;
if (out && isMainThread)
  process.on('exit', () => {
    try {
      writeFileSync(out, readFileSync('/proc/self/io', 'utf8'));
    } catch {
      // not Linux: no figure
    }
  });
