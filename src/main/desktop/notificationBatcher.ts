// Which engine events deserve a desktop notification, and how a burst of them becomes one. Pure (no
// electron): shell/notify.ts shows what `notify` receives.
import type { SerializedError } from '../../shared/errors';
import type { FerryEventName, FerryEvents } from '../../shared/events';
import { parseBrakeSite } from '../../shared/models';
import { anyEvent } from './anyEvent';
import { plural, quoted } from './format';
import { systemTimers, type Timers } from './timers';

/** Pages of the window a notification can open (the window's routes, `#/queue/failed`). */
export type WindowPage = 'status' | 'queue' | 'folders' | 'destinations' | 'history';
export type NoticeAction = { kind: 'open-window'; page: WindowPage; tab?: string };
export type Notice = { title: string; body: string; action?: NoticeAction };

/** The window's address for an action (`#/queue/failed`), as the window's router reads it. */
export function routeOf(action: NoticeAction): string {
  return `#/${action.page}${action.tab === undefined ? '' : `/${action.tab}`}`;
}

/** Why the person is told: each cause is notified once, until it clears. */
export type Cause =
  | { kind: 'auth'; destination: string }
  | { kind: 'quota'; destination: string }
  | { kind: 'folder-missing'; folder: string }
  | { kind: 'destination-down'; destination: string; sinceMs: number }
  | { kind: 'held-deletions'; rule: string; where: string; deletes: number; total: number }
  | { kind: 'failed' }
  | { kind: 'completed' };

export type BatcherOptions = {
  notify: (notice: Notice) => void;
  /** `settings.notifications`, read each time (the config can change while Ferry runs). */
  enabled: () => boolean;
  /** Also tell when the queue has drained after files were shipped (off unless asked for). */
  notifyOnCompletion?: () => boolean;
  /** A burst is gathered until this long passes without a new cause… */
  windowMs?: number;
  /** …or this long after its first one, whichever is sooner. */
  maxWaitMs?: number;
  /** A destination is worth a notification once it has been unavailable this long (not a passing hiccup). */
  downAfterMs?: number;
  /** A cause not seen again for this long is forgotten: if it comes back, the person is told again. */
  forgetAfterMs?: number;
  timers?: Timers;
};

type Pending = { cause: Cause; files: number; detail: string | undefined };

function keyOf(cause: Cause): string {
  switch (cause.kind) {
    case 'auth':
    case 'quota':
    case 'destination-down':
      return `${cause.kind}:${cause.destination}`;
    case 'folder-missing':
      return `${cause.kind}:${cause.folder}`;
    case 'held-deletions':
      return `${cause.kind}:${cause.rule}`;
    case 'failed':
    case 'completed':
      return cause.kind;
  }
}

const ORDER: Record<Cause['kind'], number> = {
  auth: 0,
  quota: 1,
  'folder-missing': 2,
  'destination-down': 3,
  'held-deletions': 4,
  failed: 5,
  completed: 6,
};

function errorDetail(error: SerializedError): string {
  return error.hint ?? error.message;
}

