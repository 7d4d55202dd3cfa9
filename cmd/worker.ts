/**
 * `tcfs worker`: run a stateless worker consuming SYNC_TASKS from NATS.
 *
 * @module
 */

import { pendingCommand } from "./pending.ts";

/** `tcfs worker` (not implemented yet). */
export const workerCommand = pendingCommand({
  name: "worker",
  summary: "run a stateless worker consuming SYNC_TASKS from NATS",
  usage: "worker",
});
