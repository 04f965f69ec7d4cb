import type { WalkedFile } from '../../scan/walk';

/**
 * The chunks of a streamed walk (FileWorkers.walk with `onFiles`) as something to pull from: each
 * chunk's promise, which the walk waits on for back-pressure, settles once the next one is asked for.
 * Abandoned (the reader stopped early), every chunk is let go at once so the walk can end.
 */
export class WalkedChunks {
  private readonly ready: { files: WalkedFile[]; release: () => void }[] = [];
  private held: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private done = false;
  private failure: { err: unknown } | undefined;
  private abandoned = false;

  put(files: WalkedFile[]): Promise<void> {
    if (this.abandoned) return Promise.resolve();
    return new Promise<void>((release) => {
      this.ready.push({ files, release });
      this.poke();
    });
  }

  end(): void {
    this.done = true;
    this.poke();
  }

  fail(err: unknown): void {
    this.failure = { err };
    this.done = true;
    this.poke();
  }

  /** The next chunk (the previous one released), or undefined once the walk is over. */
  async next(): Promise<WalkedFile[] | undefined> {
    this.held?.();
    this.held = undefined;
    for (;;) {
      const first = this.ready.shift();
      if (first) {
        this.held = first.release;
        return first.files;
      }
      if (this.failure) throw this.failure.err;
      if (this.done) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  abandon(): void {
    this.abandoned = true;
    this.held?.();
    this.held = undefined;
    for (const c of this.ready.splice(0)) c.release();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
