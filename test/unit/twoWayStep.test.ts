import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/shared/config';
import type { LocalFile } from '../../src/shared/models';
import { planTwoWayRules } from '../../src/main/engine/plan/twoWayStep';
import type { RemoteEntry } from '../../src/main/engine/providers/types';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';

const cfg = configSchema.parse({
  folders: [{ id: 'work', path: '/work' }],
  destinations: [{ id: 'hub', type: 'local', path: '/hub' }],
  rules: [{ name: 'both', from: ['work'], to: ['hub'], mode: 'two-way' }],
});

const file = (path: string, sha256: string): LocalFile => ({
  folder: 'work',
  path,
  size: 4,
  mtimeNs: 1n,
  ino: 1n,
  hashes: { sha256 },
});

describe('two-way jobs carry the versions the plan saw', () => {
  it('a local rename becomes a move that names the version it found at the old name', () => {
    const local = new Map([['b.txt', file('b.txt', 'sha-a')]]);
    const remote = new Map<string, RemoteEntry>([['a.txt', { path: 'a.txt', size: 4, version: 'gen-7' }]]);
    const rule = compileRule(cfg.rules[0] as (typeof cfg.rules)[number]);
    const { actions } = planTwoWayRules({
      cfg,
      folders: new Map([['work', { files: local, unreadable: new Set<string>(), complete: true }]]),
      caught: new Map([['work', { files: local, lists: [[rule]] }]]),
      destinations: new Map([['hub', { shipped: [], remote, canMove: true, canCopy: true }]]),
      base: () => new Map([['a.txt', { path: 'a.txt', sha256: 'sha-a', size: 4, remoteVersion: 'gen-7' }]]),
      confirmDeletes: false,
      now: new Date(0),
      host: 'here',
      platform: 'linux',
    });
    expect(actions).toEqual([
      expect.objectContaining({
        kind: 'move-remote',
        path: 'b.txt',
        fromRemotePath: 'a.txt',
        detail: { fromVersion: 'gen-7' },
      }),
    ]);
  });
});
