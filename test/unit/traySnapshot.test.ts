import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTrayFeed } from '../../src/main/desktop/trayFeed';
import { trayModel, type TraySnapshot } from '../../src/main/desktop/trayModel';
import { SHARE_LINK_TYPES, TraySnapshotSource, recentFiles, type TrayApi } from '../../src/main/desktop/traySnapshot';
import type { Timers } from '../../src/main/desktop/timers';
import { EventBus } from '../../src/main/engine/events';
import { DropboxDestination } from '../../src/main/engine/providers/dropbox/dropboxProvider';
import { FtpDestination } from '../../src/main/engine/providers/ftp/ftpProvider';
import { GcsDestination } from '../../src/main/engine/providers/gcs/gcsProvider';
import { HttpUploadDestination } from '../../src/main/engine/providers/http/httpProvider';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { S3Destination } from '../../src/main/engine/providers/s3/s3Provider';
import { SftpDestination } from '../../src/main/engine/providers/sftp/sftpProvider';
import { WebdavDestination } from '../../src/main/engine/providers/webdav/webdavProvider';
import { configSchema, destinationSchema, type FerryConfig } from '../../src/shared/config';
import type { HistoryEntry, StatusResult } from '../../src/shared/contract';
import type { TransferRef } from '../../src/shared/events';
import { IDLE_PROGRESS } from '../../src/shared/progress';

const config: FerryConfig = configSchema.parse({
  folders: [
    { id: 'work', path: '/home/ann/Work' },
    { id: 'old', path: '/home/ann/Old', paused: true },
  ],
  destinations: [
    { id: 'nas', type: 'sftp', host: 'nas.local', user: 'ann' },
    { id: 'bucket', type: 's3', bucket: 'b' },
    { id: 'spare', type: 'local', path: '/mnt/spare' },
  ],
  rules: [{ name: 'all', from: ['work', 'old'], to: ['nas', 'bucket'] }],
});

function status(patch: Partial<StatusResult> = {}): StatusResult {
  return {
    state: 'syncing',
    bandwidth: { up: 0, down: 0, until: null, scheduled: false },
    hold: null,
    summary: '',
    level: 'busy',
    needs: [],
    folders: [
      { folder: 'work', state: 'syncing', files: 10, watcher: 'native', lastScanAt: 1, error: null, used: true },
    ],
    destinations: [
      { id: 'nas', ok: false, error: 'connect ECONNREFUSED', used: true },
      { id: 'bucket', ok: true, error: null, used: true },
      // no rule ships there: never connected, and that is no trouble
      { id: 'spare', ok: false, error: null, used: false },
    ],
    queue: { pending: 4, active: 1, failed: 0, bytesPending: 1000 },
    belowQuorum: { count: 0, sample: [] },
    uncaught: 0,
    heldDeletions: [],
    leftBehind: [],
    // The one progress model's figures: the tray shows these, as the window does.
    progress: { ...IDLE_PROGRESS, bytesLeft: 1000, filesLeft: 5 },
    ...patch,
  };
}

let nextId = 1;
function entry(patch: Partial<HistoryEntry>): HistoryEntry {
  return {
    id: nextId++,
    at: 1_700_000_000_000,
    kind: 'upload',
    rule: 'all',
    destination: 'bucket',
    folder: 'work',
    path: 'a.txt',
    remotePath: 'a.txt',
    bytes: 10,
    durationMs: 1,
    outcome: 'done',
    error: null,
    tags: [],
    ...patch,
  };
}

function fakeApi(opts: { status?: () => StatusResult; history?: () => HistoryEntry[]; config?: () => FerryConfig }) {
  const calls = { status: 0, history: 0, config: 0 };
  const historyInputs: unknown[] = [];
  const api: TrayApi = {
    'status:get': async () => {
      calls.status++;
      return (opts.status ?? status)();
    },
    'history:query': async (q) => {
      calls.history++;
      historyInputs.push(q);
      const items = opts.history?.() ?? [];
      return { total: items.length, items };
    },
    'config:get': async () => {
      calls.config++;
      return (opts.config ?? (() => config))();
    },
  };
  return { api, calls, historyInputs };
}

function ref(jobId: number, destination = 'bucket'): TransferRef {
  return {
    jobId,
    kind: 'upload',
    rule: 'all',
    destination,
    folder: 'work',
    path: `f${jobId}`,
    remotePath: `f${jobId}`,
    size: 500,
  };
}

const env = (now = () => 0) => ({
  offline: () => false,
  theme: () => 'dark' as const,
  platform: 'darwin' as const,
  exists: async (p: string) => !p.endsWith('gone.txt'),
  now,
});

