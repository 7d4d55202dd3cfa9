/**
 * Retries with exponential backoff and full jitter, shared by every backend so
 * that a throttled or flaky store behaves the same whatever serves it.
 *
 * Only transient failures are retried: throttling, server errors and broken
 * connections. Client errors (4xx) fail at once, because sending the same
 * request again cannot fix them.
 *
 * @module
 */

import { StorageError } from "../errors.ts";

/** Options of {@linkcode withRetry}. */
export interface RetryOptions {
  /** Total tries including the first; default 5. */
  attempts?: number;
  /** Backoff base in milliseconds; default 100. */
  baseMs?: number;
  /** Largest single wait in milliseconds; default 5000. */
  maxMs?: number;
  /** Stops waiting and retrying; its reason is thrown. */
  signal?: AbortSignal;
  /** Whether an error is worth another try; default {@linkcode isRetryableError}. */
  isRetryable?: (err: unknown, attempt: number) => boolean;
  /** What is being tried, for the give-up message, e.g. "PUT s3://bucket/key". */
  what?: string;
  /** Called before each wait, e.g. to count retries in metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Thrown when every attempt failed with a retryable error. */
export class RetriesExhaustedError extends StorageError {
  /** How many attempts were made. */
  readonly attempts: number;
  /** Code of the last error, e.g. "SlowDown" or "ECONNRESET". */
  readonly lastCode: string;

  /** Describe the operation, the attempt count and the last error. */
  constructor(what: string, attempts: number, lastError: unknown) {
    const code = errorCode(lastError);
    const status = httpStatus(lastError);
    const detail = status === undefined ? code : `${code}, HTTP ${status}`;
    super(
      `${what} failed after ${attempts} attempt${
        attempts === 1 ? "" : "s"
      } (last error: ${detail}); ` +
        "the storage backend is unavailable or overloaded, try again later",
      { cause: lastError },
    );
    this.attempts = attempts;
    this.lastCode = code;
  }
}

const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  // S3 and AWS throttling and transient server-side conditions.
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "ServiceUnavailable",
  "ConditionalRequestConflict",
  "TimeoutError",
  // Node-style socket errors.
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  // Deno-style socket errors.
  "ConnectionReset",
  "ConnectionRefused",
  "ConnectionAborted",
  "TimedOut",
  "BrokenPipe",
  "UnexpectedEof",
  // A body shorter than its Content-Length: the connection broke mid-transfer.
  "ShortRead",
]);

/** A refused connection usually means the server is down, so it gets only this many tries. */
const REFUSED_ATTEMPTS = 3;

/**
 * Best-effort short code of an error: the S3 error code ("NoSuchKey"), the
 * socket error code ("ECONNRESET"), or the error's name.
 */
export function errorCode(err: unknown): string {
  for (const e of causeChain(err)) {
    const rec = e as Record<string, unknown>;
    for (const field of ["Code", "code"]) {
      if (typeof rec[field] === "string" && rec[field] !== "") return rec[field] as string;
    }
    if (
      typeof rec.name === "string" && rec.name !== "Error" && rec.name !== "TypeError" &&
      rec.name !== ""
    ) {
      return rec.name;
    }
  }
  return err instanceof Error ? err.name : typeof err;
}

/** HTTP status carried by an error (AWS SDK `$metadata`, or `status`/`statusCode`), if any. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const rec = err as Record<string, unknown>;
  const meta = rec.$metadata as Record<string, unknown> | undefined;
  for (const v of [meta?.httpStatusCode, rec.status, rec.statusCode]) {
    if (typeof v === "number") return v;
  }
  return undefined;
}

/**
 * Default retry policy: throttling (429, SlowDown), 5xx other than 501/505,
 * request timeouts and broken or refused connections. A refused connection is
 * retried only a few times, since it usually means nothing listens there.
 */
export function isRetryableError(err: unknown, attempt = 1): boolean {
  for (const e of causeChain(err)) {
    const rec = e as Record<string, unknown>;
    if (rec.name === "AbortError") return false;
    const status = httpStatus(e);
    if (status !== undefined) {
      if (status === 429) return true;
      if (status >= 500 && status !== 501 && status !== 505) return true;
      // Some transient conditions come back as 4xx: S3's RequestTimeout is a 400,
      // throttling is a 400 on some services, a racing conditional write a 409.
      if (status >= 400) return status === 408 || RETRYABLE_CODES.has(errorCode(e));
    }
    for (const code of [rec.Code, rec.code, rec.name]) {
      if (typeof code !== "string" || !RETRYABLE_CODES.has(code)) continue;
      if (code === "ECONNREFUSED" || code === "ConnectionRefused") {
        return attempt < REFUSED_ATTEMPTS;
      }
      return true;
    }
  }
  return false;
}

/**
 * Full-jitter exponential backoff: a uniformly random wait between 0 and
 * min(maxMs, baseMs * 2^(attempt-1)). Jitter spreads out clients that failed
 * together so they do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Run `fn` until it succeeds, retrying transient failures with backoff.
 *
 * A non-retryable error is rethrown unchanged so callers can map it (e.g. a
 * 404 to NotFoundError). When every attempt fails with retryable errors a
 * {@linkcode RetriesExhaustedError} says what failed, how often, and why.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`retry attempts must be a positive integer, got ${attempts}`);
  }
  const baseMs = opts.baseMs ?? 100;
  const maxMs = opts.maxMs ?? 5000;
  const isRetryable = opts.isRetryable ?? isRetryableError;
  const signal = opts.signal;
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!isRetryable(err, attempt)) throw err;
      if (attempt >= attempts) {
        throw new RetriesExhaustedError(opts.what ?? "storage request", attempt, err);
      }
      const delay = backoffDelay(attempt, baseMs, maxMs);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function* causeChain(err: unknown): Generator<object> {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === "object" && e !== null; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}
