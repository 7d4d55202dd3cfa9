/**
 * `tcfs unsync`: turn synced files back into stubs and free their space.
 *
 * @module
 */

import { stubCommand } from "./stub_command.ts";

/** `tcfs unsync` */
export const unsyncCommand = stubCommand("unsync", {
  summary: "turn synced files back into stubs and free their space",
  usage: "unsync <path>...",
  description: "Refuses files with local changes that are not synced yet, and pinned files.",
  verb: "unsynced",
});
