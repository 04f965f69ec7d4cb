import { useEffect, useRef, useState } from 'react';
import { EmptyState, ErrorNote, PageHeader } from '../components/ui';
import { useConfig } from '../lib/config';
import { plural } from '../lib/format';
import { useAction, useRequest } from '../lib/query';
import { hrefOf } from '../lib/route';
import { ConflictCard } from './conflicts/ConflictCard';
import { conflictKey, type Keep } from './conflicts/conflictView';

type Flash = { kind: 'ok' | 'error'; text: string; hint?: string | undefined };

/**
 * Two-way rules' conflicted copies, each settled with one click. The engine answers from the folder's
 * latest scan, and a settled copy leaves that list only once the rescan it asks for is done: until
 * then the page hides it, so that it cannot be settled twice.
 */
export function ConflictsPage(): React.JSX.Element {
  const list = useRequest('conflicts:list', {});
  const config = useConfig();
  const resolve = useAction('conflicts:resolve', ['conflicts:list']);
  const [settled, setSettled] = useState<ReadonlySet<string>>(() => new Set());
  const [working, setWorking] = useState<string | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);
  const [focusAt, setFocusAt] = useState<number | null>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const flashRef = useRef<HTMLDivElement>(null);

  // Forget settled copies the engine no longer lists (a later conflict may take the same name).
  useEffect(() => {
    if (!list.data) return;
    const present = new Set(list.data.items.map(conflictKey));
    setSettled((s) => {
      const next = new Set([...s].filter((k) => present.has(k)));
      return next.size === s.size ? s : next;
    });
  }, [list.data]);

  const items = (list.data?.items ?? []).filter((i) => !settled.has(conflictKey(i)));

  // The settled card is gone: the focus goes to the one that took its place, or to the message.
  useEffect(() => {
    if (focusAt === null) return;
    setFocusAt(null);
    const cards = listRef.current?.querySelectorAll<HTMLElement>('[data-testid="conflict"]') ?? [];
    const card = cards[Math.min(focusAt, cards.length - 1)];
    (card?.querySelector<HTMLButtonElement>('button') ?? flashRef.current)?.focus();
  }, [focusAt]);

  const settle = (index: number, folder: string, copy: string, keep: Keep) => {
    const key = conflictKey({ folder, copy });
    setWorking(key);
    setFlash(null);
    resolve.mutate(
      { folder, copy, keep },
      {
        onSuccess: (r) => {
          if (r.ok) setSettled((s) => new Set([...s, key]));
          setFlash({ kind: r.ok ? 'ok' : 'error', text: r.message });
          if (r.ok) setFocusAt(index);
        },
        onError: (err) => setFlash({ kind: 'error', text: err.message, hint: err.hint }),
        onSettled: () => setWorking(null),
      },
    );
  };

  const twoWay = config.data?.rules.some((r) => r.mode === 'two-way');
  return (
    <>
      <PageHeader
        title="Conflicts"
        lead={
          items.length > 0
            ? `${plural(items.length, 'file')} changed both here and elsewhere before they synced. Keep mine puts the other version in the folder’s .ferry-trash, keep theirs puts yours there, keep both gives the other version a plain name; either way the result syncs.`
            : 'Files of two-way rules that changed on both sides before they synced.'
        }
      />
      {flash && (
        <div
          ref={flashRef}
          tabIndex={-1}
          className={`note note--${flash.kind} conflicts-flash`}
          role={flash.kind === 'error' ? 'alert' : 'status'}
        >
          {flash.text}
          {flash.hint && <div className="note__hint">{flash.hint}</div>}
        </div>
      )}
      <ErrorNote error={list.error} title="The conflicts could not be listed" />
      {list.isPending ? (
        <p className="muted" role="status">
          Looking for conflicts…
        </p>
      ) : items.length === 0 ? (
        !list.error && (
          <div className="card">
            <EmptyState
              title="No conflicts"
              action={
                twoWay === false ? (
                  <span className="small">
                    No rule is two-way yet: choose the two-way mode for a rule on the{' '}
                    <a href={hrefOf('rules')}>Rules</a> page.
                  </span>
                ) : undefined
              }
            >
              When a file changes on both sides before they sync, Ferry keeps both versions and lists them here.
            </EmptyState>
          </div>
        )
      ) : (
        <ul ref={listRef} className="conflicts" aria-label="Conflicted files">
          {items.map((item, i) => (
            <ConflictCard
              key={conflictKey(item)}
              item={item}
              settling={working === conflictKey(item)}
              disabled={working !== null}
              onKeep={(keep) => settle(i, item.folder, item.copy, keep)}
            />
          ))}
        </ul>
      )}
    </>
  );
}
