import '../threadPool';
import { main } from './index';

// A reader that went away (`ferry plan | head`) is no crash: the command finishes its work (a sync
// stays complete, its exit code true), only unprinted. Other stream errors stay errors.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });

// The `ferry` command's entry point (bundled to out/node/cli.js).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
