import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_AS_NOBODY, openToAll, syncJson } from '../helpers/cli';
import { makeTree, snapshot } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

describe('a generated tree reaches a local destination', () => {
  let ws: Workspace;
  let paths: string[];

  beforeAll(() => {
    ws = workspace();
    paths = makeTree(ws.src, { files: 2100, bigFileBytes: 50 * 1024 * 1024, seed: 7 });
    if (RUN_AS_NOBODY) openToAll(ws.src);
  });
  afterAll(() => ws.cleanup());

  it('ships every file byte-identical: nested, empty, spaces, NFC and NFD names, a 50 MB file', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.summary?.ok).toBe(true);
    expect(r.summary?.stats.done).toBe(paths.length);
    const src = snapshot(ws.src);
    const dest = snapshot(ws.dest);
    expect(src.size).toBe(paths.length);
    expect(dest).toEqual(src);
    expect([...dest.keys()].some((p) => p.includes('café'.normalize('NFD')))).toBe(true);
    expect([...dest.keys()].some((p) => p.includes('café'.normalize('NFC')))).toBe(true);
  });

  it('ships nothing on a second run', async () => {
    const r = await syncJson(ws.config, ws.state);
    expect(r.code).toBe(0);
    expect(r.summary?.stats).toEqual({ done: 0, skipped: 0, failed: 0, bytes: 0 });
    expect(r.summary?.inSync).toBe(paths.length);
  });
});
