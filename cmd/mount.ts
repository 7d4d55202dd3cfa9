/**
 * `tcfs mount`: mount the repository as a directory (FUSE).
 *
 * @module
 */

import { pendingCommand } from "./pending.ts";

/** `tcfs mount` (not implemented yet). */
export const mountCommand = pendingCommand({
  name: "mount",
  summary: "mount the repository as a directory (FUSE)",
  usage: "mount <dir>",
});
