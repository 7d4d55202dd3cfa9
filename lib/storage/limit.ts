/**
 * Bounded parallelism: a counting semaphore for async work, and a map over
 * many items that keeps at most N of them in flight.
 *
 * Storage requests are latency-bound, so they are issued in parallel, but an
 * unbounded fan-out (one request per chunk of a large file) overwhelms both
 * the local socket pool and the server; a limiter keeps it steady.
 *
 * @module
 */

/** Runs at most `concurrency` async tasks at once; later ones wait in FIFO order. */
export class Limiter {
  /** Most tasks running at once. */
  readonly concurrency: number;
  #active = 0;
  #waiting: (() => void)[] = [];

  /** Make a limiter allowing `concurrency` (a positive integer) tasks at once. */
  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    this.concurrency = concurrency;
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Run `fn` once a slot is free and settle with its result. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter so the count never dips and
      // lets a newcomer jump the queue.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#active--;
    }
  }
}

/**
 * Apply `fn` to every item with at most `concurrency` calls in flight and
 * return the results in input order.
 *
 * On the first failure no further items are started; the calls already running
 * are awaited (so nothing is left dangling) and then the first error is thrown.
 */
export async function mapLimit<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const iterator = Symbol.asyncIterator in items
    ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
    : toAsync((items as Iterable<T>)[Symbol.iterator]());
  const results: R[] = [];
  let failed = false;
  let firstError: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!failed) {
      const step = await iterator.next();
      if (step.done || failed) return;
      const index = next++;
      try {
        results[index] = await fn(step.value, index);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failed) {
    await iterator.return?.();
    throw firstError;
  }
  return results;
}

function toAsync<T>(it: Iterator<T>): AsyncIterator<T> {
  return {
    next: () => Promise.resolve(it.next()),
    return: () => Promise.resolve(it.return?.() ?? { done: true, value: undefined }),
  };
}