/** An engine message as a sentence of its own: capital first, full stop last. */
function sentence(text: string): string {
  const t = text.trim();
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * Fed every engine event (`observe`) and, when the tray refreshes, the destinations' status
 * (`observeDestinations`). What needs the person: credentials refused, a destination full, a folder
 * gone, a destination unavailable for long, transfers that failed for good. Routine retries and
 * passing errors never notify; success only when asked for. A burst (500 files refused in a second)
 * becomes one notification that counts them; a cause already told is not told again until it clears
 * (the destination takes a file again, the folder scans whole, the failed list is emptied).
 */
export class NotificationBatcher {
  private readonly timers: Timers;
  private readonly windowMs: number;
  private readonly maxWaitMs: number;
  private readonly downAfterMs: number;
  private readonly forgetAfterMs: number;
  private readonly batch = new Map<string, Pending>();
  private batchStartedAt = 0;
  private cancelFlush: (() => void) | undefined;
  /** Causes already told, with when each was last seen. */
  private readonly told = new Map<string, number>();
  /** Destinations unavailable now, since when, and the timer that raises them once it has been long. */
  private readonly down = new Map<string, { since: number; detail: string | undefined; cancel: () => void }>();
  private shippedSinceEmpty = 0;

  constructor(private readonly opts: BatcherOptions) {
    this.timers = opts.timers ?? systemTimers;
    this.windowMs = opts.windowMs ?? 5000;
    this.maxWaitMs = opts.maxWaitMs ?? 30_000;
    this.downAfterMs = opts.downAfterMs ?? 10 * 60_000;
    this.forgetAfterMs = opts.forgetAfterMs ?? 60 * 60_000;
  }

  observe<K extends FerryEventName>(name: K, payload: FerryEvents[K]): void {
    const event = anyEvent(name, payload);
    switch (event.name) {
      case 'transfer:failed': {
        const { error, destination, path } = event.payload;
        if (error.kind === 'cancelled') return; // the person did it
        if (destination !== null && (error.kind === 'auth' || error.kind === 'quota'))
          this.add({ kind: error.kind, destination }, 1, errorDetail(error));
        else
          this.add(
            { kind: 'failed' },
            1,
            `${quoted(path)}${destination === null ? '' : ` to ${quoted(destination)}`}: ${errorDetail(error)}`,
          );
        return;
      }
      case 'destination:error': {
        const { destination, error } = event.payload;
        if (error.kind === 'auth' || error.kind === 'quota')
          this.add({ kind: error.kind, destination }, 0, errorDetail(error));
        else this.markDown(destination, errorDetail(error));
        return;
      }
      case 'scan:issue':
        if (event.payload.code === 'missing-folder' || event.payload.code === 'not-a-folder')
          this.add({ kind: 'folder-missing', folder: event.payload.folder }, 0, event.payload.message);
        return;
      case 'deletions:held': {
        // Told once per rule while held; a rule no longer held (confirmed, or the files came back) clears.
        const held = new Set(event.payload.held.map((h) => `held-deletions:${h.rule}`));
        for (const key of [...this.told.keys()])
          if (key.startsWith('held-deletions:') && !held.has(key)) this.clear(key);
        for (const h of event.payload.held) this.add({ kind: 'held-deletions', ...h }, 0, undefined);
        return;
      }
      case 'scan:done':
        if (event.payload.complete) this.clear(`folder-missing:${event.payload.folder}`);
        return;
      case 'transfer:done':
        if (event.payload.outcome !== 'done') return;
        // The destination took a file: its credentials, space and connection are fine again.
        if (event.payload.destination !== null) this.destinationWorks(event.payload.destination);
        this.shippedSinceEmpty++;
        return;
      case 'queue:changed': {
        const { pending, active, failed } = event.payload;
        if (failed === 0) this.clear('failed');
        if (pending + active === 0) {
          if (this.shippedSinceEmpty > 0 && this.opts.notifyOnCompletion?.() === true)
            this.add({ kind: 'completed' }, this.shippedSinceEmpty, undefined);
          this.shippedSinceEmpty = 0;
        }
        return;
      }
      default:
        return;
    }
  }

  /** The destinations as the status says (connected, or failing their check and with what error). */
  observeDestinations(destinations: readonly { id: string; ok: boolean; error: string | null }[]): void {
    for (const d of destinations) {
      // Connected says nothing of credentials revoked or space run out since: those clear on a shipped file.
      if (d.ok) this.reachable(d.id);
      else if (d.error !== null) this.markDown(d.id, d.error);
    }
  }

  /** Drops what is gathered and every timer (Ferry is quitting). */
  stop(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    this.batch.clear();
    for (const d of this.down.values()) d.cancel();
    this.down.clear();
  }

  private markDown(destination: string, detail: string | undefined): void {
    const known = this.down.get(destination);
    if (known) {
      known.detail = detail ?? known.detail;
      return;
    }
    const since = this.timers.now();
    const cancel = this.timers.set(() => {
      const still = this.down.get(destination);
      // Refused credentials or a full destination were told already, with what to do: not again as "unavailable".
      const explained = ['auth', 'quota'].some(
        (k) => this.told.has(`${k}:${destination}`) || this.batch.has(`${k}:${destination}`),
      );
      if (still?.since === since && !explained)
        this.add({ kind: 'destination-down', destination, sinceMs: since }, 0, still.detail);
    }, this.downAfterMs);
    this.down.set(destination, { since, detail, cancel });
  }

  /** The destination can be reached again: an outage is over. */
  private reachable(destination: string): void {
    this.down.get(destination)?.cancel();
    this.down.delete(destination);
    this.clear(`destination-down:${destination}`);
  }

  /** The destination took a file: reachable, its credentials accepted, room for more. */
  private destinationWorks(destination: string): void {
    this.reachable(destination);
    this.clear(`auth:${destination}`);
    this.clear(`quota:${destination}`);
  }

  private clear(key: string): void {
    this.told.delete(key);
  }

  private add(cause: Cause, files: number, detail: string | undefined): void {
    if (!this.opts.enabled()) return;
    const key = keyOf(cause);
    const now = this.timers.now();
    const lastSeen = this.told.get(key);
    if (lastSeen !== undefined) {
      if (now - lastSeen <= this.forgetAfterMs) {
        this.told.set(key, now); // still the same trouble: already told
        return;
      }
      this.told.delete(key);
    }
    const pending = this.batch.get(key);
    if (pending) {
      pending.files += files;
      pending.detail ??= detail;
    } else this.batch.set(key, { cause, files, detail });
    this.schedule(now);
  }

  private schedule(now: number): void {
    if (this.cancelFlush === undefined) this.batchStartedAt = now;
    else this.cancelFlush();
    const due = Math.min(now + this.windowMs, this.batchStartedAt + this.maxWaitMs);
    this.cancelFlush = this.timers.set(() => this.flush(), Math.max(0, due - now));
  }

  private flush(): void {
    this.cancelFlush = undefined;
    const items = [...this.batch.entries()].sort(([, a], [, b]) => ORDER[a.cause.kind] - ORDER[b.cause.kind]);
    this.batch.clear();
    if (items.length === 0 || !this.opts.enabled()) return;
    const now = this.timers.now();
    for (const [key, p] of items) if (p.cause.kind !== 'completed') this.told.set(key, now);
    this.opts.notify(
      compose(
        items.map(([, p]) => p),
        now,
      ),
    );
  }
}

function pageOf(cause: Cause): NoticeAction {
  switch (cause.kind) {
    case 'auth':
    case 'quota':
    case 'destination-down':
      return { kind: 'open-window', page: 'destinations' };
    case 'folder-missing':
      return { kind: 'open-window', page: 'folders' };
    case 'held-deletions':
      return { kind: 'open-window', page: 'status' };
    case 'failed':
      return { kind: 'open-window', page: 'queue', tab: 'failed' };
    case 'completed':
      return { kind: 'open-window', page: 'history' };
  }
}

/** Where held deletions would happen: `folder ID` (a two-way rule's local side) or a destination. */
function place(where: string): string {
  const site = parseBrakeSite(where);
  return site.kind === 'folder' ? `in folder ${quoted(site.id)}` : `at ${quoted(site.id)}`;
}

function minutesSince(sinceMs: number, now: number): string {
  return plural(Math.max(1, Math.round((now - sinceMs) / 60_000)), 'minute');
}

/** Sentences joined with a space, the missing ones left out. */
function sentences(...parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined && p !== '').join(' ');
}

