import type { EventBus } from '../events';
import type { FolderStatus, ServiceState } from '../../../shared/events';
import { ProgressModel, type ProgressSnapshot } from '../../../shared/progress';
import type { JobStore } from '../store/jobStore';

/**
 * What the live service says about itself: its state, each folder's status and the one progress model
 * (shared/progress.ts), each change sent as an event. While transfers run, progress is sent about
 * twice a second (and once more at the end).
 */
export class StatusModel {
  private state: ServiceState = 'starting';
  private readonly folders = new Map<string, FolderStatus>();
  private readonly progressModel = new ProgressModel();
  private progressBusy = false;
  private timer: NodeJS.Timeout | undefined;
  private offEvents: (() => void) | undefined;

  constructor(
    private readonly events: EventBus,
    private readonly jobs: JobStore,
  ) {}

  start(): void {
    this.offEvents = this.events.onAny((name, payload) => {
      this.progressModel.observe(name, payload);
      if (name === 'transfer:started') this.progressBusy = true;
    });
    this.timer = setInterval(() => {
      if (!this.progressBusy) return;
      const p = this.progress();
      this.events.emit('progress', p);
      this.progressBusy = p.running > 0 || p.filesLeft > 0;
    }, 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.offEvents?.();
  }

  get current(): ServiceState {
    return this.state;
  }

  setState(state: ServiceState): void {
    if (state === this.state) return;
    this.state = state;
    this.events.emit('service:status', { state });
  }

  folder(id: string): FolderStatus | undefined {
    return this.folders.get(id);
  }

  allFolders(): IterableIterator<[string, FolderStatus]> {
    return this.folders.entries();
  }

  setFolder(folder: string, patch: Partial<Omit<FolderStatus, 'folder'>>): void {
    const prev = this.folders.get(folder) ?? {
      folder,
      state: 'scanning',
      files: 0,
      watcher: null,
      lastScanAt: null,
      error: null,
    };
    const next = { ...prev, ...patch };
    this.folders.set(folder, next);
    this.events.emit('folder:status', next);
  }

  /** The one progress model's figures, against what the queue holds now. */
  progress(): ProgressSnapshot {
    return this.progressModel.snapshot(this.jobs.queuedByFolder());
  }
}
