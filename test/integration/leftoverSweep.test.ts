import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { workspace } from '../helpers/workspace';

const ws = workspace({ rules: [{ mode: 'mirror' }] });
afterAll(() => ws.cleanup());

it("sweeps its own leftover temporaries and another instance's abandoned ones, never another instance's fresh one", async () => {
  writeFileSync(join(ws.src, 'a.txt'), 'a');
  const first = await syncJson(ws.config, ws.state);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  const tag = readFileSync(join(ws.state, 'instance-id'), 'utf8').trim();
  expect(tag).toMatch(/^[0-9a-f]{8}$/);

  mkdirSync(join(ws.dest, 'sub'), { recursive: true });
  const own = join(ws.dest, 'sub', `.ferrytmp-${tag}-0123456789ab-own.txt`);
  const otherTag = tag === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa';
  // Another instance sharing this destination, writing right now.
  const othersFresh = join(ws.dest, `.ferrytmp-${otherTag}-0123456789ab-in-flight.txt`);
  // Another instance's upload interrupted two days ago.
  const othersOld = join(ws.dest, 'sub', `.ferrytmp-${otherTag}-ba9876543210-abandoned.txt`);
  for (const f of [own, othersFresh, othersOld]) writeFileSync(f, 'half');
  const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
  utimesSync(othersOld, twoDaysAgo, twoDaysAgo);

  const r = await syncJson(ws.config, ws.state);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.summary?.cleanedPartials).toBe(2);
  expect(existsSync(own)).toBe(false);
  expect(existsSync(othersOld)).toBe(false);
  expect(readFileSync(othersFresh, 'utf8')).toBe('half');
  // The instance keeps its tag across runs, so a restart after a crash still finds its own leftovers.
  expect(readFileSync(join(ws.state, 'instance-id'), 'utf8').trim()).toBe(tag);
});
