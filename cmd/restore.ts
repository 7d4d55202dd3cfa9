/**
 * `tcfs restore <path>`: bring a deleted file back from the trash.
 *
 * @module
 */

import { configuredRoots, withSession } from "../lib/app/mod.ts";
import type { Command } from "../lib/cli/mod.ts";
import { normalizeRemotePath } from "../lib/repo/mod.ts";
import { findRoot, remotePathOf, restoreFromTrash } from "../lib/sync/mod.ts";

/** `tcfs restore` */
export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a deleted file from the trash",
  usage: "restore <path>",
  description: "<path> is a remote path (/dir/file) or a local path inside a sync root. The\n" +
    "file comes back as a new version; the next 'tcfs sync' brings it down.",
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, { positionals: [path] }) {
    const { config } = await ctx.config();
    const local = findRoot(configuredRoots(config), path);
    // A path inside a sync root is local; anything else names a remote path.
    const remote = local ? remotePathOf(local.root, local.rel) : normalizeRemotePath(path);
    const item = await withSession(
      config,
      (s) => restoreFromTrash(s.repo, s.ns, s.device, remote, config.sync.trash_days),
    );
    ctx.out.result(item, (i) => `restored ${i.path}`);
  },
};
