/**
 * `tcfs pin`: keep files always hydrated (hydrates them now).
 *
 * @module
 */

import { forEachLocalPath } from "../lib/app/mod.ts";
import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { setPinned } from "../lib/sync/mod.ts";

/** `tcfs pin` */
export const pinCommand: Command = {
  name: "pin",
  summary: "keep files always hydrated (hydrates them now)",
  usage: "pin <path>...",
  description: "Pinned files are never turned into stubs; 'tcfs unpin' releases them.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const results = await forEachLocalPath(config, positionals, async (s, root, rel, path) => ({
      path,
      ...(await setPinned(s.stubContext(root), rel, true)),
    }));
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `pinned ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
