/**
 * `tcfs unsync`: turn synced files back into stubs and free their space.
 *
 * @module
 */

import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/mod.ts";

/** `tcfs unsync` */
export const unsyncCommand: Command = {
  name: "unsync",
  summary: "turn synced files back into stubs and free their space",
  usage: "unsync <path>...",
  description: "Refuses files with local changes that are not synced yet, and pinned files.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    let results;
    try {
      results = await executor.stub("unsync", positionals);
    } finally {
      await executor.close();
    }
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `unsynced ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
