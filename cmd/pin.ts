/**
 * `tcfs pin`: keep files always hydrated (hydrates them now).
 *
 * @module
 */

import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/mod.ts";

/** `tcfs pin` */
export const pinCommand: Command = {
  name: "pin",
  summary: "keep files always hydrated (hydrates them now)",
  usage: "pin <path>...",
  description: "Pinned files are never turned into stubs; 'tcfs unpin' releases them.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    let results;
    try {
      results = await executor.stub("pin", positionals);
    } finally {
      await executor.close();
    }
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `pinned ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
