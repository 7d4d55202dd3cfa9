/**
 * Application wiring shared by the CLI and the daemon: from configuration to
 * open repositories and device identity.
 *
 * @module
 */

export * from "./repository.ts";
export * from "./sync.ts";
export * from "./session.ts";
export * from "./ops.ts";
export * from "./executor.ts";
