/**
 * `tcfs unpin`: let pinned files be unsynced again.
 *
 * @module
 */

import { forEachLocalPath } from "../lib/app/mod.ts";
import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { setPinned } from "../lib/sync/mod.ts";

/** `tcfs unpin` */
export const unpinCommand: Command = {
  name: "unpin",
  summary: "let pinned files be unsynced again",
  usage: "unpin <path>...",
  description: "The files stay hydrated until 'tcfs unsync'.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const results = await forEachLocalPath(config, positionals, async (s, root, rel, path) => ({
      path,
      ...(await setPinned(s.stubContext(root), rel, false)),
    }));
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `unpinned ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
