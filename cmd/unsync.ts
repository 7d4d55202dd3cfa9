/**
 * `tcfs unsync`: turn synced files back into stubs and free their space.
 *
 * @module
 */

import { forEachLocalPath } from "../lib/app/mod.ts";
import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { unsync } from "../lib/sync/mod.ts";

/** `tcfs unsync` */
export const unsyncCommand: Command = {
  name: "unsync",
  summary: "turn synced files back into stubs and free their space",
  usage: "unsync <path>...",
  description: "Refuses files with local changes that are not synced yet, and pinned files.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const results = await forEachLocalPath(config, positionals, async (s, root, rel, path) => ({
      path,
      ...(await unsync(s.stubContext(root), rel)),
    }));
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `unsynced ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
