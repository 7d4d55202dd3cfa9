/**
 * The scale-out task queue on NATS JetStream: stream and consumer names and
 * their idempotent setup, typed task envelopes, the worker loop (durable
 * pull consumer, heartbeats, bounded retries, dead letters), the ingest task
 * and its fan-out, and queue status. See docs/QUEUE.md.
 *
 * @module
 */

export * from "./streams.ts";
export * from "./task.ts";
export * from "./worker.ts";
export * from "./ingest.ts";
export * from "./enqueue.ts";
export * from "./status.ts";
export * from "./connect.ts";
export * from "./run.ts";
