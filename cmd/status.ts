/**
 * `tcfs status [<path>]`: what is synced, modified, a stub, pinned, in
 * conflict or pending, from local state (the repository is not contacted).
 *
 * @module
 */

import { configuredRoots, openState } from "../lib/app/mod.ts";
import type { Command } from "../lib/cli/mod.ts";
import { findRoot, rootStatus } from "../lib/sync/mod.ts";
import { UsageError } from "../lib/errors.ts";

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
    let targets = configuredRoots(config).map((root) => ({ root, rel: "" }));
    if (path !== undefined) {
      const found = findRoot(configuredRoots(config), path);
      if (!found) throw new UsageError(`${path} is not inside a sync root (see sync.roots)`);
      targets = [found];
    }
    const state = await openState(config);
    try {
      const out = [];
      for (const { root, rel } of targets) {
        out.push(
          await rootStatus(state, root, {
            ignore: config.sync.ignore,
            prefix: rel || undefined,
            all: values.all === true,
          }),
        );
      }
      ctx.out.result(out, (roots) =>
        roots.map((r) => {
          const t = r.totals;
          const head = `${r.root} <-> ${r.remote}: ${t.synced} synced, ${t.modified} modified, ` +
            `${t.pending} pending, ${t.deleted} deleted, ${t.stub} stubs, ${t.pinned} pinned, ` +
            `${t.conflict} conflicts, ${t.ignored} ignored`;
          return [head, ...r.paths.map((p) => `  ${p.status.padEnd(9)} ${p.path}`)].join("\n");
        }).join("\n") || "no sync roots configured (sync.roots)");
    } finally {
      state.close();
    }
  },
};
