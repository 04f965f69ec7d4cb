import { useCallback, useId, useState } from 'react';
import { BridgeError } from '../../../../shared/bridge';
import { ErrorNote } from '../../components/ui';
import { request } from '../../lib/bridge';
import { formatWhen } from '../../lib/format';

export type ShareLinkState =
  | { status: 'loading' }
  | { status: 'ready'; url: string; expiresAt: number | null; copied: boolean }
  | { status: 'failed'; error: BridgeError };

/** Copies when the clipboard lets us (it may not, e.g. in a browser tab without focus). */
async function copy(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Share links made in this panel, by file path: made on request, copied to the clipboard at once. */
export function useShareLinks(destination: string) {
  const [state, setState] = useState<Record<string, ShareLinkState>>({});
  const make = useCallback(
    async (path: string) => {
      setState((s) => ({ ...s, [path]: { status: 'loading' } }));
      try {
        const { url, expiresAt } = await request('destination:shareLink', { destination, path });
        const copied = await copy(url);
        setState((s) => ({ ...s, [path]: { status: 'ready', url, expiresAt, copied } }));
      } catch (err) {
        setState((s) => ({ ...s, [path]: { status: 'failed', error: BridgeError.from(err) } }));
      }
    },
    [destination],
  );
  return { state, make };
}

/** The link under its file's row: in a read-only box (to copy by hand), with "Open". */
export function ShareLinkRow({
  name,
  link,
  onRetry,
}: {
  name: string;
  link: ShareLinkState;
  onRetry: () => void;
}): React.JSX.Element {
  const inputId = useId();
  return (
    <tr className="dest-share">
      <td colSpan={4}>
        {link.status === 'loading' && (
          <span className="muted small" role="status">
            <span className="dest-spinner" aria-hidden="true" /> Making a link to {name}…
          </span>
        )}
        {link.status === 'failed' && (
          <div className="row">
            <ErrorNote error={link.error} title={`No link to ${name}`} />
            <button type="button" className="btn btn--small" onClick={onRetry}>
              Try again
            </button>
          </div>
        )}
        {link.status === 'ready' && (
          <div className="dest-share__box">
            <label className="visually-hidden" htmlFor={inputId}>
              Share link of {name}
            </label>
            <input
              id={inputId}
              type="text"
              className="mono"
              readOnly
              value={link.url}
              onFocus={(e) => e.currentTarget.select()}
            />
            <a className="btn btn--small" href={link.url} target="_blank" rel="noreferrer" aria-label={`Open ${name}`}>
              Open
            </a>
            <span className="muted small" role="status">
              {link.copied ? 'Copied to the clipboard. ' : 'Select the link to copy it. '}
              {link.expiresAt === null ? 'It does not expire.' : `Valid until ${formatWhen(link.expiresAt)}.`}
            </span>
          </div>
        )}
      </td>
    </tr>
  );
}
