import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs build script, typed by its JSDoc only
import { installLine, testDeps } from '../../scripts/system-deps.mjs';

const root = resolve(__dirname, '../..');

describe("the tests' system packages", () => {
  it("are all named in the README's one install line", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /<!-- system-packages -->\s*```sh\n(.*)\n```/.exec(readme);
    expect(block?.[1]).toBe(installLine(testDeps) as string);
  });

  it('are checked before npm test builds anything: a missing one stops it with that line and exit 1', () => {
    // A PATH holding only node: every package looked up by name is missing.
    const bin = mkdtempSync(join(tmpdir(), 'ferry-preflight-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const run = spawnSync(join(bin, 'node'), [join(root, 'scripts/preflight.mjs')], {
      env: { PATH: bin },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('rclone');
    expect(run.stderr).toContain(installLine(testDeps) as string);
  });

  it('let npm test go on when every package is there', () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts/preflight.mjs')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('come first in npm test', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['test']?.startsWith('node scripts/preflight.mjs && ')).toBe(true);
  });
});
