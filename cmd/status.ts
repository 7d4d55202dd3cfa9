/**
 * `tcfs status [<path>]`: what is synced, modified, a stub, pinned, in
 * conflict or pending, from local state (the repository is not contacted).
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/executor.ts";

/** `tcfs status` */
export const statusCommand: Command = {
  name: "status",
  summary: "show what is synced, modified, a stub, pinned or in conflict",
  usage: "status [<path>] [--all]",
  description: "Reads local state and file metadata only; fast on large trees.",
  options: { all: { type: "boolean", help: "list synced paths too" } },
  maxArgs: 1,
  async run(ctx, { positionals: [path], values }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    try {
      const out = await executor.status({ path, all: values.all === true });
      ctx.out.result(out, (roots) =>
        roots.map((r) => {
          const t = r.totals;
          const head = `${r.root} <-> ${r.remote}: ${t.synced} synced, ${t.modified} modified, ` +
            `${t.pending} pending, ${t.deleted} deleted, ${t.stub} stubs, ${t.pinned} pinned, ` +
            `${t.conflict} conflicts, ${t.ignored} ignored`;
          return [head, ...r.paths.map((p) => `  ${p.status.padEnd(9)} ${p.path}`)].join("\n");
        }).join("\n") || "no sync roots configured (sync.roots)");
    } finally {
      await executor.close();
    }
  },
};
