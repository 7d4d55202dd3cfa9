/**
 * `tcfs conflicts`: paths where concurrent edits were kept side by side.
 *
 * @module
 */

import { openExecutor } from "../lib/rpc/executor.ts";
import type { Command } from "../lib/cli/mod.ts";

/** `tcfs conflicts` */
export const conflictsCommand: Command = {
  name: "conflicts",
  summary: "list files edited concurrently on several devices (both versions kept)",
  usage: "conflicts",
  description: "Settle one with 'tcfs resolve <path> --keep local|remote|both'.",
  maxArgs: 0,
  async run(ctx) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    try {
      const list = await executor.conflicts();
      ctx.out.result(
        list,
        (l) =>
          l.length === 0
            ? "no conflicts"
            : l.map((c) =>
              `${c.root}/${c.path}\n${
                c.copies.map((p) => `  other version: ${c.root}/${p}`).join("\n")
              }`
            ).join("\n"),
      );
    } finally {
      await executor.close();
    }
  },
};
