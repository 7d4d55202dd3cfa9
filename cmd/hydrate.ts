/**
 * `tcfs hydrate`: download the content of stubs (.tc) so they become real files.
 *
 * @module
 */

import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/mod.ts";

/** `tcfs hydrate` */
export const hydrateCommand: Command = {
  name: "hydrate",
  summary: "download the content of stubs (.tc) so they become real files",
  usage: "hydrate <path.tc|dir>...",
  description:
    "Replaces each stub with its verified content; the stub disappears only once the\nfile is complete. A directory stub (.tcf) becomes a directory; a directory is hydrated\nwhole.",
  minArgs: 1,
  async run(ctx, { positionals }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    let results;
    try {
      results = await executor.stub("hydrate", positionals);
    } finally {
      await executor.close();
    }
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `hydrated ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
