import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRead, unreadIdentity } from '../../src/shared/hashes';
import { EventBus } from '../../src/main/engine/events';
import { scanFolder } from '../../src/main/engine/scan/scanner';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';
import { sha256 } from '../helpers/tree';

type Folder = { id: string; path: string; ignore: string[]; paused: boolean; watch: 'auto' };

const PDF = '%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n';

describe('the scan of a folder whose new files are read once, while they are sent', () => {
  let dir: string;
  let store: Store;
  let workers: FileWorkers;
  const deps = () => ({ index: store.index, workers, events: new EventBus() });
  const folder = (id: string): Folder => {
    const path = join(dir, id);
    mkdirSync(path, { recursive: true });
    return { id, path, ignore: [], paused: false, watch: 'auto' };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-readonce-scan-'));
    store = Store.open(join(dir, 'state'));
    workers = new FileWorkers(1);
  });
  afterAll(async () => {
    await workers.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('indexes a new file unread, by a mark naming its size, mtime and file id, and hashes nothing', async () => {
    const f = folder('new');
    writeFileSync(join(f.path, 'a.bin'), randomBytes(100_000));
    const scan = await scanFolder(f, ['md5'], deps(), { readOnSend: true });
    expect(scan.hashed).toBe(0);
    const a = scan.files.get('a.bin');
    expect(a && isRead(a.hashes)).toBe(false);
    expect(unreadIdentity(a?.hashes.sha256 ?? '')).toEqual({ size: 100_000, mtimeNs: a?.mtimeNs, ino: a?.ino });
    expect(store.index.get(f.id, 'a.bin')?.hashes).toEqual(a?.hashes);
    // Unchanged and still unread: kept as it is, not read.
    expect((await scanFolder(f, ['md5'], deps(), { readOnSend: true })).hashed).toBe(0);
    // A folder that cannot read once any more (a destination that hashes only up front): hashed now.
    const hashedNow = await scanFolder(f, ['md5'], deps(), {});
    expect(hashedNow.hashed).toBe(1);
    expect(hashedNow.files.get('a.bin')?.hashes.md5).toMatch(/^[0-9a-f]{32}$/);
  });

  it('hashes a new path that may be a renamed indexed file, to confirm the rename by content', async () => {
    const f = folder('renamed');
    const body = randomBytes(50_000);
    writeFileSync(join(f.path, 'old.bin'), body);
    // Indexed with its hash (as a read-once upload leaves it).
    expect((await scanFolder(f, [], deps(), {})).hashed).toBe(1);
    renameSync(join(f.path, 'old.bin'), join(f.path, 'new.bin'));
    writeFileSync(join(f.path, 'other.bin'), randomBytes(50_000));
    const scan = await scanFolder(f, [], deps(), { readOnSend: true });
    expect(scan.hashed).toBe(1);
    expect(scan.files.get('new.bin')?.hashes.sha256).toBe(sha256(body));
    expect(isRead(scan.files.get('other.bin')?.hashes ?? { sha256: '' })).toBe(false);
  });

  it('sniffs a new file from its head alone when a rule routes by content type', async () => {
    const f = folder('sniffed');
    writeFileSync(join(f.path, 'photo.jpg'), PDF + 'x'.repeat(1_000_000));
    const scan = await scanFolder(f, [], deps(), { readOnSend: true, sniff: true });
    expect(scan.hashed).toBe(0);
    expect(scan.files.get('photo.jpg')?.mime).toBe('application/pdf');
    expect(isRead(scan.files.get('photo.jpg')?.hashes ?? { sha256: '' })).toBe(false);
  });
});
