/**
 * `tcfs hydrate`: download the content of stubs (.tc) so they become real files.
 *
 * @module
 */

import { forEachLocalPath } from "../lib/app/mod.ts";
import { type Command, formatBytes } from "../lib/cli/mod.ts";
import { hydrate } from "../lib/sync/mod.ts";

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
    const results = await forEachLocalPath(config, positionals, async (s, root, rel, path) => ({
      path,
      ...(await hydrate(s.stubContext(root), rel)),
    }));
    ctx.out.result(
      results,
      (rs) =>
        rs.map((r) => `hydrated ${r.files} files (${formatBytes(r.bytes)}): ${r.path}`).join("\n"),
    );
  },
};
