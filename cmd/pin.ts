/**
 * `tcfs pin`: keep files always hydrated (hydrates them now).
 *
 * @module
 */

import { stubCommand } from "./stub_command.ts";

/** `tcfs pin` */
export const pinCommand = stubCommand("pin", {
  summary: "keep files always hydrated (hydrates them now)",
  usage: "pin <path>...",
  description: "Pinned files are never turned into stubs; 'tcfs unpin' releases them.",
  verb: "pinned",
});
