import { useEffect, useRef, useState } from 'react';
import type { BrowseEntry } from '../../../../shared/contract';
import { EmptyState, ErrorNote, Note } from '../../components/ui';
import { formatBytes, formatWhen, plural } from '../../lib/format';
import { useRequest } from '../../lib/query';
import { FileIcon, FolderIcon } from './icons';
import { ShareLinkRow, useShareLinks } from './ShareLink';

/** Rows drawn at once: a listing can hold 20,000 entries; more are shown on request. */
const PAGE = 500;

/**
 * One level of a connected destination: breadcrumbs, folders first (open them), files with their size
 * and time, and share links where the destination makes them.
 */
export function BrowsePanel({ destination, id }: { destination: string; id: string }): React.JSX.Element {
  const [prefix, setPrefix] = useState('');
  const [shown, setShown] = useState(PAGE);
  const listing = useRequest('destination:browse', { destination, prefix }, { retry: false, staleTime: 15_000 });
  const links = useShareLinks(destination);
  const here = useRef<HTMLSpanElement>(null);
  const moved = useRef(false);

  useEffect(() => {
    // After going into or up from a folder, keyboard focus lands on where one now is.
    if (moved.current) here.current?.focus();
  }, [prefix]);

  const go = (to: string) => {
    moved.current = true;
    setShown(PAGE);
    setPrefix(to);
  };

  const parts = prefix === '' ? [] : prefix.split('/');
  const entries = listing.data?.entries ?? [];
  const folders = entries.filter((e) => e.dir).length;

  return (
    <section className="dest-browse" id={id} data-testid="browse-panel" aria-label={`Contents of ${destination}`}>
      <div className="dest-browse__bar">
        <nav aria-label="Location" className="dest-crumbs">
          <ol>
            {[destination, ...parts].map((name, i) => {
              const current = i === parts.length;
              return (
                <li key={`${i}:${name}`}>
                  {current ? (
                    <span ref={here} tabIndex={-1} aria-current="location" className="dest-crumbs__here">
                      {name}
                    </span>
                  ) : (
                    <button type="button" className="btn btn--link" onClick={() => go(parts.slice(0, i).join('/'))}>
                      {name}
                    </button>
                  )}
                </li>
              );
            })}
          </ol>
        </nav>
        <span className="spacer" />
        {parts.length > 0 && (
          <button type="button" className="btn btn--small" onClick={() => go(parts.slice(0, -1).join('/'))}>
            Up
          </button>
        )}
        <button
          type="button"
          className="btn btn--small"
          aria-label={`Refresh the contents of ${destination}`}
          disabled={listing.isFetching}
          onClick={() => void listing.refetch()}
        >
          Refresh
        </button>
      </div>

      {listing.isPending && (
        <p className="muted" role="status">
          <span className="dest-spinner" aria-hidden="true" /> Listing…
        </p>
      )}
      <ErrorNote error={listing.error} title={`Cannot list ${destination}`} />
      {listing.data?.truncated && (
        <Note kind="warn">
          This folder holds more than Ferry lists at once: the list below is cut short. Open a sub-folder to see the
          rest.
        </Note>
      )}
      {listing.data && entries.length === 0 && (
        <EmptyState title="Nothing here">Files Ferry ships to this place will show up here.</EmptyState>
      )}
      {entries.length > 0 && (
        <>
          <p className="muted small" aria-live="polite">
            {plural(folders, 'folder')}, {plural(entries.length - folders, 'file')}
          </p>
          <table className="table dest-browse__table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">Modified</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.slice(0, shown).map((e) => (
                <EntryRows
                  key={e.path}
                  entry={e}
                  shareLinks={listing.data?.shareLinks === true}
                  link={links.state[e.path]}
                  onOpenFolder={() => go(e.path)}
                  onShare={() => void links.make(e.path)}
                />
              ))}
            </tbody>
          </table>
          {entries.length > shown && (
            <button type="button" className="btn btn--small" onClick={() => setShown((n) => n + PAGE)}>
              Show {Math.min(PAGE, entries.length - shown).toLocaleString()} more of{' '}
              {(entries.length - shown).toLocaleString()}
            </button>
          )}
        </>
      )}
    </section>
  );
}

type LinkState = ReturnType<typeof useShareLinks>['state'][string];

function EntryRows({
  entry,
  shareLinks,
  link,
  onOpenFolder,
  onShare,
}: {
  entry: BrowseEntry;
  shareLinks: boolean;
  link: LinkState | undefined;
  onOpenFolder: () => void;
  onShare: () => void;
}): React.JSX.Element {
  return (
    <>
      <tr data-testid="browse-entry" data-dir={entry.dir ? 'true' : 'false'}>
        <td className="dest-browse__name">
          {entry.dir ? (
            <button type="button" className="btn btn--link dest-browse__folder" onClick={onOpenFolder}>
              <FolderIcon />
              {entry.name}
              <span className="visually-hidden"> (folder)</span>
            </button>
          ) : (
            <span className="truncate" title={entry.path}>
              <FileIcon />
              {entry.name}
            </span>
          )}
        </td>
        <td className="num" title={entry.dir ? 'Everything below this folder' : undefined}>
          {formatBytes(entry.size)}
        </td>
        <td className="muted">{entry.mtimeMs === null ? '—' : formatWhen(entry.mtimeMs)}</td>
        <td className="dest-browse__actions">
          {!entry.dir && shareLinks && (
            <button
              type="button"
              className="btn btn--small"
              aria-label={`Copy share link of ${entry.name}`}
              disabled={link?.status === 'loading'}
              onClick={onShare}
            >
              Copy share link
            </button>
          )}
        </td>
      </tr>
      {link && <ShareLinkRow name={entry.name} link={link} onRetry={onShare} />}
    </>
  );
}
