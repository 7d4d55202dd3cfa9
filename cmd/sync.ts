/**
 * `tcfs sync [<dir>]`: two-way sync of local folders with the repository.
 *
 * @module
 */

import {
  deviceId,
  namespaceCacheFor,
  openConfiguredRepository,
  openState,
  rootsFor,
} from "../lib/app/mod.ts";
import { type Command, ProgressBar } from "../lib/cli/mod.ts";
import { syncRoot, type SyncSummary } from "../lib/sync/mod.ts";
import { watchLoop } from "../lib/sync/watch.ts";

/** `tcfs sync` */
export const syncCommand: Command = {
  name: "sync",
  summary: "two-way sync of a local folder with the repository",
  usage: "sync [<dir>] [--remote <dir>] [--stubs] [--force] [--watch]",
  description: "Without <dir>, every root in sync.roots is synced. <dir> maps to the remote\n" +
    "directory /<name> unless it is a configured root or --remote says otherwise.\n" +
    "Concurrent edits keep both versions (see 'tcfs conflicts'); deletions can be undone\n" +
    "with 'tcfs restore'; a round that would delete more than sync.max_delete_percent of the\n" +
    "files stops unless --force is given.",
  options: {
    remote: { type: "string", valueName: "dir", help: "remote directory for <dir>" },
    stubs: { type: "boolean", help: "bring new remote files down as .tc stubs" },
    force: { type: "boolean", help: "allow a round that deletes many files" },
    watch: { type: "boolean", help: "keep running: sync on local changes and on a timer" },
  },
  maxArgs: 1,
  async run(ctx, { positionals: [dir], values }) {
    const { config } = await ctx.config();
    const roots = rootsFor(config, dir, values.remote as string | undefined);
    const repo = await openConfiguredRepository(config);
    const state = await openState(config);
    const device = await deviceId(config);
    const bar = new ProgressBar(Deno.stderr.isTerminal() && !ctx.json);
    const round = async (): Promise<SyncSummary[]> => {
      const out: SyncSummary[] = [];
      for (const root of roots) {
        const summary = await syncRoot(repo, {
          root,
          device,
          state,
          nsCache: namespaceCacheFor(config, repo),
          concurrency: config.transfer.concurrency,
          stubs: values.stubs === true || config.sync.stubs,
          ignore: config.sync.ignore,
          maxDeletePercent: config.sync.max_delete_percent,
          force: values.force === true,
          log: ctx.log,
          onProgress: bar.update,
        });
        bar.done();
        for (const e of summary.errors) {
          ctx.log.error("not synced", { path: e.path, error: e.error });
        }
        for (const d of summary.deferred) {
          ctx.log.warn("git is at work: left for the next round", {
            path: d.path,
            reason: d.reason,
          });
        }
        ctx.out.result(
          { root: root.local, remote: root.remote, ...summary },
          (s) =>
            `${s.root} <-> ${s.remote}: ${s.uploaded} up, ${s.downloaded} down, ${s.stubs} stubs, ` +
            `${s.deletedLocal + s.deletedRemote} deleted, ${s.renamed} renamed, ${s.conflicts} ` +
            `conflicts, ${s.ignored} ignored, ${s.deferred.length} deferred, ${s.errors.length} errors`,
        );
        out.push(summary);
      }
      return out;
    };
    try {
      if (values.watch) {
        await watchLoop(roots.map((r) => r.local), config.sync.poll_seconds * 1000, async () => {
          await round();
        }, ctx.log);
        return 0;
      }
      const summaries = await round();
      return summaries.some((s) => s.errors.length > 0) ? 1 : 0;
    } finally {
      bar.done();
      state.close();
      await repo.store.close();
    }
  },
};
