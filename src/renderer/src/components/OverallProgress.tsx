import { formatBytes, formatDuration, formatRate, plural } from '../lib/format';
import { useOverallProgress } from '../lib/progress';
import { ProgressBar } from './ui';

/**
 * How far the queued work has come, from the engine's one progress model: the Status and Queue pages
 * show this same component, so their figures cannot disagree (the tray reads the same model).
 */
export function OverallProgress({ compact = false }: { compact?: boolean }) {
  const p = useOverallProgress();
  const total = p.bytesDone + p.bytesLeft;
  const eta = p.etaSec === null ? '—' : formatDuration(p.etaSec * 1000);
  const idle = p.filesLeft === 0;
  return (
    <section
      className={compact ? 'overall overall--compact' : 'overall'}
      aria-label="Progress"
      data-testid="overall-progress"
    >
      <dl className="figures">
        <div className="figure">
          <dt>Throughput</dt>
          <dd data-testid="progress-rate">{formatRate(p.rate)}</dd>
        </div>
        <div className="figure">
          <dt>Time left</dt>
          <dd data-testid="progress-eta">{idle ? '—' : eta}</dd>
        </div>
        <div className="figure">
          <dt>Files left</dt>
          <dd data-testid="progress-files-left">{p.filesLeft.toLocaleString()}</dd>
        </div>
        <div className="figure">
          <dt>Bytes left</dt>
          <dd data-testid="progress-bytes-left">{formatBytes(p.bytesLeft)}</dd>
        </div>
      </dl>
      {!idle && (
        <div className="overall__bar">
          <ProgressBar
            value={total > 0 ? p.bytesDone : p.filesDone}
            max={total > 0 ? total : p.filesDone + p.filesLeft}
            label={`Overall progress: ${p.percent ?? 0} % done, ${plural(p.filesLeft, 'file')} and ${formatBytes(p.bytesLeft)} left`}
          />
          <span className="small muted num" data-testid="progress-percent">
            {p.percent ?? 0} % done
          </span>
        </div>
      )}
    </section>
  );
}
