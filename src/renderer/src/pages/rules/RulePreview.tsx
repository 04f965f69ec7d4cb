import { keepPreviousData } from '@tanstack/react-query';
import { Fragment, useId, type ReactNode } from 'react';
import type { PreviewResult } from '../../../../shared/contract';
import { ErrorNote } from '../../components/ui';
import { formatBytes, plural } from '../../lib/format';
import { useRequest } from '../../lib/query';
import type { RuleInput } from './ruleModel';

/** Matches listed in the table; the counts are complete whatever the limit. */
export const PREVIEW_LIMIT = 200;

/**
 * What the draft rule would do, answered by the engine from its index (`rules:preview`). The previous
 * answer stays on screen, dimmed, while the next one is asked for: no jump at every keystroke.
 */
export function RulePreview({ rule, valid, pending }: { rule: RuleInput; valid: boolean; pending: boolean }) {
  const headingId = useId();
  const preview = useRequest(
    'rules:preview',
    { rule, limit: PREVIEW_LIMIT },
    { enabled: valid, placeholderData: keepPreviousData },
  );
  const data = preview.data;
  const busy = valid && (pending || preview.isFetching);
  const stale = data !== undefined && (!valid || preview.isPlaceholderData || pending);
  return (
    <section
      className="card rule-preview"
      data-testid="rule-preview"
      aria-labelledby={headingId}
      aria-live="polite"
      aria-busy={busy}
    >
      <div className="rule-preview__head">
        <h2 id={headingId}>Preview</h2>
        <span className="rule-preview__state small muted" aria-hidden="true">
          {busy ? 'Updating…' : stale ? 'Out of date' : data ? 'From the latest scan' : ''}
        </span>
      </div>
      {!valid && (
        <p className="rule-preview__hint small">
          {data
            ? 'The rule has problems: fix them to bring the preview up to date.'
            : 'Choose a folder and a destination, and fix any problem in the form, to see what this rule would catch.'}
        </p>
      )}
      <ErrorNote error={preview.error} title="No preview" />
      {data ? (
        <PreviewBody data={data} stale={stale} />
      ) : (
        valid && !preview.error && <p className="muted">Looking at the indexed files…</p>
      )}
    </section>
  );
}

