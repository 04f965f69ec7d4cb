import { describe, expect, it } from 'vitest';
import { DirCache, isBelow, RemoteRoots } from '../../src/main/engine/providers/kit/remoteTree';

describe('DirCache: the folders FTP and SFTP have made', () => {
  it('makes each missing folder once, parents first, never the container, when many uploads ask at once', async () => {
    const made: string[] = [];
    const cache = new DirCache();
    const make = async (dir: string, parents: () => Promise<void>) => {
      await parents();
      await new Promise((r) => setTimeout(r, 1));
      made.push(dir);
    };
    await Promise.all([
      cache.ensure('/srv/c/a/b/c1', '/srv/c', make),
      cache.ensure('/srv/c/a/b/c2', '/srv/c', make),
      cache.ensure('/srv/c/a/b', '/srv/c', make),
      cache.ensure('/srv/c', '/srv/c', make),
      cache.ensure('/elsewhere', '/srv/c', make),
    ]);
    expect(made.slice(0, 2)).toEqual(['/srv/c/a', '/srv/c/a/b']);
    expect(made.sort()).toEqual(['/srv/c/a', '/srv/c/a/b', '/srv/c/a/b/c1', '/srv/c/a/b/c2']);
    await cache.ensure('/srv/c/a/b/c1', '/srv/c', make);
    expect(made.length).toBe(4);
  });

  it('forgets a failed folder (asked again next time) and a pruned subtree', async () => {
    const cache = new DirCache();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('refused'));
    };
    await expect(cache.ensure('/r/x', '/r', failing)).rejects.toThrow('refused');
    await expect(cache.ensure('/r/x', '/r', failing)).rejects.toThrow('refused');
    expect(calls).toBe(2);
    const ok = () => {
      calls++;
      return Promise.resolve();
    };
    await cache.ensure('/r/y/z', '/r', async (d, parents) => {
      await parents();
      await ok();
    });
    const before = calls;
    const removed: string[] = [];
    await cache.prune('/r/y/z', '/r', (d) => {
      removed.push(d);
      return Promise.resolve(true);
    });
    expect(removed).toEqual(['/r/y/z', '/r/y']);
    await cache.ensure('/r/y/z', '/r', async (d, parents) => {
      await parents();
      await ok();
    });
    expect(calls - before).toBe(2);
  });

  it('stops pruning at the first folder that stays (not empty), and never removes the root', async () => {
    const removed: string[] = [];
    await new DirCache().prune('/r/a/b/c', '/r', (d) => {
      removed.push(d);
      return Promise.resolve(d !== '/r/a/b');
    });
    expect(removed).toEqual(['/r/a/b/c', '/r/a/b']);
    const none: string[] = [];
    await new DirCache().prune('/r', '/r', (d) => Promise.resolve(none.push(d) > 0));
    expect(none).toEqual([]);
  });

  it('isBelow: strictly below, with "/" as the top', () => {
    expect(isBelow('/a/b', '/a')).toBe(true);
    expect(isBelow('/ab', '/a')).toBe(false);
    expect(isBelow('/a', '/a')).toBe(false);
    expect(isBelow('/a', '/')).toBe(true);
  });
});

describe('RemoteRoots', () => {
  it('resolves the container once, puts the prefix below it, and asks again after a failure', async () => {
    let asked = 0;
    const roots = new RemoteRoots<string>('/photos//2026/', (conn) => {
      asked++;
      return asked === 1 ? Promise.reject(new Error('no answer')) : Promise.resolve(`/home/${conn}`);
    });
    await expect(roots.on('ann')).rejects.toThrow('no answer');
    expect(await roots.on('ann')).toEqual({ container: '/home/ann', root: '/home/ann/photos/2026' });
    expect(await roots.on('bob')).toEqual({ container: '/home/ann', root: '/home/ann/photos/2026' });
    expect(asked).toBe(2);
  });
});
