import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { providerConformance } from '../conformance/providerSuite';

const roots: string[] = [];
const workers = new FileWorkers(2);
afterAll(() => workers.close());

providerConformance(
  'local folder',
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ferry-local-'));
    roots.push(root);
    return { dest: new LocalDestination({ id: 'local', path: root }, workers) };
  },
  { conditionalWrites: true },
);

it('local provider: a failed check names the missing folder and what to do', async () => {
  const dest = new LocalDestination({ id: 'nas', path: join(tmpdir(), 'ferry-does-not-exist-xyz') }, workers);
  const err = await dest.check().then(
    () => undefined,
    (e: Error & { hint?: string }) => e,
  );
  expect(err?.message).toContain('ferry-does-not-exist-xyz');
  expect(err?.hint).toMatch(/create the folder/);
});

it('local provider: leaves no temporary file behind after the whole suite (cancelled and refused uploads included)', () => {
  expect(roots.length).toBe(1);
  let seen = 0;
  for (const root of roots) {
    const stack = [root];
    while (stack.length) {
      const dir = stack.pop() as string;
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        expect(n.startsWith('.ferrytmp-')).toBe(false);
        seen++;
        stack.push(join(dir, n));
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
  expect(seen).toBeGreaterThan(10);
});

it('local provider: trash moves a file into the destination’s .ferry-trash/DAY/, out of listings, and empties days older than 30', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-local-trash-'));
  try {
    const dest = new LocalDestination({ id: 'nas', path: root }, workers);
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs/old.txt'), 'deleted elsewhere');
    mkdirSync(join(root, '.ferry-trash/2000-01-01'), { recursive: true });
    writeFileSync(join(root, '.ferry-trash/2000-01-01/ancient.txt'), 'long gone');
    const where = await dest.trash('docs/old.txt');
    const day = new Date().toISOString().slice(0, 10);
    expect(where).toBe(`.ferry-trash/${day} at the destination`);
    expect(readFileSync(join(root, '.ferry-trash', day, 'docs/old.txt'), 'utf8')).toBe('deleted elsewhere');
    expect(existsSync(join(root, 'docs'))).toBe(false);
    expect(existsSync(join(root, '.ferry-trash/2000-01-01'))).toBe(false);
    const listed: string[] = [];
    for await (const e of dest.list('')) listed.push(e.path);
    expect(listed).toEqual([]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
