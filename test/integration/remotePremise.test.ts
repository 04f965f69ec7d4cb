import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsDestination } from '../../src/main/engine/providers/gcs/gcsProvider';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { S3Destination } from '../../src/main/engine/providers/s3/s3Provider';
import type { FullDestination, UploadSource } from '../../src/main/engine/providers/types';
import { EventBus } from '../../src/main/engine/events';
import { Dispatcher } from '../../src/main/engine/rules/dispatch';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import type { Job } from '../../src/main/engine/store/jobStore';
import { Store } from '../../src/main/engine/store/store';
import { executeJob } from '../../src/main/engine/transfer/executor';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { startDropboxEmulator, type DropboxEmulator } from '../servers/dropboxEmulator';
import { emulatedDropbox } from '../servers/dropboxHarness';
import { startGcsEmulator, type GcsEmulator } from '../servers/gcsEmulator';
import { fakeServiceAccount, MemoryResumeStore } from '../servers/gcsFixtures';
import { startS3rver, S3RVER_KEY, type S3rver } from '../servers/s3rver';

/**
 * Jobs that move or delete a file at the destination are planned on what the listing (or Ferry's record)
 * said was there. If another writer replaces that file, or puts one where a move goes, before the job
 * runs, their file must stay as they left it: a two-way move would carry it under the new name while the
 * base vouched for content this computer never had; a deletion would simply lose it. The destination
 * instance that runs the job is a fresh one (as after a config reload), so it knows only what it is
 * told: the version the plan saw or Ferry recorded.
 */
const workers = new FileWorkers(1);
let root: string;
let s3: S3rver;
let gcs: GcsEmulator;
let dbx: DropboxEmulator;
let account: ReturnType<typeof fakeServiceAccount>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ferry-move-premise-'));
  account = fakeServiceAccount(root);
  [s3, gcs, dbx] = await Promise.all([
    startS3rver(['premise']),
    startGcsEmulator({
      buckets: ['premise'],
      accounts: [{ email: account.email, keyId: account.keyId, publicKeyPem: account.publicKeyPem, role: 'writer' }],
    }),
    startDropboxEmulator(),
  ]);
});
afterAll(async () => {
  await workers.close();
  await Promise.all([s3.stop(), gcs.close(), dbx.close()]);
  rmSync(root, { recursive: true, force: true });
});

type Hub = {
  name: string;
  make: (prefix: string) => FullDestination;
  /** Another computer's write (Ferry's Dropbox instances do not overwrite what they did not ship). */
  writeAsOther?: (prefix: string, path: string, content: string) => void;
  /** Gives the file a new version token without changing its bytes, as a remount or a server move does. */
  retag?: (prefix: string, path: string) => void;
};
const HUBS: Hub[] = [
  {
    name: 'a local folder (versions of size, time and inode)',
    make: (prefix) => {
      mkdirSync(join(root, 'local', prefix), { recursive: true });
      return new LocalDestination({ id: 'hub', path: join(root, 'local', prefix) }, workers);
    },
    retag: (prefix, path) => {
      // The same bytes under a new inode (and time): what a volume remounted by another driver shows.
      const file = join(root, 'local', prefix, path);
      const bytes = readFileSync(file);
      writeFileSync(`${file}.new`, bytes);
      renameSync(`${file}.new`, file);
    },
  },
  {
    name: 'GCS (a rewrite conditional on the source generation)',
    make: (prefix) =>
      new GcsDestination(
        { id: 'hub', type: 'gcs', bucket: 'premise', endpoint: gcs.url, key_file: 'file:key', prefix },
        { secret: () => readFileSync(account.keyFile, 'utf8'), resume: new MemoryResumeStore() },
      ),
  },
  {
    name: 'Dropbox (move_v2)',
    make: (prefix) => emulatedDropbox(dbx, { id: 'hub', prefix }).dest,
    writeAsOther: (prefix, path, content) => dbx.putFile(`/Ferry/${prefix}/${path}`, Buffer.from(content)),
  },
  {
    name: 'S3 (copy, then delete)',
    make: (prefix) =>
      new S3Destination(
        {
          id: 'hub',
          type: 's3',
          bucket: 'premise',
          endpoint: s3.url,
          prefix,
          access_key_id: 'env:KEY',
          secret_access_key: 'env:KEY',
        },
        { workers, secret: () => S3RVER_KEY, resume: { load: () => undefined, save() {}, clear() {}, all: () => [] } },
      ),
  },
];

