import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChangeAggregator, type ChangeBatch } from '../../src/main/engine/watch/aggregator';
import { isNetworkMount } from '../../src/main/engine/watch/backends';

afterEach(() => {
  vi.useRealTimers();
});

describe('change aggregator', () => {
  const opts = { settleMs: 100, maxDelayMs: 1000, maxPaths: 5 };

  it('hands over one batch once events have settled, with folder-relative paths', () => {
    vi.useFakeTimers();
    const batches: ChangeBatch[] = [];
    const agg = new ChangeAggregator(
      'w',
      '/root/w',
      (b) => batches.push(b),
      opts,
      () => Date.now(),
    );
    agg.add(['/root/w/a.txt']);
    vi.advanceTimersByTime(60);
    agg.add(['/root/w/sub/b.txt', '/root/w/a.txt']);
    vi.advanceTimersByTime(99);
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(batches).toHaveLength(1);
    expect([...(batches[0]?.paths ?? [])].sort()).toEqual(['a.txt', 'sub/b.txt']);
    expect(batches[0]?.full).toBe(false);
  });

  it('does not wait forever while events keep coming: at most maxDelayMs after the first', () => {
    vi.useFakeTimers();
    const batches: ChangeBatch[] = [];
    const agg = new ChangeAggregator(
      'w',
      '/r',
      (b) => batches.push(b),
      opts,
      () => Date.now(),
    );
    for (let t = 0; t < 1500; t += 50) {
      agg.add([`/r/f${t}`]);
      vi.advanceTimersByTime(50);
    }
    expect(batches.length).toBeGreaterThanOrEqual(1);
  });

  it('asks for a full rescan instead of tracking too many paths', () => {
    vi.useFakeTimers();
    const batches: ChangeBatch[] = [];
    const agg = new ChangeAggregator(
      'w',
      '/r',
      (b) => batches.push(b),
      opts,
      () => Date.now(),
    );
    agg.add(Array.from({ length: 20 }, (_, i) => `/r/f${i}`));
    vi.advanceTimersByTime(100);
    expect(batches[0]?.full).toBe(true);
    expect(batches[0]?.paths.size).toBe(5);
  });

  it("ignores Ferry's own temporary files and paths outside the folder", () => {
    vi.useFakeTimers();
    const batches: ChangeBatch[] = [];
    const agg = new ChangeAggregator(
      'w',
      '/r',
      (b) => batches.push(b),
      opts,
      () => Date.now(),
    );
    agg.add(['/r/d/.ferrytmp-0123456789abcdef', '/elsewhere/x']);
    vi.advanceTimersByTime(500);
    expect(batches).toEqual([]);
  });
});

describe('network mount detection', () => {
  const mounts = [
    { point: '/', type: 'ext4' },
    { point: '/mnt/nas', type: 'nfs4' },
    { point: '/mnt/nas/local-cache', type: 'ext4' },
    { point: '/home/me/remote dir', type: 'fuse.sshfs' },
  ];
  it('uses the deepest mount that holds the path', () => {
    expect(isNetworkMount('/mnt/nas/photos', mounts)).toBe(true);
    expect(isNetworkMount('/mnt/nas/local-cache/x', mounts)).toBe(false);
    expect(isNetworkMount('/mnt/nasty', mounts)).toBe(false);
    expect(isNetworkMount('/home/me/remote dir/a', mounts)).toBe(true);
    expect(isNetworkMount('/home/me', mounts)).toBe(false);
  });
});
