/**
 * `tcfs push <local-path>... [--to <remote-dir>]`: upload files and trees.
 *
 * @module
 */

import { deviceId, journalPathFor, openConfiguredRepository } from "../lib/app/mod.ts";
import { type Command, formatBytes, ProgressBar } from "../lib/cli/mod.ts";
import { push } from "../lib/engine/mod.ts";

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
    const repo = await openConfiguredRepository(config);
    const bar = new ProgressBar(Deno.stderr.isTerminal() && !ctx.json);
    try {
      const summary = await push(repo, {
        sources: positionals,
        to: values.to as string | undefined,
        device: await deviceId(config),
        concurrency: config.transfer.concurrency,
        journalPath: journalPathFor(config, repo),
        onProgress: bar.update,
        log: ctx.log,
      });
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
      await repo.store.close();
    }
  },
};