const folder = (path: string) => ({ id: 'work', path, ignore: [], paused: false, watch: 'auto' as const });
const signal = () => new AbortController().signal;

/** A local file and what uploading it needs. */
function sourceOf(abs: string, content: string): UploadSource {
  writeFileSync(abs, content);
  return {
    absPath: abs,
    size: Buffer.byteLength(content),
    mtimeMs: statSync(abs).mtimeMs,
    hashes: new MultiHash(['md5', 'dropbox']).update(Buffer.from(content)).digest(),
  };
}

async function contentAt(dest: FullDestination, path: string, dir: string): Promise<string | undefined> {
  if (!(await dest.stat(path))) return undefined;
  const out = join(dir, `read-${Math.random().toString(36).slice(2)}`);
  await dest.download(path, out, { signal: signal() });
  return readFileSync(out, 'utf8');
}

describe.each(HUBS)('a two-way move or deletion on $name', (hub) => {
  /**
   * The base and the destination hold `a.txt` as the plan saw it; locally it was renamed to `b.txt`;
   * then another computer writes `content` at `path` (if given). Runs the move job on a fresh
   * destination instance and returns it with the job's result.
   */
  async function renameAfter(path: string | undefined, content = '', kind: 'move' | 'delete' = 'move') {
    const dir = mkdtempSync(join(root, 'case-'));
    const prefix = dir.slice(dir.lastIndexOf('/') + 1);
    const work = join(dir, 'work');
    mkdirSync(work);
    const store = Store.open(join(dir, 'state'));
    const planner = hub.make(prefix);
    const planned = await planner.upload('a.txt', sourceOf(join(dir, 'base'), 'base version'), { signal: signal() });
    await planner.close();
    const sha256 = new MultiHash().update(Buffer.from('base version')).digest().sha256;
    store.base.put('both', { path: 'a.txt', sha256, size: 12, remoteVersion: planned.version ?? null });
    if (kind === 'move') writeFileSync(join(work, 'b.txt'), 'base version');
    if (path !== undefined && hub.writeAsOther) hub.writeAsOther(prefix, path, content);
    else if (path !== undefined) {
      const other = hub.make(prefix);
      await other.upload(path, sourceOf(join(dir, 'theirs'), content), { signal: signal() });
      await other.close();
    }

    const dest = hub.make(prefix);
    const common = {
      id: 1,
      key: 'k',
      phase: 0,
      state: 'pending' as const,
      rule: 'both',
      destination: 'hub',
      folder: 'work',
      attempts: 0,
      notBefore: 0,
      lastError: null,
      createdAt: 0,
    };
    const job: Job =
      kind === 'move'
        ? {
            ...common,
            kind: 'move-remote',
            path: 'b.txt',
            remotePath: 'b.txt',
            fromRemotePath: 'a.txt',
            size: 12,
            sha256,
            reason: 'renamed locally',
            detail: { fromVersion: planned.version ?? null },
          }
        : {
            ...common,
            kind: 'delete-remote',
            path: 'a.txt',
            remotePath: 'a.txt',
            size: 0,
            reason: 'deleted here',
            detail: { remoteVersion: planned.version ?? null },
          };
    const deps = {
      store,
      destinations: new Map([['hub', dest]]),
      folders: new Map([['work', folder(work)]]),
      dispatcher: new Dispatcher([
        compileRule({
          name: 'both',
          from: ['work'],
          to: ['hub'],
          match: ['**'],
          exclude: [],
          stop: false,
          path: '{path}',
          mode: 'two-way',
          tags: [],
          hooks: [],
          remote_exclude: [],
        }),
      ]),
      workers,
      stagingDir: store.stagingDir,
      rehash: async () => undefined,
      twoWay: new Set(['both']),
    };
    const result = await executeJob(job, { signal: signal() }, deps).catch((e: unknown) => e);
    return { dir, dest, store, result };
  }

  it("leaves another writer's newer version at the old name where it is, and moves nothing", async () => {
    const { dir, dest, store, result } = await renameAfter('a.txt', 'their edit, made after the plan');
    try {
      expect(result).toMatchObject({ outcome: 'skipped' });
      expect(await contentAt(dest, 'a.txt', dir)).toBe('their edit, made after the plan');
      expect(await contentAt(dest, 'b.txt', dir)).toBeUndefined();
      // The base still describes the old name as this computer last agreed on it.
      expect(store.base.forRule('both').get('a.txt')?.sha256).toBeDefined();
      expect(store.base.forRule('both').get('b.txt')).toBeUndefined();
    } finally {
      await dest.close();
      store.close();
    }
  });

  it('does not replace a file another writer put at the new name since the plan', async () => {
    const { dir, dest, store, result } = await renameAfter('b.txt', 'their b, made after the plan');
    try {
      expect(result).toMatchObject({ outcome: 'skipped' });
      expect(await contentAt(dest, 'b.txt', dir)).toBe('their b, made after the plan');
      expect(await contentAt(dest, 'a.txt', dir)).toBe('base version');
    } finally {
      await dest.close();
      store.close();
    }
  });

  it("a deletion leaves another writer's newer version where it is", async () => {
    const { dir, dest, store, result } = await renameAfter('a.txt', 'their edit, made after the plan', 'delete');
    try {
      expect(result).toMatchObject({ outcome: 'skipped' });
      expect(await contentAt(dest, 'a.txt', dir)).toBe('their edit, made after the plan');
    } finally {
      await dest.close();
      store.close();
    }
  });

  it('moves the file when nothing changed since the plan', async () => {
    const { dir, dest, store, result } = await renameAfter(undefined);
    try {
      expect(result).toMatchObject({ outcome: 'done' });
      expect(await contentAt(dest, 'b.txt', dir)).toBe('base version');
      expect(await contentAt(dest, 'a.txt', dir)).toBeUndefined();
      expect(store.base.forRule('both').get('b.txt')?.remoteVersion).toBe((await dest.stat('b.txt'))?.version);
    } finally {
      await dest.close();
      store.close();
    }
  });
});