describe('tray snapshot from the contract', () => {
  it('reads status, config and the recent done files', async () => {
    const { api, historyInputs } = fakeApi({
      history: () => [entry({ path: 'docs/q3.pdf', remotePath: 'backup/docs/q3.pdf' })],
    });
    const snap = await new TraySnapshotSource(api, env()).snapshot();
    expect(historyInputs).toEqual([{ offset: 0, limit: 50, outcome: 'done' }]);
    expect(snap).toMatchObject({
      service: 'syncing',
      queue: { pending: 4, active: 1, failed: 0, bytesPending: 1000 },
      offline: false,
      theme: 'dark',
      platform: 'darwin',
      throughput: 0,
      progress: { doneBytes: 0, leftBytes: 1000 },
    });
    expect(snap.folders).toEqual([
      { id: 'work', state: 'syncing', paused: false, pausedInConfig: false, error: null },
      // paused in the config: never scanned, paused for good
      { id: 'old', state: null, paused: true, pausedInConfig: true, error: null },
    ]);
    expect(snap.destinations).toEqual([
      { id: 'nas', type: 'sftp', ok: false, error: 'connect ECONNREFUSED', shareLinks: false },
      { id: 'bucket', type: 's3', ok: true, error: null, shareLinks: true },
      { id: 'spare', type: 'local', ok: true, error: null, shareLinks: true },
    ]);
    expect(snap.recent).toEqual([
      {
        folder: 'work',
        path: 'docs/q3.pdf',
        localPath: '/home/ann/Work/docs/q3.pdf',
        localExists: true,
        destination: 'bucket',
        remotePath: 'backup/docs/q3.pdf',
        at: 1_700_000_000_000,
      },
    ]);
  });

  it('a folder whose path is not there turns the icon to error, even one no rule reads yet', async () => {
    const missing = {
      folder: 'old',
      state: 'error' as const,
      files: 0,
      watcher: null,
      lastScanAt: null,
      error: '/home/ann/Old does not exist or is not a folder',
      used: false,
    };
    const healthy = status({ destinations: [{ id: 'bucket', ok: true, error: null, used: true }] });
    const { api } = fakeApi({ status: () => ({ ...healthy, state: 'idle', folders: [...healthy.folders, missing] }) });
    const snap = await new TraySnapshotSource(api, env()).snapshot();
    expect(snap.folders[1]).toMatchObject({
      id: 'old',
      state: 'error',
      error: '/home/ann/Old does not exist or is not a folder',
    });
    expect(trayModel(snap).state).toBe('error');
  });

  it('a folder the engine paused reads as paused', async () => {
    const { api } = fakeApi({
      status: () =>
        status({
          state: 'paused',
          folders: [
            { folder: 'work', state: 'paused', files: 1, watcher: null, lastScanAt: null, error: null, used: true },
          ],
        }),
    });
    const snap = await new TraySnapshotSource(api, env()).snapshot();
    expect(snap.folders[0]).toMatchObject({ id: 'work', paused: true, pausedInConfig: false });
    expect(snap.service).toBe('paused');
  });

  it('reads the history again after a transfer is done, at most every few seconds while busy, and at once on a new config', async () => {
    let now = 0;
    let cfg = config;
    let queue = { pending: 4, active: 1, failed: 0, bytesPending: 1000 };
    const { api, calls } = fakeApi({ config: () => cfg, status: () => status({ queue }) });
    const source = new TraySnapshotSource(
      api,
      env(() => now),
    );
    await source.snapshot();
    await source.snapshot();
    expect(calls.history).toBe(1);
    source.observe('transfer:done', { ...ref(1), bytes: 500, durationMs: 1, outcome: 'done', note: null });
    now = 1000;
    await source.snapshot();
    expect(calls.history).toBe(1); // read 1 s ago: soon
    now = 3500;
    await source.snapshot();
    expect(calls.history).toBe(2);
    await source.snapshot();
    expect(calls.history).toBe(2);
    cfg = { ...config };
    await source.snapshot();
    expect(calls.history).toBe(3);
    // The last file of a batch: the queue is empty, the list is read at once.
    source.observe('transfer:done', { ...ref(2), bytes: 500, durationMs: 1, outcome: 'done', note: null });
    queue = { pending: 0, active: 0, failed: 0, bytesPending: 0 };
    now += 10;
    await source.snapshot();
    expect(calls.history).toBe(4);
  });
});

