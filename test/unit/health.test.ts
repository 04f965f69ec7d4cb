import { describe, expect, it } from 'vitest';
import { levelOf, needsOf, sentenceOf, type HealthFacts } from '../../src/shared/health';

function facts(patch: Partial<HealthFacts> = {}): HealthFacts {
  return {
    state: 'idle',
    folders: [
      { folder: 'work', state: 'watching', files: 3, watcher: 'native', lastScanAt: 1, error: null, used: true },
    ],
    destinations: [{ id: 'nas', ok: true, error: null, used: true }],
    queue: { pending: 0, active: 0, failed: 0, bytesPending: 0 },
    belowQuorum: { count: 0, sample: [] },
    uncaught: 0,
    heldDeletions: [],
    leftBehind: [],
    ...patch,
  };
}

const missing = {
  folder: 'photos',
  state: 'error' as const,
  files: 0,
  watcher: null,
  lastScanAt: null,
  error: '/home/ann/Photos does not exist or is not a folder',
  used: false,
};

describe('the status sentence and what waits for the person', () => {
  it('says everything is safe only when nothing at all is wrong, waiting or going nowhere', () => {
    expect(sentenceOf(facts())).toBe('Everything is safe: every folder is in sync with its destinations.');
    expect(levelOf(facts())).toBe('ok');
    expect(needsOf(facts())).toEqual([]);
  });

  it('a folder whose path does not exist needs the person, even one no rule reads yet', () => {
    const s = facts({ folders: [...facts().folders, missing] });
    expect(needsOf(s)).toEqual([
      {
        kind: 'folder',
        subject: 'photos',
        text: 'folder "photos": /home/ann/Photos does not exist or is not a folder',
        href: '#/folders',
      },
    ]);
    expect(sentenceOf(s)).toBe('Waiting for you: folder "photos": /home/ann/Photos does not exist or is not a folder.');
    expect(levelOf(s)).toBe('attention');
  });

  it('copies left behind by a rules change are named with their number, rule and destination', () => {
    const s = facts({ leftBehind: [{ rule: 'mirror', destination: 'nas', count: 120, sample: ['a.log'] }] });
    expect(sentenceOf(s)).toBe(
      'Waiting for you: 120 copies at nas were left behind by a change of rule "mirror" (kept until you remove them).',
    );
    expect(needsOf(s).map((n) => n.kind)).toEqual(['left-behind']);
  });

  it('names every kind of trouble, the two first in full, and counts them all', () => {
    const s = facts({
      state: 'paused',
      folders: [missing],
      destinations: [
        { id: 'nas', ok: false, error: 'the folder /mnt/nas is not there (unmounted?)', used: true },
        // no rule sends there: not connected, and that is no trouble
        { id: 'spare', ok: false, error: null, used: false },
      ],
      queue: { pending: 2, active: 0, failed: 3, bytesPending: 10 },
      heldDeletions: [{ rule: 'r', where: 'folder work', deletes: 8, total: 10 }],
      leftBehind: [{ rule: 'm', destination: 'nas', count: 1, sample: ['x'] }],
    });
    expect(needsOf(s).map((n) => `${n.kind} ${n.subject}`)).toEqual([
      'destination nas',
      'folder photos',
      'held-deletions r',
      'left-behind m',
      'failed queue',
    ]);
    expect(needsOf(s)[2]?.text).toBe(
      'rule "r" would delete 8 of 10 files at folder "work"; nothing is deleted until you confirm',
    );
    expect(sentenceOf(s)).toBe(
      'Paused, and waiting for you on 5 things: destination "nas" is unavailable (the folder /mnt/nas is not there (unmounted?)); folder "photos": /home/ann/Photos does not exist or is not a folder; and 3 more.',
    );
    expect(levelOf(s)).toBe('attention');
  });

  it('paused, syncing, short of copies and uncaught files each say so instead of "safe"', () => {
    expect(sentenceOf(facts({ state: 'paused' }))).toBe('Paused: nothing is being shipped until you resume.');
    expect(levelOf(facts({ state: 'paused' }))).toBe('paused');
    const busy = facts({ state: 'syncing', queue: { pending: 1, active: 1, failed: 0, bytesPending: 5 } });
    expect(sentenceOf(busy)).toBe('Syncing: 2 files to go.');
    expect(levelOf(busy)).toBe('busy');
    expect(sentenceOf(facts({ state: 'syncing' }))).toBe('Looking for changes…');
    const short = facts({ belowQuorum: { count: 1, sample: [] } });
    expect(sentenceOf(short)).toMatch(/^1 file has fewer verified copies than its rule requires/);
    expect(levelOf(short)).toBe('warn');
    const uncaught = facts({ uncaught: 2 });
    expect(sentenceOf(uncaught)).toBe(
      'Every file the rules catch is safe; 2 files are caught by no rule and go nowhere.',
    );
    expect(levelOf(uncaught)).toBe('warn');
  });

  it('an engine in error with nothing else to show still needs the person', () => {
    expect(needsOf(facts({ state: 'error' })).map((n) => n.kind)).toEqual(['engine']);
  });
});