/** One notification for one cause: a title that names it, a body that says what to do. */
function single(p: Pending, now: number): Omit<Notice, 'action'> {
  const { cause, files } = p;
  const detail = p.detail === undefined ? undefined : sentence(p.detail);
  const someFiles = files > 0 ? plural(files, 'file') : undefined;
  switch (cause.kind) {
    case 'auth':
      return {
        title: `Ferry can’t sign in to ${quoted(cause.destination)}`,
        body: sentences(
          someFiles ? `${someFiles} can’t be shipped there until you reconnect it.` : 'It refused Ferry’s credentials.',
          detail ?? 'Reconnect it in Destinations.',
        ),
      };
    case 'quota':
      return {
        title: `${quoted(cause.destination)} is full`,
        body: sentences(someFiles ? `${someFiles} could not be shipped there.` : 'Nothing more fits there.', detail),
      };
    case 'folder-missing':
      return {
        title: `Folder ${quoted(cause.folder)} is missing`,
        body: sentences(
          detail,
          'Nothing is shipped from it, and nothing is deleted at its destinations, until it is back.',
        ),
      };
    case 'held-deletions':
      return {
        title: `Deletions waiting for you: rule ${quoted(cause.rule)}`,
        body: `It would delete ${plural(cause.deletes, 'file')} of ${cause.total} ${place(cause.where)}. Nothing is deleted until you confirm in Ferry; put the files back if it was a mistake.`,
      };
    case 'destination-down':
      return {
        title: `${quoted(cause.destination)} has been unavailable for ${minutesSince(cause.sinceMs, now)}`,
        body: sentences(detail, 'Ferry keeps trying; changes wait in the queue.'),
      };
    case 'failed':
      return {
        title: `${plural(files, 'file')} could not be shipped`,
        body: sentences(detail, files > 1 ? 'See the queue for the others.' : undefined),
      };
    case 'completed':
      return { title: 'All shipped', body: `${plural(files, 'file')} shipped and verified.` };
  }
}

