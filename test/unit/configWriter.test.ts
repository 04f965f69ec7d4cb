import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FerryConfig } from '../../src/shared/config';
import { updateConfigText } from '../../src/main/engine/config/configWriter';
import { configFromObject, parseConfig } from '../../src/main/engine/config/loadConfig';

const FILE = '/configs/ferry.yml';
const BASE = '/configs';

const HAND_WRITTEN = `# Ferry config — my laptop
folders:
  - id: photos # the camera import folder
    path: ~/Pictures/import
  - { id: work, path: ../work }

destinations:
  # the NAS in the hall
  - id: nas
    type: local
    path: /mnt/nas/backup
  - id: old-disk
    type: local
    path: /mnt/old

rules:
  # raw files first: they are big
  - name: raw
    from: [photos]
    to: [nas]
    match: ['**/*.cr3']
  # everything else from work
  - name: work
    from: [work]
    to: [nas]
`;

/** What the window edits: the parsed config, defaults and resolved paths included. */
const parsed = (): FerryConfig => structuredClone(parseConfig(HAND_WRITTEN, FILE, BASE));

/** Writes `next` over the hand-written text and checks the result means exactly `next`. */
function write(next: FerryConfig): string {
  const text = updateConfigText(HAND_WRITTEN, next, FILE, BASE);
  expect(parseConfig(text, FILE, BASE)).toEqual(configFromObject(structuredClone(next), FILE, BASE));
  return text;
}

describe('writing an edited config back to its file', () => {
  it('changes nothing when nothing changed: comments, ~ paths, flow style and unwritten defaults stay', () => {
    expect(write(parsed())).toBe(HAND_WRITTEN);
  });

  it('writes only the changed setting into a section the file did not have', () => {
    const next = parsed();
    next.settings.transfers = 8;
    const text = write(next);
    const asReprinted = HAND_WRITTEN.replace('{ id: work, path: ../work }', '{id: work, path: ../work}');
    expect(text.startsWith(asReprinted)).toBe(true);
    expect(text.slice(asReprinted.length).trim()).toBe('settings:\n  transfers: 8');
  });

  it('keeps the comment on the line of a changed value, and a changed path as given', () => {
    const next = parsed();
    (next.folders[0] as { id: string }).id = 'camera';
    for (const r of next.rules) r.from = r.from.map((f) => (f === 'photos' ? 'camera' : f));
    (next.folders[1] as { path: string }).path = join(homedir(), 'Documents/work');
    const text = write(next);
    expect(text).toContain('  - id: camera # the camera import folder\n    path: ~/Pictures/import\n');
    // Flow collections are re-printed in the file's prevailing style (here without inner spaces).
    expect(text).toContain(`{id: work, path: ${join(homedir(), 'Documents/work')}}`);
  });

  it('moves a rule with its comment when the rules are reordered', () => {
    const next = parsed();
    next.rules.reverse();
    const text = write(next);
    expect(text.indexOf('# everything else from work')).toBeLessThan(text.indexOf('# raw files first'));
    expect(text.indexOf('# everything else from work')).toBeLessThan(text.indexOf('name: work'));
    expect(text.indexOf('# raw files first')).toBeLessThan(text.indexOf('name: raw'));
  });

  it('drops a removed destination and adds a new one, leaving the others as written', () => {
    const next = parsed();
    next.destinations = next.destinations.filter((d) => d.id !== 'old-disk');
    next.destinations.push({ id: 'usb', type: 'local', path: '/media/usb' } as FerryConfig['destinations'][number]);
    const text = write(next);
    expect(text).not.toContain('old-disk');
    expect(text).toContain('  # the NAS in the hall\n  - id: nas\n');
    expect(text).toMatch(/- id: usb\n\s+type: local\n\s+path: \/media\/usb/);
  });

  it('writes the whole config when the file on disk is not a valid config any more', () => {
    const next = parsed();
    const text = updateConfigText('folders: [unclosed', next, FILE, BASE);
    expect(parseConfig(text, FILE, BASE)).toEqual(configFromObject(structuredClone(next), FILE, BASE));
  });

  it('writes what the window adds to an empty config in block style, one entry per line', () => {
    const empty = 'folders: []\ndestinations: []\nrules: []\n';
    const next = configFromObject({ folders: [], destinations: [], rules: [] }, FILE, BASE);
    next.folders.push({ id: 'work', path: '/home/me/work', ignore: [], paused: false, watch: 'auto' });
    next.rules.push(structuredClone(parsed().rules[1]) as FerryConfig['rules'][number]);
    next.destinations.push(structuredClone(parsed().destinations[0]) as FerryConfig['destinations'][number]);
    const text = updateConfigText(empty, next, FILE, BASE);
    expect(text).not.toMatch(/\[\{|\{ ?id:|\{ ?name:/);
    expect(text).toMatch(/^folders:\n {2}- id: work\n {4}path: \/home\/me\/work\n/);
    expect(text).toMatch(/\nrules:\n {2}- name: work\n {4}from:/);
    expect(parseConfig(text, FILE, BASE)).toEqual(configFromObject(structuredClone(next), FILE, BASE));
  });
});
