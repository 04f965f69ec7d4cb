import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { EventBus } from '../../src/main/engine/events';
import { LocalDestination } from '../../src/main/engine/providers/local/localProvider';
import { S3Destination } from '../../src/main/engine/providers/s3/s3Provider';
import type { FullDestination, UploadSource } from '../../src/main/engine/providers/types';
import { Dispatcher } from '../../src/main/engine/rules/dispatch';
import { compileRule } from '../../src/main/engine/rules/ruleMatcher';
import { MultiHash } from '../../src/main/engine/scan/multiHash';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import type { Job } from '../../src/main/engine/store/jobStore';
import { Store } from '../../src/main/engine/store/store';
import { executeJob } from '../../src/main/engine/transfer/executor';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { startS3rver, S3RVER_KEY, type S3rver } from '../servers/s3rver';

/**
 * A two-way upload replaces only the destination version its plan saw. Between the plan and the
 * upload another instance may write the same path: the upload must then be refused (the next pass
 * keeps both versions), whether the destination writes conditionally itself (local) or not (S3).
 */
let s3: S3rver;
const workers = new FileWorkers(1);
let root: string;
beforeAll(async () => {
  s3 = await startS3rver(['premise']);
  root = mkdtempSync(join(tmpdir(), 'ferry-premise-'));
});
afterAll(async () => {
  await workers.close();
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
});

type Hub = { name: string; make: (dir: string) => FullDestination };
const HUBS: Hub[] = [
  {
    name: 'a local folder (checked at the rename)',
    make: (dir) => {
      mkdirSync(dir); // a destination's root is the person's to make: Ferry never creates it
      return new LocalDestination({ id: 'hub', path: dir }, workers);
    },
  },
  {
    name: 'S3 (checked by the executor just before the upload)',
    make: (dir) =>
      new S3Destination(
        {
          id: 'hub',
          type: 's3',
          bucket: 'premise',
          endpoint: s3.url,
          prefix: dir.slice(dir.lastIndexOf('/') + 1),
          access_key_id: 'env:KEY',
          secret_access_key: 'env:KEY',
        },
        { workers, secret: () => S3RVER_KEY, resume: { load: () => undefined, save() {}, clear() {}, all: () => [] } },
      ),
  },
];

const folder = (path: string) => ({ id: 'work', path, ignore: [], paused: false, watch: 'auto' as const });

describe.each(HUBS)('two-way upload over $name', (hub) => {
  it("is refused when the destination's copy changed after the plan, and the other writer's version stays", async () => {
    const dir = mkdtempSync(join(root, 'case-'));
    const work = join(dir, 'work');
    mkdirSync(work);
    const dest = hub.make(join(dir, 'hub'));
    const store = Store.open(join(dir, 'state'));
    try {
      const sourceOf = (abs: string, content: string): UploadSource => {
        writeFileSync(abs, content);
        return {
          absPath: abs,
          size: Buffer.byteLength(content),
          mtimeMs: statSync(abs).mtimeMs,
          hashes: new MultiHash(['md5']).update(Buffer.from(content)).digest(),
        };
      };
      // What the plan saw at the destination, then another instance's write.
      const planned = await dest.upload('notes.txt', sourceOf(join(dir, 'base'), 'base version'), {
        signal: new AbortController().signal,
      });
      const theirs = 'their edit, made while our plan waited';
      await dest.upload('notes.txt', sourceOf(join(dir, 'other'), theirs), { signal: new AbortController().signal });

      writeFileSync(join(work, 'notes.txt'), 'my edit');
      await scanFolder(folder(work), [...dest.features.hashes], {
        index: store.index,
        workers,
        events: new EventBus(),
      });
      const job: Job = {
        id: 1,
        key: 'k',
        kind: 'upload',
        phase: 0,
        state: 'pending',
        rule: 'both',
        destination: 'hub',
        folder: 'work',
        path: 'notes.txt',
        remotePath: 'notes.txt',
        size: 7,
        reason: 'changed here',
        attempts: 0,
        notBefore: 0,
        lastError: null,
        createdAt: 0,
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
      const err = await executeJob(job, { signal: new AbortController().signal }, deps).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('remote-changed');
      expect((err as FerryError).kind).toBe('conflict');
      const back = join(dir, 'back');
      await dest.download('notes.txt', back, { signal: new AbortController().signal });
      expect(readFileSync(back, 'utf8')).toBe(theirs);
      // Nothing became the new common base.
      expect(store.base.forRule('both').get('notes.txt')).toBeUndefined();
    } finally {
      await dest.close();
      store.close();
    }
  });
});
