/**
 * An LRU list of sized entries: a Map kept in use order (least recently used
 * first) with a running byte total. The chunk cache keeps one for its files
 * on disk and one for its memory tier; the eviction policy stays with them.
 *
 * @module
 */

/** Entries by key, least recently used first, with their sizes in bytes. */
export class SizedLru<V> {
  readonly #entries = new Map<string, { value: V; size: number }>();
  #bytes = 0;

  /** Sum of the entries' sizes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `key` is present (does not count as a use). */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The size of `key`'s entry, if present (does not count as a use). */
  sizeOf(key: string): number | undefined {
    return this.#entries.get(key)?.size;
  }

  /** The value of `key`, marking it most recently used. */
  use(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  /** Add or replace `key` as the most recently used entry. */
  set(key: string, value: V, size: number): void {
    this.delete(key);
    this.#entries.set(key, { value, size });
    this.#bytes += size;
  }

  /** Remove `key`; returns whether it was present. */
  delete(key: string): boolean {
    const e = this.#entries.get(key);
    if (!e) return false;
    this.#entries.delete(key);
    this.#bytes -= e.size;
    return true;
  }

  /** Keys, least recently used first. */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /**
   * Remove least recently used entries, skipping those `keep` says to keep,
   * until the total is at most `maxBytes`; returns the keys removed.
   */
  trim(maxBytes: number, keep: (key: string) => boolean = () => false): string[] {
    const removed: string[] = [];
    for (const [key, e] of this.#entries) {
      if (this.#bytes <= maxBytes) break;
      if (keep(key)) continue;
      this.#entries.delete(key);
      this.#bytes -= e.size;
      removed.push(key);
    }
    return removed;
  }
}
