/**
 * The shape shared by `hydrate`, `unsync`, `pin` and `unpin`: local paths in,
 * one stub operation each, a line per path out.
 *
 * @module
 */

import type { StubOp } from "../lib/app/mod.ts";
import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/executor.ts";

/** A subcommand running the stub operation `op` on its path arguments. */
export function stubCommand(
  op: StubOp,
  spec: Pick<Command, "summary" | "usage" | "description"> & { verb: string },
): Command {
  return {
    name: op,
    summary: spec.summary,
    usage: spec.usage,
    description: spec.description,
    minArgs: 1,
    async run(ctx, { positionals }) {
      const { config } = await ctx.config();
      const executor = await openExecutor(config, ctx.log);
      try {
        const results = await executor.stub(op, positionals);
        ctx.out.result(
          results,
          (rs) =>
            rs.map((r) => `${spec.verb} ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`)
              .join("\n"),
        );
      } finally {
        await executor.close();
      }
    },
  };
}
