import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { snapshot, writeConfig } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

/**
 * The mirror deletion brake counts against the state the person last confirmed (kept in the state
 * database), real files only: deletions spread over passes add up, and copies left behind by a rules
 * change do not dilute the share.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const put = (w: Workspace, path: string, content: string) => {
  mkdirSync(dirname(join(w.src, path)), { recursive: true });
  writeFileSync(join(w.src, path), content);
};
/** Files at the destination (its kept versions are Ferry's, not the mirror's content). */
const remoteFiles = (w: Workspace) => snapshot(w.dest).size;

describe('mirror deletion brake, counted against the last confirmed state', () => {
  it('holds deletions spread over several passes once together they pass the allowed share', async () => {
    const w = (ws = workspace({ rules: [{ name: 'work to nas', mode: 'mirror' }] }));
    for (let i = 0; i < 10; i++) put(w, `f${i}.txt`, `file ${i}`);
    expect((await syncJson(w.config, w.state)).code).toBe(0);
    // Three deletions: well within the share, they go.
    for (let i = 0; i < 3; i++) unlinkSync(join(w.src, `f${i}.txt`));
    const first = await syncJson(w.config, w.state);
    expect(first.code, first.stdout).toBe(0);
    expect(remoteFiles(w)).toBe(7);
    // Three more: 3 of the 7 left looks harmless, but 6 of the 10 last confirmed is more than half.
    for (let i = 3; i < 6; i++) unlinkSync(join(w.src, `f${i}.txt`));
    const held = await syncJson(w.config, w.state);
    expect(held.code).not.toBe(0);
    expect(held.summary?.problems).toContainEqual({
      kind: 'delete-brake',
      rule: 'work to nas',
      destination: 'nas',
      deletes: 3,
      total: 10,
      earlier: 3,
    });
    expect(remoteFiles(w)).toBe(7);
    // Confirmed: they go, and the confirmed state is now the 4 files left.
    const confirmed = await syncJson(w.config, w.state, { extra: ['--confirm-deletes'] });
    expect(confirmed.code, confirmed.stdout).toBe(0);
    expect(remoteFiles(w)).toBe(4);
    unlinkSync(join(w.src, 'f6.txt'));
    const after = await syncJson(w.config, w.state);
    expect(after.code, after.stdout).toBe(0);
    expect(remoteFiles(w)).toBe(3);
  });

  it('lets files replaced by others go without asking: growth raises the baseline', async () => {
    const w = (ws = workspace({ rules: [{ name: 'work to nas', mode: 'mirror' }] }));
    for (let i = 0; i < 10; i++) put(w, `f${i}.txt`, `file ${i}`);
    expect((await syncJson(w.config, w.state)).code).toBe(0);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) {
        unlinkSync(join(w.src, `f${round * 3 + i}.txt`));
        put(w, `new${round}-${i}.txt`, `new ${round} ${i}`);
      }
      const r = await syncJson(w.config, w.state);
      expect(r.code, r.stdout).toBe(0);
      expect(remoteFiles(w)).toBe(10);
    }
  });

  it('does not let copies left behind by a rules change dilute the share', async () => {
    const w = (ws = workspace({ rules: [{ name: 'work to nas', mode: 'mirror' }] }));
    for (let i = 0; i < 10; i++) put(w, `docs/d${i}.txt`, `doc ${i}`);
    for (let i = 0; i < 20; i++) put(w, `other/o${i}.txt`, `other ${i}`);
    expect((await syncJson(w.config, w.state)).code).toBe(0);
    // The rule now sends docs/ only: the 20 copies of other/ are left behind (kept, reported).
    writeConfig(
      w.config,
      [
        'folders:',
        `  - { id: work, path: ${JSON.stringify(w.src)} }`,
        'destinations:',
        `  - { id: nas, type: local, path: ${JSON.stringify(w.dest)} }`,
        'rules:',
        `  - { name: work to nas, from: [work], to: [nas], mode: mirror, match: ['docs/**'] }`,
        '',
      ].join('\n'),
    );
    for (let i = 0; i < 6; i++) unlinkSync(join(w.src, `docs/d${i}.txt`));
    // 6 of 30 shipped copies, but 6 of the 10 real files: held.
    const held = await syncJson(w.config, w.state);
    expect(held.code).not.toBe(0);
    expect(held.summary?.problems).toContainEqual({
      kind: 'delete-brake',
      rule: 'work to nas',
      destination: 'nas',
      deletes: 6,
      total: 10,
    });
    expect(existsSync(join(w.dest, 'docs/d0.txt'))).toBe(true);
    expect(remoteFiles(w)).toBe(30);
  });
});
