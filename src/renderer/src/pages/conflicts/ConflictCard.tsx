import { useId } from 'react';
import type { ConflictItem } from '../../../../shared/contract';
import { formatBytes, formatWhen } from '../../lib/format';
import { formatDay, KEEP_HELP, KEEP_LABEL, newerSide, type Keep } from './conflictView';

const CHOICES: readonly Keep[] = ['mine', 'theirs', 'both'];

/**
 * One file changed on both sides: this computer's version ("mine", at the file's own name) beside the
 * other side's ("theirs", kept as a conflicted copy), and the three ways to settle it.
 */
export function ConflictCard({
  item,
  settling,
  disabled,
  onKeep,
}: {
  item: ConflictItem;
  /** This conflict is being settled. */
  settling: boolean;
  /** One conflict is settled at a time: the buttons wait meanwhile. */
  disabled: boolean;
  onKeep: (keep: Keep) => void;
}) {
  const headingId = useId();
  const newer = newerSide(item);
  const newerTag = <span className="conflict__newer">newer</span>;
  return (
    <li className="card conflict" data-testid="conflict" data-copy={item.copy} aria-labelledby={headingId}>
      <div className="conflict__head">
        <h2 id={headingId} className="conflict__file mono">
          {item.path}
        </h2>
        <span className="conflict__where small muted">
          rule <strong>{item.rule}</strong> · folder <strong>{item.folder}</strong>
        </span>
      </div>
      <p className="conflict__lead small">
        Changed here and on <strong>{item.host}</strong> before the two synced; their version was kept beside yours on{' '}
        {formatDay(item.date)}.
      </p>
      <table className="conflict__sides">
        <colgroup>
          <col className="conflict__label-col" />
          <col />
          <col />
        </colgroup>
        <thead>
          <tr>
            <td />
            <th scope="col">Mine (here)</th>
            <th scope="col">Theirs (from {item.host})</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">File</th>
            <td className="mono">{item.path}</td>
            <td className="mono">{item.copy}</td>
          </tr>
          <tr>
            <th scope="row">Size</th>
            <td className="num-left">{item.mine ? formatBytes(item.mine.size) : <NotHere />}</td>
            <td className="num-left">{formatBytes(item.theirs.size)}</td>
          </tr>
          <tr>
            <th scope="row">Modified</th>
            <td>
              {item.mine ? formatWhen(item.mine.mtimeMs) : <NotHere />} {newer === 'mine' && newerTag}
            </td>
            <td>
              {formatWhen(item.theirs.mtimeMs)} {newer === 'theirs' && newerTag}
            </td>
          </tr>
        </tbody>
      </table>
      <div className="conflict__actions" role="group" aria-label={`Settle ${item.path}`}>
        {CHOICES.map((keep) => (
          <button
            key={keep}
            type="button"
            className={`btn btn--small${keep === 'both' ? ' btn--primary' : ''}`}
            aria-label={`${KEEP_LABEL[keep]} for ${item.path}`}
            title={KEEP_HELP[keep]}
            disabled={disabled}
            onClick={() => onKeep(keep)}
          >
            {KEEP_LABEL[keep]}
          </button>
        ))}
        {settling && (
          <span className="small muted" role="status">
            Settling…
          </span>
        )}
      </div>
    </li>
  );
}

function NotHere() {
  return <span className="muted">not here (deleted)</span>;
}
