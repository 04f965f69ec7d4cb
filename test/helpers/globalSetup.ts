import { execFileSync } from 'node:child_process';

/** Integration tests run the real `ferry` binary: bundle it once before any test file starts. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-node.mjs'], { stdio: 'inherit' });
}
