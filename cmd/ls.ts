/**
 * `tcfs ls [<remote-dir>]`: list a remote directory.
 *
 * @module
 */

import { openConfiguredRepository } from "../lib/app/mod.ts";
import type { Command } from "../lib/cli/mod.ts";
import { NotFoundError } from "../lib/errors.ts";
import { normalizeRemotePath } from "../lib/repo/mod.ts";

/** `tcfs ls` */
export const lsCommand: Command = {
  name: "ls",
  summary: "list a remote directory (name, size, mtime)",
  usage: "ls [<remote-dir>]",
  maxArgs: 1,
  async run(ctx, { positionals: [dir] }) {
    const { config } = await ctx.config();
    const repo = await openConfiguredRepository(config);
    try {
      const path = normalizeRemotePath(dir ?? "/");
      const ns = await repo.refresh();
      const self = ns.get(path);
      const entries = self && self.kind !== "dir"
        ? [{ name: path.slice(path.lastIndexOf("/") + 1), path, kind: self.kind, version: self }]
        : ns.list(path);
      if (entries.length === 0 && !ns.isDir(path)) {
        throw new NotFoundError(`${path}: no such file or directory in the repository`);
      }
      const rows = entries.map((e) => ({
        name: e.name,
        kind: e.kind,
        size: e.version?.size ?? 0,
        mtime: e.version ? new Date(e.version.mtime).toISOString() : null,
        target: e.version?.target,
      }));
      ctx.out.result(
        rows,
        (rs) =>
          rs.map((r) =>
            `${r.kind === "dir" ? "d" : r.kind === "symlink" ? "l" : "-"} ${
              String(r.size).padStart(12)
            } ` +
            `${(r.mtime ?? "-").padEnd(24)} ${r.name}${r.kind === "dir" ? "/" : ""}` +
            (r.target !== undefined ? ` -> ${r.target}` : "")
          ).join("\n"),
      );
    } finally {
      await repo.store.close();
    }
  },
};
