/**
 * The daemon's gRPC API (`proto/tcfs.proto`): server and client.
 *
 * @module
 */

export * from "./server.ts";
export * from "./client.ts";
export * from "./errors.ts";
export * from "./proto.ts";
export * from "./executor.ts";
