/**
 * `tcfs resolve <path> --keep local|remote|both`: settle a conflict.
 *
 * @module
 */

import { openExecutor } from "../lib/rpc/executor.ts";
import type { Command } from "../lib/cli/mod.ts";
import { UsageError } from "../lib/errors.ts";
import type { Keep } from "../lib/sync/mod.ts";

/** `tcfs resolve` */
export const resolveCommand: Command = {
  name: "resolve",
  summary: "settle a conflict: keep the local version, the remote one, or both",
  usage: "resolve <path> --keep local|remote|both",
  description: "The choice is committed as a new version, so every device converges on its\n" +
    "next sync. With 'both', the other version stays as a file of its own.",
  options: { keep: { type: "string", valueName: "side", help: "local, remote or both" } },
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, { positionals, values }) {
    const keep = values.keep as string | undefined;
    if (keep !== "local" && keep !== "remote" && keep !== "both") {
      throw new UsageError("resolve: --keep must be local, remote or both");
    }
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    let r;
    try {
      r = await executor.resolve({ path: positionals[0], keep: keep as Keep });
    } finally {
      await executor.close();
    }
    ctx.out.result(r, (x) => `resolved ${x.path}: kept ${x.kept}`);
  },
};