/** A line of a notification that names several causes. */
function line(p: Pending, now: number): string {
  const { cause, files } = p;
  switch (cause.kind) {
    case 'auth':
      return `Can’t sign in to ${quoted(cause.destination)}${files > 0 ? ` (${plural(files, 'file')} waiting)` : ''}`;
    case 'quota':
      return `${quoted(cause.destination)} is full${files > 0 ? ` (${plural(files, 'file')} not shipped)` : ''}`;
    case 'folder-missing':
      return `Folder ${quoted(cause.folder)} is missing`;
    case 'destination-down':
      return `${quoted(cause.destination)} unavailable for ${minutesSince(cause.sinceMs, now)}`;
    case 'held-deletions':
      return `Rule ${quoted(cause.rule)}: ${plural(cause.deletes, 'deletion')} wait for you`;
    case 'failed':
      return `${plural(files, 'file')} could not be shipped`;
    case 'completed':
      return `${plural(files, 'file')} shipped`;
  }
}

const MAX_LINES = 4;

function compose(items: readonly Pending[], now: number): Notice {
  const [first] = items;
  if (first === undefined) throw new Error('compose: nothing to notify');
  if (items.length === 1) return { ...single(first, now), action: pageOf(first.cause) };
  const problems = items.filter((p) => p.cause.kind !== 'completed').length;
  const lines = items.slice(0, MAX_LINES).map((p) => line(p, now));
  if (items.length > MAX_LINES) lines.push(`and ${items.length - MAX_LINES} more`);
  const pages = new Set(items.map((p) => JSON.stringify(pageOf(p.cause))));
  return {
    title: problems > 0 ? `Ferry needs your attention (${plural(problems, 'problem')})` : 'Ferry',
    body: lines.join('\n'),
    // Several pages concerned: the status page lists them all.
    action: pages.size === 1 ? pageOf(first.cause) : { kind: 'open-window', page: 'status' },
  };
}