describe('recent files', () => {
  it('keeps shipped copies of configured folders, once per file and destination, newest first', async () => {
    const files = await recentFiles(
      [
        entry({ path: 'a.txt' }),
        entry({ path: 'a.txt' }), // the same file shipped again
        entry({ path: 'a.txt', destination: 'nas' }),
        entry({ path: 'del.txt', kind: 'delete-remote' }),
        entry({ path: 'moved.txt', kind: 'move-remote' }),
        entry({ path: 'x.txt', folder: 'removed-folder' }),
        entry({ path: 'local.txt', kind: 'delete-local', destination: null, remotePath: null }),
        entry({ path: 'failed.txt', outcome: 'failed' }),
        entry({ path: 'gone.txt' }),
      ],
      config.folders,
      async (p) => !p.endsWith('gone.txt'),
    );
    expect(files.map((f) => [f.path, f.destination, f.localExists])).toEqual([
      ['a.txt', 'bucket', true],
      ['a.txt', 'nas', true],
      ['moved.txt', 'bucket', true],
      ['gone.txt', 'bucket', false],
    ]);
  });

  it('stops at the menu’s length', async () => {
    const many = Array.from({ length: 30 }, (_, i) => entry({ path: `f${i}.txt` }));
    expect(await recentFiles(many, config.folders, async () => true)).toHaveLength(8);
  });
});

describe('share link capability', () => {
  it('names exactly the destination types whose provider makes share links', () => {
    const providers: Record<string, { prototype: object }> = {
      local: LocalDestination,
      s3: S3Destination,
      gcs: GcsDestination,
      dropbox: DropboxDestination,
      sftp: SftpDestination,
      ftp: FtpDestination,
      webdav: WebdavDestination,
      http: HttpUploadDestination,
    };
    const types = destinationSchema.options.map((o) => o.shape.type.value);
    expect(Object.keys(providers).sort()).toEqual([...types].sort());
    for (const [type, cls] of Object.entries(providers))
      expect([type, typeof (cls.prototype as { shareLink?: unknown }).shareLink === 'function']).toEqual([
        type,
        SHARE_LINK_TYPES.has(type),
      ]);
  });
});

describe('tray feed', () => {
  const fakeTimers: Timers = {
    set: (fn, ms) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    now: () => Date.now(),
  };

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function feedWith(snapshot: () => Promise<TraySnapshot>) {
    const events = new EventBus();
    const seen: TraySnapshot[] = [];
    const observed: string[] = [];
    const logged: string[] = [];
    const feed = startTrayFeed({
      source: { observe: (name) => observed.push(name), snapshot },
      events,
      update: (s) => seen.push(s),
      timers: fakeTimers,
      log: (m) => logged.push(m),
    });
    return { events, seen, observed, logged, feed };
  }

  const snap = { service: 'idle' } as TraySnapshot;

  it('refreshes at once, then at most twice a second however many events arrive', async () => {
    const { events, seen, feed } = feedWith(async () => snap);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toHaveLength(1);
    for (let i = 0; i < 300; i++) {
      events.emit('queue:changed', { pending: i, active: 1, failed: 0, bytesPending: 0 });
      await vi.advanceTimersByTimeAsync(10); // 3 s of events
    }
    await vi.advanceTimersByTimeAsync(500);
    expect(seen.length).toBeGreaterThanOrEqual(6);
    expect(seen.length).toBeLessThanOrEqual(8);
    feed.stop();
  });

  it('feeds every event to the source but refreshes only on those that change the tray', async () => {
    const { events, seen, observed, feed } = feedWith(async () => snap);
    await vi.advanceTimersByTimeAsync(1000);
    const before = seen.length;
    events.emit('scan:progress', { folder: 'work', seen: 1, hashed: 0, toHash: 1, hashedBytes: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen).toHaveLength(before);
    expect(observed).toContain('scan:progress');
    events.emit('service:status', { state: 'paused' });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toHaveLength(before + 1);
    feed.stop();
  });

  it('never runs two snapshots at once, and catches up after a slow one', async () => {
    let running = 0;
    let most = 0;
    const { events, seen, feed } = feedWith(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2000));
      running--;
      return snap;
    });
    await vi.advanceTimersByTimeAsync(100);
    events.emit('service:status', { state: 'syncing' });
    events.emit('service:status', { state: 'idle' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(most).toBe(1);
    expect(seen).toHaveLength(2);
    feed.stop();
  });

  it('polls (for the network and the theme), logs a failed snapshot and keeps going, stops when told', async () => {
    let fail = true;
    const { seen, logged, feed } = feedWith(async () => {
      if (fail) throw new Error('engine re-applying its config');
      return snap;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(logged).toEqual(['ferry: tray: engine re-applying its config']);
    fail = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen).toHaveLength(1);
    feed.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(seen).toHaveLength(1);
  });
});
