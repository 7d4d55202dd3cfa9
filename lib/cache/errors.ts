/**
 * The error a file read raises when a chunk it needs cannot be fetched, and
 * helpers for waits that an AbortSignal can cut short.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";

/**
 * A chunk of a file could not be read (missing, corrupted in the repository,
 * storage failure). Names both the file and the chunk, so the log line the
 * file system writes when it answers EIO says exactly what failed; the
 * original error is the `cause`.
 */
export class ChunkReadError extends TcfsError {
  /** The file being read (as the caller named it). */
  readonly path: string;
  /** The chunk that failed. */
  readonly chunkId: string;

  /** Wrap `cause`, the failure to read chunk `chunkId` of `path`. */
  constructor(path: string, chunkId: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${path}: cannot read chunk ${chunkId}: ${why}`, { cause });
    this.path = path;
    this.chunkId = chunkId;
  }
}

/** Whether `err` is the reason of an aborted signal rather than a failure. */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (signal?.aborted === true && err === signal.reason) ||
    (err instanceof DOMException && err.name === "AbortError");
}

/**
 * Settle like `work`, or reject with `signal.reason` as soon as `signal` is
 * aborted (the work itself goes on; whoever started it owns it).
 */
export function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
