/**
 * A counting semaphore with two queues: urgent work (a reader is waiting for
 * it) is granted a slot before background work (read-ahead, sequential
 * hydration), and queued background work can be promoted when a reader
 * turns up for it. A chunk that a read at offset 900 MiB needs therefore
 * never waits behind a long sequential fill.
 *
 * @module
 */

/** How soon fetched data is needed. */
export type Priority = "urgent" | "background";

/** A place in a {@linkcode PriorityGate}: wait for it, promote it, then release the slot. */
export interface GateTicket {
  /** Resolves once a slot is held; rejects with the signal's reason if aborted while queued. */
  readonly granted: Promise<void>;
  /** Move a queued ticket to the urgent queue (no effect once granted). */
  promote(): void;
  /** Give the slot back (or leave the queue); calling it again does nothing. */
  release(): void;
}

interface Waiter {
  grant: () => void;
  priority: Priority;
}

/** Runs at most `concurrency` holders at once; urgent waiters go first, FIFO within a class. */
export class PriorityGate {
  /** Most slots held at once. */
  readonly concurrency: number;
  #active = 0;
  readonly #urgent: Waiter[] = [];
  readonly #background: Waiter[] = [];

  /** A gate with `concurrency` (a positive integer) slots. */
  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    this.concurrency = concurrency;
  }

  /** Slots held now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters queued now, by priority. */
  get queued(): { urgent: number; background: number } {
    return { urgent: this.#urgent.length, background: this.#background.length };
  }

  /** Queue for a slot; an abort of `signal` while still queued leaves the queue. */
  enter(priority: Priority, signal?: AbortSignal): GateTicket {
    let state: "queued" | "held" | "done" = "queued";
    let waiter: Waiter | undefined;
    const leaveQueue = () => {
      if (!waiter) return;
      const queue = waiter.priority === "urgent" ? this.#urgent : this.#background;
      const at = queue.indexOf(waiter);
      if (at >= 0) queue.splice(at, 1);
    };
    const granted = new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        state = "done";
        return reject(signal.reason);
      }
      if (this.#active < this.concurrency) {
        this.#active++;
        state = "held";
        return resolve();
      }
      const onAbort = () => {
        if (state !== "queued") return;
        state = "done";
        leaveQueue();
        reject(signal!.reason);
      };
      waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          state = "held";
          resolve();
        },
      };
      (priority === "urgent" ? this.#urgent : this.#background).push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    return {
      granted,
      promote: () => {
        if (state !== "queued" || !waiter || waiter.priority === "urgent") return;
        leaveQueue();
        waiter.priority = "urgent";
        this.#urgent.push(waiter);
      },
      release: () => {
        if (state === "queued") leaveQueue();
        else if (state === "held") this.#handOver();
        state = "done";
      },
    };
  }

  /** Pass a freed slot to the next waiter, urgent first, or free it. */
  #handOver(): void {
    const next = this.#urgent.shift() ?? this.#background.shift();
    if (next) next.grant();
    else this.#active--;
  }
}
