/**
 * The daemon's event stream (gRPC Watch): file synced, hydrated, conflict,
 * error, credentials reloaded. Subscribers get events as they happen; a slow
 * subscriber loses the oldest events beyond its queue, never blocks others.
 *
 * @module
 */

/** One event. */
export interface DaemonEvent {
  /** `synced`, `hydrated`, `conflict`, `error`, `credentials_reloaded`, `pushed`, ... */
  kind: string;
  /** The path concerned, if any. */
  path: string;
  /** Human-readable detail (never a secret). */
  message: string;
  /** When, ms since the epoch. */
  time_ms: number;
}

/** Fan-out of events to subscribers. */
export class EventBus {
  readonly #subscribers = new Set<(e: DaemonEvent) => void>();

  /** Publish an event to every subscriber. */
  emit(kind: string, path: string, message: string): void {
    const event = { kind, path, message, time_ms: Date.now() };
    for (const s of this.#subscribers) s(event);
  }

  /** Call `fn` for every event until the returned function is called. */
  subscribe(fn: (e: DaemonEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** How many subscribers there are. */
  get size(): number {
    return this.#subscribers.size;
  }
}
