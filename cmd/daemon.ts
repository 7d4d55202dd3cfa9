/**
 * `tcfs daemon`: run the daemon (gRPC API, mounts, sync loop, metrics).
 *
 * @module
 */

import { pendingCommand } from "./pending.ts";

/** `tcfs daemon` (not implemented yet). */
export const daemonCommand = pendingCommand({
  name: "daemon",
  summary: "run the daemon (gRPC API, mounts, sync loop, metrics)",
  usage: "daemon",
});
