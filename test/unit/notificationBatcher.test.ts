import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NotificationBatcher, routeOf, type Notice } from '../../src/main/desktop/notificationBatcher';
import type { Timers } from '../../src/main/desktop/timers';
import type { ErrorKind, SerializedError } from '../../src/shared/errors';
import type { FerryEvents, TransferRef } from '../../src/shared/events';

/** The fake clock, through the batcher's injectable timers. */
const fakeTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  now: () => Date.now(),
};

function error(kind: ErrorKind, message: string, hint?: string): SerializedError {
  return { kind, code: kind, message, context: {}, ...(hint === undefined ? {} : { hint }) };
}

let job = 0;
function ref(destination: string | null, path = `file-${job}.txt`): TransferRef {
  return { jobId: ++job, kind: 'upload', rule: 'r', destination, folder: 'work', path, remotePath: path, size: 10 };
}

function failed(destination: string | null, err: SerializedError, path?: string): FerryEvents['transfer:failed'] {
  return { ...ref(destination, path), error: err };
}

function done(destination: string): FerryEvents['transfer:done'] {
  return { ...ref(destination), bytes: 10, durationMs: 5, outcome: 'done', note: null };
}

const revoked = error('auth', 'Dropbox refused the token', 'Connect the destination again');

describe('notification batcher', () => {
  let sent: Notice[];
  let enabled: boolean;
  let onCompletion: boolean;
  let batcher: NotificationBatcher;

  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    enabled = true;
    onCompletion = false;
    batcher = new NotificationBatcher({
      notify: (n) => sent.push(n),
      enabled: () => enabled,
      notifyOnCompletion: () => onCompletion,
      timers: fakeTimers,
    });
  });

  afterEach(() => {
    batcher.stop();
    vi.useRealTimers();
  });

  it('turns a burst of 500 failures into one notification that counts them and names the cause', () => {
    for (let i = 0; i < 500; i++) batcher.observe('transfer:failed', failed('dropbox', revoked));
    expect(sent).toHaveLength(0); // gathered first
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([
      {
        title: 'Ferry can’t sign in to “dropbox”',
        body: '500 files can’t be shipped there until you reconnect it. Connect the destination again.',
        action: { kind: 'open-window', page: 'destinations' },
      },
    ]);
  });

  it('does not tell the same cause again until it clears', () => {
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1);
    for (let i = 0; i < 50; i++) {
      batcher.observe('transfer:failed', failed('dropbox', revoked));
      batcher.observe('destination:error', { destination: 'dropbox', error: revoked });
    }
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(1);
    // A file reaches it again: the credentials work; a later refusal is news.
    batcher.observe('transfer:done', done('dropbox'));
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2);
  });

  it('a token revoked while connected is told once, whatever the status says of the connection', () => {
    for (let i = 0; i < 10; i++) {
      batcher.observe('transfer:failed', failed('dropbox', revoked));
      batcher.observeDestinations([{ id: 'dropbox', ok: true, error: null }]); // the tray refreshing
      vi.advanceTimersByTime(6000);
    }
    expect(sent).toHaveLength(1);
  });

  it('a destination refusing the credentials at connection is not told again as unavailable', () => {
    batcher.observe('destination:error', { destination: 'dropbox', error: revoked });
    for (let i = 0; i < 40; i++) {
      batcher.observeDestinations([{ id: 'dropbox', ok: false, error: revoked.message }]);
      vi.advanceTimersByTime(30_000);
    }
    expect(sent.map((n) => n.title)).toEqual(['Ferry can’t sign in to “dropbox”']);
  });

  it('reminds of a cause that has been quiet for an hour and comes back', () => {
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    vi.advanceTimersByTime(5000);
    vi.advanceTimersByTime(61 * 60_000);
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2);
  });

  it('names two different causes in one notification', () => {
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    vi.advanceTimersByTime(1000);
    batcher.observe('transfer:failed', failed('nas', error('quota', 'No space left on device')));
    batcher.observe('transfer:failed', failed('nas', error('quota', 'No space left on device')));
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1);
    const [notice] = sent;
    expect(notice?.title).toBe('Ferry needs your attention (2 problems)');
    expect(notice?.body).toBe('Can’t sign in to “dropbox” (1 file waiting)\n“nas” is full (2 files not shipped)');
    // Both concern the destinations page.
    expect(notice?.action).toEqual({ kind: 'open-window', page: 'destinations' });
  });

  it('opens the status page when the causes belong to different pages', () => {
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    batcher.observe('scan:issue', {
      folder: 'work',
      path: '',
      code: 'missing-folder',
      message: 'the folder /home/ann/Work does not exist',
      blocking: true,
    });
    vi.advanceTimersByTime(5000);
    expect(sent[0]?.body).toBe('Can’t sign in to “dropbox” (1 file waiting)\nFolder “work” is missing');
    expect(sent[0]?.action).toEqual({ kind: 'open-window', page: 'status' });
  });

  it('keeps gathering while a burst goes on, but no longer than 30 s', () => {
    for (let t = 0; t < 40; t++) {
      batcher.observe('transfer:failed', failed('dropbox', revoked));
      vi.advanceTimersByTime(1000);
    }
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toMatch(/^30 files/);
  });

  it('tells nothing when notifications are off in the settings', () => {
    enabled = false;
    for (let i = 0; i < 10; i++) batcher.observe('transfer:failed', failed('dropbox', revoked));
    batcher.observe('scan:issue', {
      folder: 'work',
      path: '',
      code: 'missing-folder',
      message: 'gone',
      blocking: true,
    });
    vi.advanceTimersByTime(60 * 60_000);
    expect(sent).toHaveLength(0);
  });

  it('drops a gathered burst if notifications are turned off before it is told', () => {
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    enabled = false;
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(0);
    enabled = true; // not marked as told: the next one is news
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1);
  });

  it('ignores routine retries, cancellations and success', () => {
    for (let i = 0; i < 20; i++)
      batcher.observe('transfer:retry', {
        ...ref('nas'),
        attempt: 1,
        delayMs: 1000,
        error: error('retryable', 'ECONNRESET'),
      });
    batcher.observe('transfer:failed', failed('nas', error('cancelled', 'cancelled')));
    batcher.observe('transfer:done', done('nas'));
    batcher.observe('queue:changed', { pending: 0, active: 0, failed: 0, bytesPending: 0 });
    batcher.observe('scan:issue', {
      folder: 'work',
      path: 'a.txt',
      code: 'vanished',
      message: 'gone',
      blocking: false,
    });
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(0);
  });

  it('tells of success only when asked to', () => {
    for (let i = 0; i < 3; i++) batcher.observe('transfer:done', done('nas'));
    batcher.observe('queue:changed', { pending: 0, active: 0, failed: 0, bytesPending: 0 });
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(0);

    onCompletion = true;
    for (let i = 0; i < 3; i++) batcher.observe('transfer:done', done('nas'));
    batcher.observe('queue:changed', { pending: 2, active: 1, failed: 0, bytesPending: 10 });
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(0); // not drained yet
    batcher.observe('transfer:done', done('nas'));
    batcher.observe('queue:changed', { pending: 0, active: 0, failed: 0, bytesPending: 0 });
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([
      { title: 'All shipped', body: '4 files shipped and verified.', action: { kind: 'open-window', page: 'history' } },
    ]);
  });

  it('success is not told when notifications are off, even when asked for', () => {
    enabled = false;
    onCompletion = true;
    batcher.observe('transfer:done', done('nas'));
    batcher.observe('queue:changed', { pending: 0, active: 0, failed: 0, bytesPending: 0 });
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(0);
  });

  it('tells of a missing folder once, until it scans whole again', () => {
    const gone = {
      folder: 'work',
      path: '',
      code: 'missing-folder' as const,
      message: 'the folder /mnt/usb/work is not there',
      blocking: true,
    };
    batcher.observe('scan:issue', gone);
    vi.advanceTimersByTime(5000);
    expect(sent[0]).toEqual({
      title: 'Folder “work” is missing',
      body: 'The folder /mnt/usb/work is not there. Nothing is shipped from it, and nothing is deleted at its destinations, until it is back.',
      action: { kind: 'open-window', page: 'folders' },
    });
    batcher.observe('scan:issue', gone);
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1);
    batcher.observe('scan:done', { folder: 'work', files: 3, hashed: 3, complete: true, durationMs: 10 });
    batcher.observe('scan:issue', gone);
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2);
  });

  it('tells of deletions held by the brake once per rule, until they are confirmed or undone', () => {
    const held = { rule: 'notebook', where: 'folder work', deletes: 8, total: 10 };
    batcher.observe('deletions:held', { held: [held] });
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([
      {
        title: 'Deletions waiting for you: rule “notebook”',
        body: 'It would delete 8 files of 10 in folder “work”. Nothing is deleted until you confirm in Ferry; put the files back if it was a mistake.',
        action: { kind: 'open-window', page: 'status' },
      },
    ]);
    // Every pass says so again: still the same hold.
    batcher.observe('deletions:held', { held: [held] });
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1);
    // Confirmed (or the files came back): a later hold is news.
    batcher.observe('deletions:held', { held: [] });
    batcher.observe('deletions:held', { held: [{ ...held, deletes: 9 }] });
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2);
  });

  it('tells of a destination only once it has been unavailable for long', () => {
    const down = { destination: 'nas', error: error('retryable', 'connect ECONNREFUSED 10.0.0.5:22') };
    batcher.observe('destination:error', down);
    vi.advanceTimersByTime(5 * 60_000);
    batcher.observe('destination:error', down); // the retry round, 30 s apart in the engine
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(5 * 60_000 + 5000);
    expect(sent).toEqual([
      {
        title: '“nas” has been unavailable for 10 minutes',
        body: 'Connect ECONNREFUSED 10.0.0.5:22. Ferry keeps trying; changes wait in the queue.',
        action: { kind: 'open-window', page: 'destinations' },
      },
    ]);
  });

  it('forgets a passing outage: the status says the destination is back', () => {
    batcher.observe('destination:error', { destination: 'nas', error: error('retryable', 'timeout') });
    vi.advanceTimersByTime(60_000);
    batcher.observeDestinations([{ id: 'nas', ok: true, error: null }]);
    vi.advanceTimersByTime(20 * 60_000);
    expect(sent).toHaveLength(0);
  });

  it('learns of an outage from the status too', () => {
    batcher.observeDestinations([{ id: 'nas', ok: false, error: 'host unreachable' }]);
    vi.advanceTimersByTime(10 * 60_000 + 5000);
    expect(sent[0]?.title).toBe('“nas” has been unavailable for 10 minutes');
    // Still down at the next refreshes: told once.
    batcher.observeDestinations([{ id: 'nas', ok: false, error: 'host unreachable' }]);
    vi.advanceTimersByTime(20 * 60_000);
    expect(sent).toHaveLength(1);
  });

  it('tells of files that failed for good, with the first one’s reason, once until the failed list empties', () => {
    const tooLong = error('invalid-name', 'the name is too long for the destination', 'Rename the file.');
    batcher.observe('transfer:failed', failed('nas', tooLong, 'a/very-long-name.txt'));
    batcher.observe('transfer:failed', failed('nas', error('permanent', 'HTTP 400'), 'b.txt'));
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([
      {
        title: '2 files could not be shipped',
        body: '“a/very-long-name.txt” to “nas”: Rename the file. See the queue for the others.',
        action: { kind: 'open-window', page: 'queue', tab: 'failed' },
      },
    ]);
    batcher.observe('transfer:failed', failed('nas', tooLong));
    batcher.observe('queue:changed', { pending: 0, active: 0, failed: 3, bytesPending: 0 });
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(1);
    batcher.observe('queue:changed', { pending: 1, active: 0, failed: 0, bytesPending: 0 }); // retried
    batcher.observe('transfer:failed', failed('nas', tooLong));
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2);
  });

  it('lists at most four causes and counts the rest', () => {
    for (const d of ['a', 'b', 'c', 'd', 'e', 'f']) batcher.observe('transfer:failed', failed(d, revoked));
    vi.advanceTimersByTime(5000);
    expect(sent[0]?.title).toBe('Ferry needs your attention (6 problems)');
    expect(sent[0]?.body.split('\n')).toHaveLength(5);
    expect(sent[0]?.body.endsWith('and 2 more')).toBe(true);
  });

  it('stop() drops what was gathered', () => {
    batcher.observe('transfer:failed', failed('dropbox', revoked));
    batcher.stop();
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(0);
  });

  it('turns an action into the window’s address', () => {
    expect(routeOf({ kind: 'open-window', page: 'queue', tab: 'failed' })).toBe('#/queue/failed');
    expect(routeOf({ kind: 'open-window', page: 'destinations' })).toBe('#/destinations');
  });
});
