/**
 * `tcfs sync [<dir>]`: two-way sync of local folders with the repository.
 *
 * @module
 */

import { DirectExecutor, type SyncResult } from "../lib/app/mod.ts";
import { type Command, ProgressBar } from "../lib/cli/mod.ts";
import { TcfsError } from "../lib/errors.ts";
import { openExecutor } from "../lib/rpc/executor.ts";
import { rootsFor } from "../lib/app/mod.ts";
import { watchLoop } from "../lib/sync/mod.ts";

/** `tcfs sync` */
export const syncCommand: Command = {
  name: "sync",
  summary: "two-way sync of a local folder with the repository",
  usage: "sync [<dir>] [--remote <dir>] [--stubs] [--force] [--watch]",
  description: "Without <dir>, every root in sync.roots is synced. <dir> maps to the remote\n" +
    "directory /<name> unless it is a configured root or --remote says otherwise.\n" +
    "Concurrent edits keep both versions (see 'tcfs conflicts'); deletions can be undone\n" +
    "with 'tcfs restore'; a round that would delete more than sync.max_delete_percent of the\n" +
    "files stops unless --force is given. --watch keeps syncing on local changes and every\n" +
    "sync.poll_seconds until interrupted.",
  options: {
    remote: { type: "string", valueName: "dir", help: "remote directory for <dir>" },
    stubs: { type: "boolean", help: "bring new remote files down as .tc stubs" },
    force: { type: "boolean", help: "allow a round that deletes many files" },
    watch: { type: "boolean", help: "keep running: sync on local changes and on a timer" },
  },
  maxArgs: 1,
  async run(ctx, { positionals: [dir], values }) {
    const { config } = await ctx.config();
    const executor = await openExecutor(config, ctx.log);
    if (values.watch && executor.viaDaemon) {
      await executor.close();
      throw new TcfsError("a daemon is running and already syncs the roots: see 'tcfs status'");
    }
    const bar = new ProgressBar(Deno.stderr.isTerminal() && !ctx.json);
    const req = {
      dir,
      remote: values.remote as string | undefined,
      force: values.force === true,
      stubs: values.stubs === true,
    };
    const round = async (): Promise<SyncResult[]> => {
      const results = await executor.sync(req, bar.update);
      bar.done();
      for (const s of results) {
        for (const e of s.errors) ctx.log.error("not synced", { path: e.path, error: e.error });
        for (const d of s.deferred) {
          ctx.log.warn("git is at work: left for the next round", {
            path: d.path,
            reason: d.reason,
          });
        }
        ctx.out.result(
          s,
          (r) =>
            `${r.root} <-> ${r.remote}: ${r.uploaded} up, ${r.downloaded} down, ${r.stubs} stubs, ` +
            `${r.deletedLocal + r.deletedRemote} deleted, ${r.renamed} renamed, ${r.conflicts} ` +
            `conflicts, ${r.ignored} ignored, ${r.deferred.length} deferred, ${r.errors.length} errors`,
        );
      }
      return results;
    };
    try {
      if (values.watch && executor instanceof DirectExecutor) {
        const roots = rootsFor(config, dir, req.remote);
        await watchLoop(roots.map((r) => r.local), config.sync.poll_seconds * 1000, async () => {
          await round();
        }, ctx.log);
        return 0;
      }
      const results = await round();
      return results.some((s) => s.errors.length > 0) ? 1 : 0;
    } finally {
      bar.done();
      await executor.close();
    }
  },
};
