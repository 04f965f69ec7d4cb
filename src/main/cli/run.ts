import { main } from './index';

// The `ferry` command's entry point (bundled to out/node/cli.js).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
