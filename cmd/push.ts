/**
 * `tcfs push <local-path>... [--to <remote-dir>]`: upload files and trees.
 *
 * @module
 */

import { type Command, formatBytes, ProgressBar } from "../lib/cli/mod.ts";
import { openExecutor } from "../lib/rpc/executor.ts";

/** `tcfs push` */
export const pushCommand: Command = {
  name: "push",
  summary: "upload files and trees to the repository",
  usage: "push <local-path>... [--to <remote-dir>]",
  description: "A file lands in the remote directory (default /) under its name. A directory's\n" +
    "contents land in --to, as with 'rclone copy'; without --to the directory keeps its name\n" +
    "under /. Symlinks stay symlinks; empty files and directories, modes and mtimes are kept.\n" +
    "Files whose size, mtime and mode match the repository are skipped without reading them.\n" +
    "An interrupted push can be run again: it uploads only what is missing.",
  options: {
    to: { type: "string", valueName: "remote-dir", help: "remote directory to push into" },
  },
  minArgs: 1,
  async run(ctx, { positionals, values }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    const bar = new ProgressBar(Deno.stderr.isTerminal() && !ctx.json);
    try {
      const summary = await executor.push(
        { paths: positionals, to: values.to as string | undefined },
        bar.update,
      );
      bar.done();
      ctx.out.result(
        summary,
        (s) =>
          `pushed ${s.filesPushed} files (${formatBytes(s.bytesRead)} read), ${s.filesUnchanged} ` +
          `unchanged, ${s.otherPushed} dirs/symlinks; uploaded ${s.objectsUploaded} objects ` +
          `(${formatBytes(s.bytesUploaded)}), ${s.dedupHits} chunks deduplicated` +
          (s.errors.length > 0 ? `; ${s.errors.length} errors` : ""),
      );
      for (const e of summary.errors) ctx.log.error("not pushed", { path: e.path, error: e.error });
      return summary.errors.length > 0 ? 1 : 0;
    } finally {
      bar.done();
      await executor.close();
    }
  },
};
