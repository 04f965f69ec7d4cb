import { useRequest } from '../lib/query';
import { hrefOf, PAGES, type PageId } from '../lib/route';

/**
 * The sidebar: every page, with the counts that need attention beside Status (everything that waits for
 * the person, as the status derives it: shared/health.ts), Queue and Conflicts.
 */
export function Nav({ page }: { page: PageId }) {
  const status = useRequest('status:get', {}, { refetchInterval: 10_000 });
  // Refreshed by the event stream (scans and transfers) and after each settled conflict.
  const conflicts = useRequest('conflicts:list', {});
  const conflicted = conflicts.data?.items.length ?? 0;
  const failed = status.data?.queue.failed ?? 0;
  const busy = (status.data?.queue.pending ?? 0) + (status.data?.queue.active ?? 0);
  const needs = status.data?.needs.length ?? 0;
  return (
    <nav className="nav" aria-label="Ferry">
      <div className="nav__brand">
        <svg className="nav__logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
          <path d="M6 19h20l-3 6H9z" fill="currentColor" />
          <path d="M10 18V11h9l3 7z" fill="currentColor" opacity="0.7" />
          <path d="M14 11V7h3v4z" fill="currentColor" opacity="0.5" />
          <path
            d="M3 27c3 0 3-1.5 6.5-1.5S13 27 16 27s3-1.5 6.5-1.5S26 27 29 27"
            stroke="currentColor"
            strokeWidth="1.6"
            fill="none"
          />
        </svg>
        Ferry
      </div>
      <ul className="nav__list">
        {PAGES.map((p) => (
          <li key={p.id}>
            <a className="nav__link" href={hrefOf(p.id)} aria-current={p.id === page ? 'page' : undefined}>
              <span>{p.label}</span>
              {p.id === 'status' && needs > 0 && (
                <span
                  className="nav__count nav__count--error"
                  aria-label={needs === 1 ? '1 thing waits for you' : `${needs} things wait for you`}
                  data-testid="nav-needs"
                >
                  {needs}
                </span>
              )}
              {p.id === 'queue' && failed > 0 && (
                <span className="nav__count nav__count--error" aria-label={`${failed} failed`}>
                  {failed}
                </span>
              )}
              {p.id === 'queue' && failed === 0 && busy > 0 && (
                <span className="nav__count" aria-label={`${busy} to go`}>
                  {busy > 999 ? '999+' : busy}
                </span>
              )}
              {p.id === 'conflicts' && conflicted > 0 && (
                <span
                  className="nav__count nav__count--warn"
                  aria-label={conflicted === 1 ? '1 conflict' : `${conflicted} conflicts`}
                >
                  {conflicted > 999 ? '999+' : conflicted}
                </span>
              )}
            </a>
          </li>
        ))}
      </ul>
      {status.data && <p className="nav__state">{status.data.state}</p>}
    </nav>
  );
}
