import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/engine/events';
import { scanChanges, scanFolder } from '../../src/main/engine/scan/scanner';
import { Store } from '../../src/main/engine/store/store';
import { FileWorkers } from '../../src/main/engine/workers/fileWorkers';

const PDF = '%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n';
const PNG = Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001080600000000', 'hex');

type Folder = { id: string; path: string; ignore: string[]; paused: boolean; watch: 'auto' };

describe('content types sniffed during the scan', () => {
  let dir: string;
  let store: Store;
  let workers: FileWorkers;
  const deps = () => ({ index: store.index, workers, events: new EventBus() });

  /** A folder with a PDF disguised as a photo, a text file and a real PNG. */
  function folder(id: string): Folder {
    const root = join(dir, id);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'photo.jpg'), PDF);
    writeFileSync(join(root, 'notes.txt'), 'shopping: bread, milk\n');
    writeFileSync(join(root, 'image.png'), PNG);
    return { id, path: root, ignore: [], paused: false, watch: 'auto' };
  }
  const indexed = (f: Folder, path: string) => store.index.get(f.id, path);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-sniff-scan-'));
    store = Store.open(join(dir, 'state'));
    workers = new FileWorkers(1);
  });
  afterAll(async () => {
    await workers.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('indexes a PDF named photo.jpg as application/pdf when sniffing', async () => {
    const f = folder('on');
    const scan = await scanFolder(f, [], deps(), { sniff: true });
    expect(scan.hashed).toBe(3);
    expect(scan.files.get('photo.jpg')?.mime).toBe('application/pdf');
    expect(scan.files.get('notes.txt')?.mime).toBe('text/plain');
    expect(scan.files.get('image.png')?.mime).toBe('image/png');
    expect(indexed(f, 'photo.jpg')?.mime).toBe('application/pdf');
  });

  it('does not hash an unchanged sniffed file again, and keeps its type', async () => {
    const f: Folder = { id: 'on', path: join(dir, 'on'), ignore: [], paused: false, watch: 'auto' };
    const again = await scanFolder(f, [], deps(), { sniff: true });
    expect(again.hashed).toBe(0);
    expect(again.files.get('photo.jpg')?.mime).toBe('application/pdf');
    // Sniffing off later: the types already known stay, nothing is read.
    const off = await scanFolder(f, [], deps(), { sniff: false });
    expect(off.hashed).toBe(0);
    expect(off.files.get('photo.jpg')?.mime).toBe('application/pdf');
    expect(indexed(f, 'photo.jpg')?.mime).toBe('application/pdf');
  });

  it('sniffs nothing when off, and backfills every indexed file once when turned on', async () => {
    const f = folder('later');
    const off = await scanFolder(f, [], deps());
    expect(off.hashed).toBe(3);
    for (const file of off.files.values()) expect(file.mime).toBeUndefined();
    for (const p of off.files.keys()) expect(indexed(f, p)?.mime).toBeUndefined();

    const on = await scanFolder(f, [], deps(), { sniff: true });
    expect(on.hashed).toBe(3);
    expect(on.files.get('photo.jpg')?.mime).toBe('application/pdf');
    expect(indexed(f, 'photo.jpg')?.mime).toBe('application/pdf');
    expect(indexed(f, 'image.png')?.mime).toBe('image/png');
    // The content did not change: the hashes did not either.
    expect(on.files.get('photo.jpg')?.hashes).toEqual(off.files.get('photo.jpg')?.hashes);

    const next = await scanFolder(f, [], deps(), { sniff: true });
    expect(next.hashed).toBe(0);
  });

  it('drops a type that no longer holds when a changed file is hashed without sniffing', async () => {
    const f = folder('stale');
    await scanFolder(f, [], deps(), { sniff: true });
    writeFileSync(join(f.path, 'photo.jpg'), PNG);
    const off = await scanFolder(f, [], deps());
    expect(off.hashed).toBe(1);
    expect(off.files.get('photo.jpg')?.mime).toBeUndefined();
    expect(indexed(f, 'photo.jpg')?.mime).toBeUndefined();
  });

  it('sniffs what a scoped rescan hashes', async () => {
    const f = folder('scoped');
    const first = await scanFolder(f, [], deps(), { sniff: true });
    writeFileSync(join(f.path, 'report.jpg'), PDF);
    writeFileSync(join(f.path, 'photo.jpg'), PNG);
    const next = await scanChanges(f, [], deps(), ['report.jpg', 'photo.jpg'], first, { sniff: true });
    expect(next.hashed).toBe(2);
    expect(next.files.get('report.jpg')?.mime).toBe('application/pdf');
    expect(next.files.get('photo.jpg')?.mime).toBe('image/png');
    expect(next.files.get('notes.txt')?.mime).toBe('text/plain');
    expect(indexed(f, 'photo.jpg')?.mime).toBe('image/png');
  });
});
