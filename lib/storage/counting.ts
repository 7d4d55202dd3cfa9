/**
 * A store wrapper that counts operations and bytes per kind of operation.
 *
 * Tests use it to assert request budgets ("a 10 MiB push makes at most 12
 * PUTs"), metrics use its hook. It counts calls made through the interface;
 * retries inside a backend are not visible here (the fault proxy counts those
 * on the wire).
 *
 * @module
 */

import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore } from "./store.ts";

/** The operations of {@linkcode ObjectStore} that reach the backend. */
export type StoreOperation = "get" | "put" | "putIfAbsent" | "head" | "list" | "delete";

/** Every {@linkcode StoreOperation}, in a fixed order. */
export const STORE_OPERATIONS: readonly StoreOperation[] = [
  "get",
  "put",
  "putIfAbsent",
  "head",
  "list",
  "delete",
];

/** Totals for one kind of operation. */
export interface OperationStats {
  /** Calls made, successful or not. */
  requests: number;
  /** Calls that threw (NotFoundError from get counts as an error). */
  errors: number;
  /** Bytes received: object bodies returned by get. */
  bytesIn: number;
  /** Bytes sent: object bodies given to put and putIfAbsent. */
  bytesOut: number;
}

/** One finished operation, as reported to {@linkcode CountingOptions.onOperation}. */
export interface OperationEvent {
  /** Which operation. */
  op: StoreOperation;
  /** False if it threw. */
  ok: boolean;
  /** Body bytes moved (in for get, out for puts, 0 otherwise). */
  bytes: number;
  /** Wall time in milliseconds. */
  durationMs: number;
}

/** Options of {@linkcode CountingStore}. */
export interface CountingOptions {
  /** Called after every operation, e.g. to feed a metrics histogram. */
  onOperation?: (event: OperationEvent) => void;
}

/** Wraps a store and counts what goes through it; behaviour is otherwise unchanged. */
export class CountingStore implements ObjectStore {
  /** The wrapped store. */
  readonly inner: ObjectStore;
  #stats: Record<StoreOperation, OperationStats> = emptyStats();
  #onOperation?: (event: OperationEvent) => void;

  /** Wrap `inner`. */
  constructor(inner: ObjectStore, options: CountingOptions = {}) {
    this.inner = inner;
    this.#onOperation = options.onOperation;
  }

  /** Location of the wrapped store. */
  get url(): string {
    return this.inner.url;
  }

  /** A copy of the totals so far. */
  stats(): Record<StoreOperation, OperationStats> {
    return structuredClone(this.#stats);
  }

  /** How many calls of one operation were made. */
  count(op: StoreOperation): number {
    return this.#stats[op].requests;
  }

  /** Start counting from zero. */
  reset(): void {
    this.#stats = emptyStats();
  }

  /** Counted {@linkcode ObjectStore.get}. */
  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#track("get", 0, () => this.inner.get(key, range, signal), (b) => b.byteLength);
  }

  /** Counted {@linkcode ObjectStore.put}. */
  put(key: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
    return this.#track("put", body.byteLength, () => this.inner.put(key, body, signal));
  }

  /** Counted {@linkcode ObjectStore.putIfAbsent}. */
  putIfAbsent(key: string, body: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    return this.#track(
      "putIfAbsent",
      body.byteLength,
      () => this.inner.putIfAbsent(key, body, signal),
    );
  }

  /** Counted {@linkcode ObjectStore.head}. */
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    return this.#track("head", 0, () => this.inner.head(key, signal));
  }

  /** Counted {@linkcode ObjectStore.listPage}; each page is one request. */
  listPage(prefix: string, opts?: ListOptions, signal?: AbortSignal): Promise<ListPage> {
    return this.#track("list", 0, () => this.inner.listPage(prefix, opts, signal));
  }

  /** Counted {@linkcode ObjectStore.delete}. */
  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.#track("delete", 0, () => this.inner.delete(key, signal));
  }

  /** Close the wrapped store. */
  close(): Promise<void> {
    return this.inner.close();
  }

  async #track<T>(
    op: StoreOperation,
    bytesOut: number,
    call: () => Promise<T>,
    bytesInOf?: (result: T) => number,
  ): Promise<T> {
    const stats = this.#stats[op];
    stats.requests++;
    const start = performance.now();
    let ok = false;
    let bytes = bytesOut;
    try {
      const result = await call();
      ok = true;
      if (bytesInOf !== undefined) bytes = bytesInOf(result);
      return result;
    } finally {
      // `reset()` may have swapped the table meanwhile; count into the one we started in.
      if (ok) {
        stats.bytesOut += bytesOut;
        if (bytesInOf !== undefined) stats.bytesIn += bytes;
      } else {
        stats.errors++;
      }
      this.#onOperation?.({ op, ok, bytes, durationMs: performance.now() - start });
    }
  }
}

function emptyStats(): Record<StoreOperation, OperationStats> {
  const stats = {} as Record<StoreOperation, OperationStats>;
  for (const op of STORE_OPERATIONS) {
    stats[op] = { requests: 0, errors: 0, bytesIn: 0, bytesOut: 0 };
  }
  return stats;
}
