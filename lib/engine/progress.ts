/**
 * Progress of long transfers, reported by the engine and rendered by the CLI
 * (a bar on a terminal, nothing otherwise) or streamed by the daemon.
 *
 * @module
 */

/** A snapshot of a transfer's progress. */
export interface Progress {
  /** What is happening: `scan`, `upload`, `download`, `commit`. */
  phase: string;
  /** Files finished. */
  filesDone: number;
  /** Files to do (known after the scan). */
  filesTotal: number;
  /** Bytes processed. */
  bytesDone: number;
  /** Bytes to process. */
  bytesTotal: number;
  /** The file being worked on, if one. */
  current?: string;
}

/** Receives progress snapshots; called often, so it must be cheap. */
export type ProgressListener = (p: Readonly<Progress>) => void;

/** Keeps a {@link Progress} and tells a listener about changes, at most every `intervalMs`. */
export class ProgressTracker {
  /** The current numbers. */
  readonly state: Progress = {
    phase: "scan",
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
  };
  readonly #listener?: ProgressListener;
  readonly #intervalMs: number;
  #last = 0;

  /** Track progress for `listener` (none: tracking only). */
  constructor(listener?: ProgressListener, intervalMs = 100) {
    this.#listener = listener;
    this.#intervalMs = intervalMs;
  }

  /** Change fields and notify (rate-limited unless `force`). */
  update(change: Partial<Progress>, force = false): void {
    Object.assign(this.state, change);
    this.#emit(force);
  }

  /** Add processed bytes. */
  addBytes(n: number): void {
    this.state.bytesDone += n;
    this.#emit(false);
  }

  /** Count a finished file. */
  fileDone(): void {
    this.state.filesDone++;
    this.#emit(false);
  }

  #emit(force: boolean): void {
    if (!this.#listener) return;
    const now = Date.now();
    if (!force && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#listener({ ...this.state });
  }
}
