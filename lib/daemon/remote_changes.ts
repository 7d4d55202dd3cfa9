/**
 * How the daemon reacts to other devices' state events: it syncs the roots a
 * change touches, at once, coalescing a burst of events into as few sync
 * rounds as it can (while one round runs, the roots asked for meanwhile wait
 * for the next). The periodic sync loop stays, so a change whose event was
 * lost still arrives at the next poll.
 *
 * @module
 */

import { pathsOf, type StateEvent } from "../events/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { SyncRoot } from "../sync/mod.ts";
import type { EventBus } from "./events.ts";

/** What the follower needs of the daemon. */
export interface RemoteChangeTarget {
  /** Sync the root whose local directory is `dir`. */
  sync(req: { dir: string }): Promise<unknown>;
  /** The daemon's event bus (the follower reports there what it heard). */
  readonly events: EventBus;
}

/** Whether the remote `path` is inside `root` (or is one of its ancestors: a rename of it). */
function touches(root: SyncRoot, path: string): boolean {
  if (root.remote === "/" || path === root.remote) return true;
  return path.startsWith(`${root.remote}/`) || root.remote.startsWith(`${path}/`);
}

/** Turns other devices' state events into sync rounds of the affected roots. */
export class RemoteChangeFollower {
  readonly #target: RemoteChangeTarget;
  readonly #roots: SyncRoot[];
  readonly #log: Logger;
  readonly #pending = new Set<SyncRoot>();
  #running: Promise<void> | null = null;
  #stopped = false;

  /** Follow changes into `roots` of `target`. */
  constructor(target: RemoteChangeTarget, roots: SyncRoot[], log: Logger) {
    this.#target = target;
    this.#roots = roots;
    this.#log = log;
  }

  /** React to one event of another device. */
  handle(event: StateEvent): void {
    const paths = pathsOf(event);
    this.#target.events.emit(
      `remote_${event.kind}`,
      paths.slice(0, 20).join(", "),
      `device ${event.device}${event.seq > 0 ? ` record ${event.seq}` : ""}`,
    );
    if (event.kind === "online" || event.kind === "offline") return;
    const roots = event.truncated
      ? this.#roots
      : this.#roots.filter((r) => paths.some((p) => touches(r, p)));
    this.syncSoon(roots);
  }

  /** Sync `roots` (all configured roots when omitted) as soon as the running round ends. */
  syncSoon(roots: SyncRoot[] = this.#roots): void {
    if (this.#stopped) return;
    for (const r of roots) this.#pending.add(r);
    if (this.#pending.size > 0 && !this.#running) {
      this.#running = this.#drain().finally(() => this.#running = null);
    }
  }

  /** Start no more rounds; resolves when the one running (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending.clear();
    await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const roots = [...this.#pending];
      this.#pending.clear();
      for (const root of roots) {
        try {
          await this.#target.sync({ dir: root.local });
        } catch (err) {
          // The daemon already reported it as an error event; the poll loop retries.
          this.#log.warn("sync after a remote change failed", {
            root: root.local,
            error: (err as Error).message,
          });
        }
      }
    }
  }
}
