/**
 * How long files took to become local, for `VfsOptions.onHydrated`. A
 * hydration begins when a file that is not local is opened (or `hydrate` is
 * asked for it) and ends when the file is wholly local, or when a read of it
 * fails. Readers of one file at once share one hydration; one that ends with
 * the last reader before the file is whole (a partial read, `head`) is
 * forgotten, not reported.
 *
 * @module
 */

import type { HydrationReport } from "../events/mod.ts";
import type { Node } from "./inodes.ts";

/** Times the mount's hydrations and tells a listener when each ends; see the module docs. */
export class HydrationClock {
  readonly #tell: ((report: HydrationReport) => void) | undefined;
  readonly #running = new Map<Node, { at: number; bytes: number }>();

  /** A clock telling `tell` (none: it keeps nothing). */
  constructor(tell?: (report: HydrationReport) => void) {
    this.#tell = tell;
  }

  /** `node` is being read while not local: its hydration starts now, unless one is running. */
  begin(node: Node): void {
    if (this.#tell && !this.#running.has(node)) {
      this.#running.set(node, { at: performance.now(), bytes: node.size });
    }
  }

  /** The hydration of `node` ended with `outcome` (nothing happens when none was running). */
  end(node: Node, outcome: HydrationReport["outcome"]): void {
    const run = this.#running.get(node);
    if (!run) return;
    this.#running.delete(node);
    const path = node.path();
    if (path === null) return; // unlinked meanwhile: nothing to tell about it
    this.#tell?.({ path, bytes: run.bytes, ms: performance.now() - run.at, outcome });
  }

  /** Nobody reads `node` any more and it is not whole: forget its hydration. */
  forget(node: Node): void {
    this.#running.delete(node);
  }

  /** Run `hydrate` as the hydration of `node`: ok when it resolves, error when it rejects. */
  async track(node: Node, hydrate: () => Promise<void>): Promise<void> {
    this.begin(node);
    try {
      await hydrate();
    } catch (err) {
      this.end(node, "error");
      throw err;
    }
    this.end(node, "ok");
  }
}