describe.each(HUBS)('a mirror deletion or rename on $name', (hub) => {
  /**
   * Ferry shipped `a.txt` (its record holds the version it wrote); the local file is gone; then another
   * computer writes `content` over it at the destination (if given). Runs the deletion on a fresh
   * destination instance.
   */
  async function deleteAfter(content: string | undefined | 'retag', renamedTo?: string) {
    const dir = mkdtempSync(join(root, 'mirror-'));
    const prefix = dir.slice(dir.lastIndexOf('/') + 1);
    const work = join(dir, 'work');
    mkdirSync(work);
    const store = Store.open(join(dir, 'state'));
    const shipper = hub.make(prefix);
    const shipped = await shipper.upload('a.txt', sourceOf(join(dir, 'base'), 'shipped version'), { signal: signal() });
    await shipper.close();
    const sha256 = new MultiHash().update(Buffer.from('shipped version')).digest().sha256;
    store.shipped.put({
      destination: 'hub',
      remotePath: 'a.txt',
      rule: 'mirror',
      folder: 'work',
      path: 'a.txt',
      size: 15,
      sha256,
      encoding: 'identity',
      remoteVersion: shipped.version ?? null,
      shippedAt: 0,
    });
    if (content === 'retag') hub.retag?.(prefix, 'a.txt');
    else if (content !== undefined && hub.writeAsOther) hub.writeAsOther(prefix, 'a.txt', content);
    else if (content !== undefined) {
      const other = hub.make(prefix);
      await other.upload('a.txt', sourceOf(join(dir, 'theirs'), content), { signal: signal() });
      await other.close();
    }
    const dest = hub.make(prefix);
    if (renamedTo !== undefined) {
      writeFileSync(join(work, renamedTo), 'shipped version');
      await scanFolder(folder(work), [...dest.features.hashes], {
        index: store.index,
        workers,
        events: new EventBus(),
      });
    }
    const common = {
      id: 1,
      key: 'k',
      phase: 0,
      state: 'pending' as const,
      rule: 'mirror',
      destination: 'hub',
      folder: 'work',
      size: 15,
      sha256,
      attempts: 0,
      notBefore: 0,
      lastError: null,
      createdAt: 0,
    };
    const job: Job =
      renamedTo === undefined
        ? { ...common, kind: 'delete-remote', path: 'a.txt', remotePath: 'a.txt', reason: 'deleted locally' }
        : {
            ...common,
            kind: 'move-remote',
            path: renamedTo,
            remotePath: renamedTo,
            fromRemotePath: 'a.txt',
            reason: 'renamed locally',
          };
    const deps = {
      store,
      destinations: new Map([['hub', dest]]),
      folders: new Map([['work', folder(work)]]),
      dispatcher: new Dispatcher([
        compileRule({
          name: 'mirror',
          from: ['work'],
          to: ['hub'],
          match: ['**'],
          exclude: [],
          stop: false,
          path: '{path}',
          mode: 'mirror',
          tags: [],
          hooks: [],
          remote_exclude: [],
        }),
      ]),
      workers,
      stagingDir: store.stagingDir,
      rehash: async () => undefined,
      twoWay: new Set<string>(),
    };
    const result = await executeJob(job, { signal: signal() }, deps).catch((e: unknown) => e);
    return { dir, dest, store, result };
  }

  it('keeps a copy another writer replaced since Ferry shipped it, and stops claiming it', async () => {
    const { dir, dest, store, result } = await deleteAfter('their edit, made at the destination');
    try {
      expect(result).toMatchObject({ outcome: 'skipped' });
      expect(await contentAt(dest, 'a.txt', dir)).toBe('their edit, made at the destination');
      // Not Ferry's any more: no later pass tries to delete it again.
      expect(store.shipped.get('hub', 'a.txt')).toBeUndefined();
    } finally {
      await dest.close();
      store.close();
    }
  });

  it("a rename sends the file's bytes instead of moving a copy another writer replaced, and leaves theirs", async () => {
    const { dir, dest, store, result } = await deleteAfter('their edit, made at the destination', 'b.txt');
    try {
      expect(result).toMatchObject({ outcome: 'done' });
      expect(await contentAt(dest, 'a.txt', dir)).toBe('their edit, made at the destination');
      expect(await contentAt(dest, 'b.txt', dir)).toBe('shipped version');
      expect(store.shipped.get('hub', 'a.txt')).toBeUndefined();
      expect(store.shipped.get('hub', 'b.txt')?.remoteVersion).toBe((await dest.stat('b.txt'))?.version);
    } finally {
      await dest.close();
      store.close();
    }
  });

  it('a rename moves the copy Ferry shipped when nobody changed it', async () => {
    const { dir, dest, store, result } = await deleteAfter(undefined, 'b.txt');
    try {
      expect(result).toMatchObject({ outcome: 'done' });
      expect(await contentAt(dest, 'a.txt', dir)).toBeUndefined();
      expect(await contentAt(dest, 'b.txt', dir)).toBe('shipped version');
    } finally {
      await dest.close();
      store.close();
    }
  });

  it.runIf(hub.retag)('deletes the copy Ferry shipped whose version changed but whose bytes did not', async () => {
    const { dir, dest, store, result } = await deleteAfter('retag');
    try {
      expect(result).toMatchObject({ outcome: 'done' });
      expect(await contentAt(dest, 'a.txt', dir)).toBeUndefined();
    } finally {
      await dest.close();
      store.close();
    }
  });

  it.runIf(hub.retag)('moves the copy Ferry shipped whose version changed but whose bytes did not', async () => {
    const { dir, dest, store, result } = await deleteAfter('retag', 'b.txt');
    try {
      expect(result).toMatchObject({ outcome: 'done', note: expect.stringMatching(/moved on the destination/) });
      expect(await contentAt(dest, 'a.txt', dir)).toBeUndefined();
      expect(await contentAt(dest, 'b.txt', dir)).toBe('shipped version');
    } finally {
      await dest.close();
      store.close();
    }
  });

  it('deletes the copy Ferry shipped when nobody changed it', async () => {
    const { dir, dest, store, result } = await deleteAfter(undefined);
    try {
      expect(result).toMatchObject({ outcome: 'done' });
      expect(await contentAt(dest, 'a.txt', dir)).toBeUndefined();
      expect(store.shipped.get('hub', 'a.txt')).toBeUndefined();
    } finally {
      await dest.close();
      store.close();
    }
  });
});
