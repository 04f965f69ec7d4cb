import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { versionPolicy } from '../../src/shared/config';
import { ConfigError, parseConfig } from '../../src/main/engine/config/loadConfig';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { Store } from '../../src/main/engine/store/store';
import { openDb } from '../../src/main/engine/store/db';
import { VersionKeeper, settleVersions } from '../../src/main/engine/versions/keeper';
import { parseMoment } from '../../src/main/engine/versions/timeSpec';
import { parseVersionLocation, versionLocation } from '../../src/main/engine/versions/versionName';
import { catalog, momentOf } from '../../src/main/engine/versions/catalog';
import type { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

const ruleYaml = (extra: string, mode = 'mirror') =>
  [
    'folders: [{ id: w, path: /tmp/w }]',
    'destinations: [{ id: d, type: local, path: /tmp/d }]',
    `rules: [{ name: r, from: [w], to: [d], mode: ${mode}${extra} }]`,
  ].join('\n');

describe('rule versions in the config', () => {
  it('are on for 30 days in mirror and two-way rules, off in backup rules, unless told', () => {
    const policy = (extra: string, mode?: string) =>
      versionPolicy(parseConfig(ruleYaml(extra, mode), '/c.yml', '/').rules[0] as never);
    expect(policy('')).toEqual({ keepMs: 30 * 86_400_000 });
    expect(policy('', 'two-way')).toEqual({ keepMs: 30 * 86_400_000 });
    expect(policy('', 'backup')).toBeUndefined();
    expect(policy(', versions: { keep: 0 }')).toBeUndefined();
    expect(policy(', versions: { keep: 12h, max: 5 }')).toEqual({ keepMs: 12 * 3_600_000, max: 5 });
    expect(policy(', versions: { keep: 2w }', 'backup')).toEqual({ keepMs: 14 * 86_400_000 });
  });

  it('refuse a keep that is not a duration and a max below 1, naming the field and what to write', () => {
    const problems = (extra: string) => {
      try {
        parseConfig(ruleYaml(extra), '/c.yml', '/');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      }
      throw new Error('expected a refusal');
    };
    expect(problems(', versions: { keep: 30 }')).toEqual([
      'rules[0].versions.keep: rule "r": keep is how long to keep replaced and deleted files: a duration such as 30d, 12h, 2w, or 0 to keep none',
    ]);
    expect(problems(', versions: { keep: forever }')[0]).toContain(
      'rules[0].versions.keep: rule "r": keep is how long',
    );
    expect(problems(', versions: { max: 0 }')).toEqual([
      'rules[0].versions.max: rule "r": max is at least 1 (keep: 0 turns versions off)',
    ]);
    expect(problems(', versions: { kept: 3d }')[0]).toMatch(/^rules\[0\]\.versions/);
  });
});

describe('moments and version names', () => {
  const now = Date.parse('2026-12-07T18:00:00Z');
  it('reads ISO 8601 and "N units ago", and nothing else', () => {
    expect(parseMoment('2026-12-07T16:30:00Z', now)).toBe(Date.parse('2026-12-07T16:30:00Z'));
    expect(parseMoment('2026-12-07T16:30:00.250+01:00', now)).toBe(Date.parse('2026-12-07T15:30:00.250Z'));
    expect(parseMoment('2 hours ago', now)).toBe(now - 2 * 3_600_000);
    expect(parseMoment('an hour ago', now)).toBe(now - 3_600_000);
    expect(parseMoment('3 days ago', now)).toBe(now - 3 * 86_400_000);
    expect(parseMoment('yesterday', now)).toBeUndefined();
    expect(parseMoment('12', now)).toBeUndefined();
    expect(parseMoment('2026-13-45', now)).toBeUndefined();
  });

  it('a version name carries its path and time, and says so again', () => {
    const at = Date.parse('2026-12-07T18:15:00.123Z');
    const loc = versionLocation('docs/a b@c.txt', at);
    expect(loc).toBe('.ferry-versions/docs/a b@c.txt@2026-12-07T18-15-00.123Z');
    expect(parseVersionLocation(loc)).toEqual({ remotePath: 'docs/a b@c.txt', keptAt: at });
    expect(parseVersionLocation('.ferry-versions/x.txt')).toBeUndefined();
    expect(parseVersionLocation('docs/x.txt@2026-12-07T18-15-00.123Z')).toBeUndefined();
  });

  it('a version of a name near 255 bytes still fits in one name (its stem cut, whole characters)', () => {
    const at = Date.parse('2026-12-07T18:15:00.123Z');
    const long = `${'é'.repeat(120)}.txt`; // 244 bytes
    const loc = versionLocation(`docs/${long}`, at);
    const name = loc.slice(loc.lastIndexOf('/') + 1);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name.endsWith('@2026-12-07T18-15-00.123Z')).toBe(true);
    expect(name.startsWith('é'.repeat(100))).toBe(true);
    expect(name).not.toContain('\uFFFD');
    expect(parseVersionLocation(loc)?.keptAt).toBe(at);
  });
});

