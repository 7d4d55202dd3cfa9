/**
 * `tcfs hydrate`: download the content of stubs (.tc) so they become real files.
 *
 * @module
 */

import { stubCommand } from "./stub_command.ts";

/** `tcfs hydrate` */
export const hydrateCommand = stubCommand("hydrate", {
  summary: "download the content of stubs (.tc) so they become real files",
  usage: "hydrate <path.tc|dir>...",
  description:
    "Replaces each stub with its verified content; the stub disappears only once the\nfile is complete. A directory stub (.tcf) becomes a directory; a directory is hydrated\nwhole.",
  verb: "hydrated",
});
