import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { spawnFerry, syncJson } from '../helpers/cli';
import { sha256 } from '../helpers/tree';
import { workspace } from '../helpers/workspace';

const ws = workspace({ rules: [{ mode: 'mirror' }], settings: '  transfers: 1\n  bandwidth: 25000000' });
afterAll(() => ws.cleanup());

it('a file rewritten while it is shipped is never published torn, and the next run converges to its final content', async () => {
  const file = join(ws.src, 'growing.bin');
  const v1 = randomBytes(60 * 1024 * 1024);
  const v2 = randomBytes(60 * 1024 * 1024);
  writeFileSync(file, v1);
  const allowed = new Set([sha256(v1), sha256(v2)]);
  const target = join(ws.dest, 'growing.bin');

  const child = spawnFerry(['sync', '--once', '--json', '--config', ws.config, '--state-dir', ws.state]);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let rewritten = false;
  let observed = 0;
  let lastSeen = '';
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    if (!rewritten && readdirSync(ws.dest).some((n) => n.startsWith('.ferrytmp-'))) {
      // Mid-upload: rewrite the source in place with other bytes of the same size.
      writeFileSync(file, v2);
      rewritten = true;
    }
    try {
      const st = statSync(target);
      const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
      if (key !== lastSeen) {
        lastSeen = key;
        observed++;
        expect(allowed.has(sha256(readFileSync(target))), 'the destination shows a torn file').toBe(true);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await new Promise((r) => setTimeout(r, 15));
  }
  await exited;
  expect(rewritten, 'the test never caught the upload in flight').toBe(true);
  expect(observed).toBeGreaterThan(0);

  const again = await syncJson(ws.config, ws.state);
  expect(again.code, again.stdout + again.stderr).toBe(0);
  expect(sha256(readFileSync(target))).toBe(sha256(v2));
  expect(readdirSync(ws.dest).filter((n) => n.startsWith('.ferrytmp-'))).toEqual([]);
});
