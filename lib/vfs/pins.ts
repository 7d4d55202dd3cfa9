/**
 * The mount's pins: files kept local whatever the cache's quota says. A pin
 * is held twice over: per node, a cache pin on the chunks of its content
 * (so eviction never turns it back into a stub), and per path, the paths
 * `tcfs pin` was asked for, saved in the journal directory so the next start
 * pins them again. Paths follow renames made through the mount and go with
 * deletions, so the saved pins always name what is pinned.
 *
 * @module
 */

import type { CachePin } from "../cache/mod.ts";
import type { Node } from "./inodes.ts";
import type { WriteJournal } from "./journal.ts";

/** Pins of one mount; see the module documentation. */
export class MountPins {
  readonly #journal: WriteJournal;
  readonly #held = new Map<Node, CachePin>();
  readonly #paths = new Set<string>();

  /** Pins saved in `journal`'s directory. */
  constructor(journal: WriteJournal) {
    this.#journal = journal;
  }

  /**
   * Read the paths saved before the last stop: they count as pinned from now
   * on (the caller pins their files again). Returns them.
   */
  async load(): Promise<string[]> {
    const paths = await this.#journal.readPins();
    for (const p of paths) this.#paths.add(p);
    return paths;
  }

  /** Whether `node` holds a cache pin now. */
  holds(node: Node): boolean {
    return this.#held.has(node);
  }

  /** Whether `path` is pinned by its own path or a directory above it (saved pins). */
  covers(path: string): boolean {
    for (const p of this.#paths) if (p === path || isBelow(path, p)) return true;
    return false;
  }

  /** `node` holds `pin` from now on (one it held before is released). */
  hold(node: Node, pin: CachePin): void {
    this.#held.get(node)?.release();
    this.#held.set(node, pin);
  }

  /** `node` lets its chunks be evicted again. */
  release(node: Node): void {
    this.#held.get(node)?.release();
    this.#held.delete(node);
  }

  /** Save `path` as pinned, or unpin it and every saved path below it. */
  async save(path: string, pinned: boolean): Promise<void> {
    if (pinned) this.#paths.add(path);
    else {
      const gone = [...this.#paths].filter((p) => p === path || isBelow(p, path));
      if (gone.length === 0) return;
      for (const p of gone) this.#paths.delete(p);
    }
    await this.#write();
  }

  /**
   * A node moved from path `from`: saved paths at or below it move along,
   * and a pinned file moved out of a pinned directory is saved under its new
   * path, so it is still pinned after a restart.
   */
  async moved(node: Node, from: string): Promise<void> {
    const to = node.path();
    if (to === null || to === from) return;
    let changed = false;
    for (const p of [...this.#paths]) {
      if (p !== from && !isBelow(p, from)) continue;
      this.#paths.delete(p);
      this.#paths.add(to + p.slice(from.length));
      changed = true;
    }
    if (!this.covers(to) && this.#holdsAtOrBelow(to)) {
      this.#paths.add(to);
      changed = true;
    }
    if (changed) await this.#write();
  }

  /** `path` was deleted through the mount: saved pins at or below it go too. */
  async removed(path: string): Promise<void> {
    await this.save(path, false);
  }

  /** Release every cache pin (the saved paths stay for the next start). */
  releaseAll(): void {
    for (const pin of this.#held.values()) pin.release();
    this.#held.clear();
  }

  #holdsAtOrBelow(path: string): boolean {
    for (const node of this.#held.keys()) {
      const at = node.path();
      if (at !== null && (at === path || isBelow(at, path))) return true;
    }
    return false;
  }

  async #write(): Promise<void> {
    await this.#journal.writePins([...this.#paths]);
  }
}

/** Whether `path` is strictly below directory `dir`. */
export function isBelow(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" : path.startsWith(dir + "/");
}
