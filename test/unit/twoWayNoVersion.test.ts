import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { MemoryDestination } from '../../src/main/engine/providers/memory/memoryProvider';
import type { ProviderFeatures, RemoteEntry, TransferOpts, UploadSource } from '../../src/main/engine/providers/types';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { openDb } from '../../src/main/engine/store/db';
import type { Job } from '../../src/main/engine/store/jobStore';
import { Store } from '../../src/main/engine/store/store';
import { executeTwoWay } from '../../src/main/engine/transfer/twoWayExec';

/**
 * A destination that reports neither a version token nor a hash, only sizes (a WebDAV server with no
 * getetag and no getlastmodified): the weakest versions there are. The engine's rule: no version is the
 * weakest version, never "a new file".
 */
class Unversioned extends MemoryDestination {
  override readonly features: ProviderFeatures = { ...new MemoryDestination().features, versionPerWrite: false };
  private bare(e: RemoteEntry): RemoteEntry {
    return { path: e.path, size: e.size };
  }
  override async stat(path: string): Promise<RemoteEntry | undefined> {
    const e = await super.stat(path);
    return e && this.bare(e);
  }
  override async upload(path: string, source: UploadSource, opts: TransferOpts): Promise<RemoteEntry> {
    return this.bare(await super.upload(path, source, opts));
  }
  override async download(path: string, to: string, opts: TransferOpts): Promise<RemoteEntry> {
    return this.bare(await super.download(path, to, opts));
  }
}

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-noversion-'));
  store = new Store(openDb(join(dir, 'state', 'state.db')), join(dir, 'staging'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const signal = () => new AbortController().signal;
const sha = (s: string) => new MultiHash().update(Buffer.from(s)).digest().sha256;

function file(name: string, content: string): UploadSource {
  const abs = join(dir, name);
  writeFileSync(abs, content);
  return {
    absPath: abs,
    size: content.length,
    mtimeMs: statSync(abs).mtimeMs,
    hashes: new MultiHash().update(Buffer.from(content)).digest(),
  };
}

function uploadJob(path: string, content: string, remoteSize: number | null): Job {
  return {
    id: 1,
    key: `k-${path}`,
    phase: 1,
    state: 'pending',
    attempts: 0,
    notBefore: 0,
    lastError: null,
    createdAt: 0,
    kind: 'upload',
    rule: 'both',
    folder: 'work',
    destination: 'hub',
    path,
    remotePath: path,
    size: content.length,
    sha256: sha(content),
    reason: 'changed locally',
    // What the plan saw there: a file of this size, with no version token.
    detail: { remoteVersion: null, remoteSize },
  } as Job;
}

it('an upload over a file listed without a version reads it back first: a same-size edit made there is kept, as a conflict', async () => {
  const dest = new Unversioned('hub');
  await dest.upload('notes.txt', file('theirs', 'else v0'), { signal: signal() });
  store.base.put('both', { path: 'notes.txt', sha256: sha('base v0'), size: 7, remoteVersion: null });
  writeFileSync(join(dir, 'notes.txt'), 'mine v1');
  let uploaded = false;
  const err = await executeTwoWay(
    uploadJob('notes.txt', 'mine v1', 7),
    { signal: signal() },
    {
      store,
      destination: dest,
      root: dir,
      rehash: () => Promise.resolve(undefined),
      upload: async () => {
        uploaded = true;
        return { outcome: 'done', bytes: 7 };
      },
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  expect((err as FerryError).code).toBe('remote-changed');
  expect(uploaded).toBe(false);
  expect(dest.files.get('notes.txt')?.data.toString()).toBe('else v0');
});

it('a file that appeared where the plan saw nothing is not overwritten, version or none', async () => {
  const dest = new Unversioned('hub');
  await dest.upload('new.txt', file('theirs2', 'someone'), { signal: signal() });
  writeFileSync(join(dir, 'new.txt'), 'mine!!!');
  let uploaded = false;
  const err = await executeTwoWay(
    uploadJob('new.txt', 'mine!!!', null),
    { signal: signal() },
    {
      store,
      destination: dest,
      root: dir,
      rehash: () => Promise.resolve(undefined),
      upload: async () => {
        uploaded = true;
        return { outcome: 'done', bytes: 7 };
      },
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((err as FerryError | undefined)?.code).toBe('remote-changed');
  expect(uploaded).toBe(false);
});