describe('the version keeper (a local destination, an injected clock)', () => {
  let dir: string;
  let store: Store;
  let dest: LocalDestination;
  let now: number;
  const DAY = 86_400_000;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-keeper-'));
    mkdirSync(join(dir, 'dest'));
    store = new Store(openDb(':memory:'), join(dir, 'staging'));
    dest = new LocalDestination({ id: 'd', type: 'local', path: join(dir, 'dest') } as never, {} as FileWorkers);
    now = Date.parse('2026-12-01T00:00:00Z');
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ship = (path: string, content: string) => {
    writeFileSync(join(dir, 'dest', path), content);
    store.shipped.put({
      destination: 'd',
      remotePath: path,
      rule: 'r',
      folder: 'w',
      path,
      size: content.length,
      sha256: `sha-${content}`,
      encoding: 'identity',
      remoteVersion: null,
      shippedAt: now,
    });
  };
  const area = () => readdirSync(join(dir, 'dest', '.ferry-versions')).sort();
  const req = (path: string) => ({ rule: 'r', folder: 'w', path, remotePath: path, cause: 'replaced' as const });

  it('keeps each replaced copy with its hash and arrival, at most max per file, none older than keep', async () => {
    const keeper = new VersionKeeper(store, () => now);
    const policy = { keepMs: 2 * DAY, max: 2 };
    for (const v of ['v1', 'v2', 'v3']) {
      ship('a.txt', v);
      now += 1000;
      await keeper.keep(dest, req('a.txt'), policy);
    }
    const kept = store.versions.ofPath('d', 'a.txt');
    expect(kept.map((v) => v.sha256)).toEqual(['sha-v3', 'sha-v2']);
    expect(area()).toEqual(['a.txt@2026-12-01T00-00-02.000Z', 'a.txt@2026-12-01T00-00-03.000Z']);
    // As it was between v2 and v3's replacement: v3 (kept at +3 s, arrived at +2 s).
    const f = catalog(store, 'w', 'a.txt', ['d'])[0];
    expect(f && momentOf(f, now - 500)).toMatchObject({ kind: 'version', version: { sha256: 'sha-v3' } });
    now += 3 * DAY;
    ship('b.txt', 'b');
    await keeper.keep(dest, req('b.txt'), policy);
    expect(area()).toEqual(['b.txt@2026-12-04T00-00-03.000Z']);
    expect(store.versions.ofPath('d', 'a.txt')).toEqual([]);
  });

  it('settles a record left pending by a crash: kept if the rename happened, forgotten if not', async () => {
    ship('a.txt', 'x');
    ship('b.txt', 'y');
    const base = {
      destination: 'd',
      keptAt: now,
      size: 1,
      sha256: null,
      cause: 'replaced' as const,
      rule: 'r',
      folder: 'w',
      since: null,
    };
    // a: crashed after the rename; b: crashed before it.
    const a = store.versions.begin({
      ...base,
      remotePath: 'a.txt',
      path: 'a.txt',
      location: versionLocation('a.txt', now),
    });
    store.versions.begin({ ...base, remotePath: 'b.txt', path: 'b.txt', location: versionLocation('b.txt', now) });
    await dest.move('a.txt', versionLocation('a.txt', now));
    await settleVersions(store, dest);
    expect(store.versions.pending('d')).toEqual([]);
    expect(store.versions.ofPath('d', 'a.txt').map((v) => [v.id, v.state])).toEqual([[a, 'kept']]);
    expect(store.versions.ofPath('d', 'b.txt')).toEqual([]);
  });
});
