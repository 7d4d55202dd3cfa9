/**
 * `tcfs unmount`: unmount a tcfs mount.
 *
 * @module
 */

import { pendingCommand } from "./pending.ts";

/** `tcfs unmount` (not implemented yet). */
export const unmountCommand = pendingCommand({
  name: "unmount",
  summary: "unmount a tcfs mount",
  usage: "unmount <dir>",
});
