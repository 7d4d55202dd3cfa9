/**
 * `tcfs unpin`: let pinned files be unsynced again.
 *
 * @module
 */

import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/mod.ts";

/** `tcfs unpin` */
export const unpinCommand: Command = {
  name: "unpin",
  summary: "let pinned files be unsynced again",
  usage: "unpin <path>...",
  description: "The files stay hydrated until 'tcfs unsync'.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    let results;
    try {
      results = await executor.stub("unpin", positionals);
    } finally {
      await executor.close();
    }
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `unpinned ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
