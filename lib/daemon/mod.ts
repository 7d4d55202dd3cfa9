/**
 * The daemon: one long-lived process that owns the state, the credentials
 * and the sync loop, and serves the gRPC API to every client.
 *
 * @module
 */

export * from "./core.ts";
export * from "./confine.ts";
export * from "./events.ts";
export * from "./run.ts";
export * from "./mounts.ts";
export * from "./mount_point.ts";
export * from "./remote_changes.ts";
export * from "./state_events.ts";
export * from "./systemd.ts";
export * from "./credentials.ts";
