/**
 * A flight: one load of a chunk that every concurrent reader of it shares
 * (single flight), and how a reader waits for it. A reader that gives up
 * (its signal aborts) stops waiting; the load goes on while others still
 * wait, and is cancelled when the last of them is gone.
 *
 * @module
 */

import type { GateTicket } from "./priority_gate.ts";

/** One shared load of chunk `id`. */
export interface Flight {
  /** Chunk id. */
  readonly id: string;
  /** The chunk's bytes once loaded. */
  promise: Promise<Uint8Array>;
  /** Cancels the load. */
  readonly controller: AbortController;
  /** Its place in the fetch queue, once it has one. */
  ticket?: GateTicket;
  /** Readers waiting now. */
  waiters: number;
  /** The load finished (either way). */
  settled: boolean;
  /** Keep the chunk in the cache once loaded. */
  keep: boolean;
  /** A reader waits for it (ahead of background loads). */
  urgent: boolean;
}

/**
 * Wait for `flight`'s bytes, or until `signal` aborts (rejecting with its
 * reason). When the last waiter leaves before the load settled, the load is
 * cancelled and `abandoned` is called with the flight.
 */
export async function waitForFlight(
  flight: Flight,
  signal: AbortSignal | undefined,
  abandoned: (flight: Flight) => void,
): Promise<Uint8Array> {
  flight.waiters++;
  if (!signal) return await flight.promise;
  return await new Promise<Uint8Array>((resolve, reject) => {
    const onAbort = () => {
      if (--flight.waiters === 0 && !flight.settled) {
        flight.controller.abort(signal.reason);
        abandoned(flight);
      }
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    flight.promise.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
    });
  });
}
