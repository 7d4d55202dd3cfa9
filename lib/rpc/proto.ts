/**
 * The daemon API definition, loaded from `proto/tcfs.proto` at run time with
 * `@grpc/proto-loader` (so the schema file is the single source of truth;
 * `deno compile` includes it).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Where the schema is. */
export const PROTO_PATH: string = new URL("../../proto/tcfs.proto", import.meta.url).pathname;

/** Largest message either side accepts (data messages carry at most 1 MiB). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Options that keep 64-bit numbers and defaults predictable in JS. */
const LOAD_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The `tcfs.v1.Tcfs` service constructor (its `.service` is the definition). */
export function tcfsService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO_PATH, LOAD_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    tcfs: { v1: { Tcfs: grpc.ServiceClientConstructor } };
  };
  return cached = pkg.tcfs.v1.Tcfs;
}
