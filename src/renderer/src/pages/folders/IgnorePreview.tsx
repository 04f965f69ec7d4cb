import { keepPreviousData } from '@tanstack/react-query';
import { plural } from '../../lib/format';
import { useRequest } from '../../lib/query';
import { useDebounced } from '../../lib/useDebounced';

/** "What this ignores": the entries the draft patterns (and the folder's .ferryignore files) leave out. */
export function IgnorePreview({ path, patterns }: { path: string; patterns: string[] }) {
  const input = useDebounced({ path, ignore: patterns, limit: 50 }, 300);
  const preview = useRequest('folder:ignorePreview', input, {
    enabled: input.path.trim() !== '',
    placeholderData: keepPreviousData,
  });
  const r = preview.data;
  return (
    <div className="ignore-preview" aria-live="polite" data-testid="ignore-preview">
      {!r ? (
        <p className="muted small">Type a path to see what the patterns leave out.</p>
      ) : r.ignoredCount === 0 ? (
        <p className="muted small">
          Nothing in this folder is ignored ({plural(r.scanned, 'entry', 'entries')} looked at).
        </p>
      ) : (
        <>
          <p className="small">
            Ignores <strong>{r.ignoredCount.toLocaleString()}</strong> of {plural(r.scanned, 'entry', 'entries')}
            {r.truncated ? ' (the first 50,000 looked at)' : ''}:
          </p>
          <ul className="ignore-preview__list">
            {r.ignored.map((p) => (
              <li key={p} className="mono">
                {p}
              </li>
            ))}
            {r.ignoredCount > r.ignored.length && (
              <li className="muted">… and {(r.ignoredCount - r.ignored.length).toLocaleString()} more</li>
            )}
          </ul>
        </>
      )}
    </div>
  );
}
