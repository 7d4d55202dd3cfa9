/**
 * `tcfs pull <remote-path> [<local-path>]`: download a file or tree.
 *
 * @module
 */

import { type Command, formatBytes, ProgressBar } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/executor.ts";

/** `tcfs pull` */
export const pullCommand: Command = {
  name: "pull",
  summary: "download a remote file or tree",
  usage: "pull <remote-path> [<local-path>]",
  description: "A remote directory's contents land in <local-path> (default: a directory of\n" +
    "the same name here). Every chunk and every whole file is verified before it appears;\n" +
    "if anything fails verification, nothing is written at the destination.",
  minArgs: 1,
  maxArgs: 2,
  async run(ctx, { positionals: [remote, local] }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    const bar = new ProgressBar(Deno.stderr.isTerminal() && !ctx.json);
    try {
      const s = await executor.pull({ remote, local }, bar.update);
      bar.done();
      ctx.out.result(
        s,
        (r) =>
          `pulled ${r.files} files (${formatBytes(r.bytes)}), ${r.dirs} dirs, ${r.symlinks} ` +
          `symlinks into ${r.destination}`,
      );
    } finally {
      bar.done();
      await executor.close();
    }
  },
};
