/**
 * `tcfs unpin`: let pinned files be unsynced again.
 *
 * @module
 */

import { stubCommand } from "./stub_command.ts";

/** `tcfs unpin` */
export const unpinCommand = stubCommand("unpin", {
  summary: "let pinned files be unsynced again",
  usage: "unpin <path>...",
  description: "The files stay hydrated until 'tcfs unsync'.",
  verb: "unpinned",
});
