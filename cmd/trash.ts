/**
 * `tcfs trash ls [<remote-dir>]`: deleted files that can still be restored.
 *
 * @module
 */

import { withSession } from "../lib/app/mod.ts";
import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { UsageError } from "../lib/errors.ts";
import { normalizeRemotePath } from "../lib/repo/mod.ts";
import { listTrash } from "../lib/sync/mod.ts";

/** `tcfs trash` */
export const trashCommand: Command = {
  name: "trash",
  summary: "list deleted files that can still be restored (trash ls)",
  usage: "trash ls [<remote-dir>]",
  description: "Deleted files stay restorable for sync.trash_days; see 'tcfs restore'.",
  minArgs: 1,
  maxArgs: 2,
  async run(ctx, { positionals: [action, dir] }) {
    if (action !== "ls") throw new UsageError("trash: the only action is 'ls'");
    const { config } = await ctx.config();
    const items = await withSession(
      config,
      (s) =>
        Promise.resolve(listTrash(s.ns, normalizeRemotePath(dir ?? "/"), config.sync.trash_days)),
    );
    ctx.out.result(
      items,
      (l) =>
        l.length === 0
          ? "the trash is empty"
          : l.map((i) =>
            `${new Date(i.deletedAt).toISOString()} ${formatBytes(i.size).padStart(10)} ${i.path}`
          ).join("\n"),
    );
  },
};
