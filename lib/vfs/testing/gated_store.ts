/**
 * A store wrapper that holds back or fails reads of chosen objects, for
 * tests of a file system whose downloads stall or break (the file backend
 * has no network to slow down; `lib/storage/fault_proxy.ts` does this for
 * S3). Everything else passes straight through.
 *
 * @module
 */

import { StorageError } from "../../errors.ts";
import type {
  ByteRange,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
} from "../../storage/mod.ts";

/** Which object keys a rule applies to. */
export type KeyMatch = (key: string) => boolean;

/** Holds or fails `get`s of matching keys; see the module documentation. */
export class GatedStore implements ObjectStore {
  /** The wrapped store. */
  readonly inner: ObjectStore;
  #held: KeyMatch | null = null;
  #failing: KeyMatch | null = null;
  #release: Promise<void> = Promise.resolve();
  #open: () => void = () => {};
  /** Gets that are waiting at the gate now. */
  waiting = 0;

  /** Wrap `inner`. */
  constructor(inner: ObjectStore) {
    this.inner = inner;
  }

  /** Location of the wrapped store. */
  get url(): string {
    return this.inner.url;
  }

  /** From now on, gets of matching keys wait until {@link release}. */
  hold(match: KeyMatch): void {
    this.#held = match;
    this.#release = new Promise((resolve) => this.#open = resolve);
  }

  /** Let held gets (and later ones) through. */
  release(): void {
    this.#held = null;
    this.#open();
  }

  /** From now on, gets of matching keys fail with a StorageError (null: stop failing). */
  fail(match: KeyMatch | null): void {
    this.#failing = match;
  }

  /** A get, held or failed as set up. */
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.#failing?.(key)) throw new StorageError(`injected failure reading ${key}`);
    if (this.#held?.(key)) {
      this.waiting++;
      try {
        await this.#release;
      } finally {
        this.waiting--;
      }
    }
    return await this.inner.get(key, range, signal);
  }

  /** Passed through. */
  put(key: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
    return this.inner.put(key, body, signal);
  }

  /** Passed through. */
  putIfAbsent(key: string, body: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    return this.inner.putIfAbsent(key, body, signal);
  }

  /** Passed through. */
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    return this.inner.head(key, signal);
  }

  /** Passed through. */
  listPage(prefix: string, opts?: ListOptions, signal?: AbortSignal): Promise<ListPage> {
    return this.inner.listPage(prefix, opts, signal);
  }

  /** Passed through. */
  delete(key: string, signal?: AbortSignal): Promise<void> {
    return this.inner.delete(key, signal);
  }

  /** Releases held gets, then closes the wrapped store. */
  async close(): Promise<void> {
    this.release();
    await this.inner.close();
  }
}