function PreviewBody({ data, stale }: { data: PreviewResult; stale: boolean }) {
  return (
    <div className={`rule-preview__body${stale ? ' rule-preview__body--stale' : ''}`}>
      <p className="rule-preview__total" data-testid="preview-total">
        <strong>{plural(data.total, 'file')}</strong> {data.total === 1 ? 'matches' : 'match'}
      </p>
      <dl className="rule-preview-stats">
        <Stat label="Not caught by this rule" value={data.unmatched} />
        <Stat
          label="Kept by an earlier rule"
          value={data.shadowed.count}
          tone={data.shadowed.count ? 'warn' : undefined}
        />
        <Stat label="Caught by no rule" value={data.uncaught.count} tone={data.uncaught.count ? 'warn' : undefined} />
        <Stat
          label="Name collisions"
          value={data.collisions.count}
          tone={data.collisions.count ? 'error' : undefined}
        />
      </dl>

      {data.collisions.count > 0 && (
        <PreviewSection
          title="Name collisions"
          tone="error"
          count={data.collisions.count}
          shown={data.collisions.sample.length}
        >
          <p className="small">
            Two files would get the same remote path: the first keeps it, the other is not shipped. Add{' '}
            <code>{'{dir}'}</code> or use <code>{'{path}'}</code> in the template to keep them apart.
          </p>
          <ul className="rule-preview-list">
            {data.collisions.sample.map((c) => (
              <li key={`${c.remotePath}\n${c.paths[1]}`}>
                <span className="mono">{c.remotePath}</span>
                <span className="muted"> ← </span>
                <span className="mono">{c.paths[0]}</span>
                <span className="muted"> and </span>
                <span className="mono">{c.paths[1]}</span>
              </li>
            ))}
          </ul>
        </PreviewSection>
      )}

      {data.untyped > 0 && (
        <div className="note note--warn small">
          {plural(data.untyped, 'file')} of these folders {data.untyped === 1 ? 'has' : 'have'} no known content type
          yet: {data.untyped === 1 ? 'it is' : 'they are'} sniffed once the rule is saved, so the type conditions may
          catch more or fewer files than shown.
        </div>
      )}

      <PreviewSection title="Matches" count={data.total} shown={data.matches.length}>
        {data.matches.length === 0 ? (
          <p className="muted small">
            No indexed file matches this rule
            {data.unmatched > 0 ? ` (${plural(data.unmatched, 'file')} of its folders do not)` : ''}.
          </p>
        ) : (
          <div className="rule-preview-table">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Folder</th>
                  <th scope="col">Path</th>
                  <th scope="col" className="num">
                    Size
                  </th>
                  <th scope="col">→ Remote path</th>
                  <th scope="col">Also caught by</th>
                </tr>
              </thead>
              <tbody>
                {data.matches.map((m) => (
                  <tr key={`${m.folder}\n${m.path}`} data-testid="preview-row">
                    <td>{m.folder}</td>
                    <td className="mono rule-preview-table__path">
                      <PathText path={m.path} />
                    </td>
                    <td className="num">{formatBytes(m.size)}</td>
                    <td
                      className={`mono rule-preview-table__path${m.remotePath.startsWith('(invalid') ? ' rule-preview-table__bad' : ''}`}
                    >
                      <PathText path={m.remotePath} />
                    </td>
                    <td>{m.also.length > 0 ? m.also.join(', ') : <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </PreviewSection>

      {data.shadowed.count > 0 && (
        <PreviewSection
          title="Kept from this rule by an earlier rule"
          tone="warn"
          count={data.shadowed.count}
          shown={data.shadowed.sample.length}
        >
          <p className="small muted">
            An earlier rule with “stop” catches these first. Move this rule above it, or narrow that rule.
          </p>
          <ul className="rule-preview-list">
            {data.shadowed.sample.map((s) => (
              <li key={`${s.folder}\n${s.path}`}>
                <span className="muted">{s.folder}/</span>
                <span className="mono">{s.path}</span>
                <span className="muted"> — by </span>
                <strong>{s.by}</strong>
              </li>
            ))}
          </ul>
        </PreviewSection>
      )}

      {data.uncaught.count > 0 && (
        <PreviewSection
          title="Caught by no rule"
          tone="warn"
          count={data.uncaught.count}
          shown={data.uncaught.sample.length}
        >
          <p className="small muted">
            With this rule in place, these files go nowhere (they are reported, never dropped).
          </p>
          <ul className="rule-preview-list">
            {data.uncaught.sample.map((u) => (
              <li key={`${u.folder}\n${u.path}`}>
                <span className="muted">{u.folder}/</span>
                <span className="mono">{u.path}</span>
              </li>
            ))}
          </ul>
        </PreviewSection>
      )}
    </div>
  );
}

function Stat({ label, value, tone }: { label: string; value: number; tone?: 'warn' | 'error' | undefined }) {
  return (
    <div className={`rule-preview-stats__item${tone ? ` rule-preview-stats__item--${tone}` : ''}`}>
      <dt>{label}</dt>
      <dd>{value.toLocaleString()}</dd>
    </div>
  );
}

function PreviewSection({
  title,
  count,
  shown,
  tone,
  children,
}: {
  title: string;
  count: number;
  shown: number;
  tone?: 'warn' | 'error';
  children: ReactNode;
}) {
  return (
    <section className={`rule-preview-section${tone ? ` rule-preview-section--${tone}` : ''}`}>
      <h3 className="rule-preview-section__title">
        {title} <span className="rule-preview-section__count">{count.toLocaleString()}</span>
      </h3>
      {shown < count && shown > 0 && (
        <p className="small muted">
          Showing the first {shown.toLocaleString()} of {count.toLocaleString()}.
        </p>
      )}
      {children}
    </section>
  );
}

/** A path that wraps after its slashes, never inside a name. */
function PathText({ path }: { path: string }) {
  const parts = path.split('/');
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {part}
          {i < parts.length - 1 && (
            <>
              /<wbr />
            </>
          )}
        </Fragment>
      ))}
    </>
  );
}
