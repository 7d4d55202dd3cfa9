/**
 * `tcfs config`: show the effective configuration (secrets redacted) or the
 * path of the config file.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { redactConfig, renderConfigYaml } from "../lib/config/mod.ts";
import { UsageError } from "../lib/errors.ts";

/** `tcfs config show|path` */
export const configCommand: Command = {
  name: "config",
  summary: "show the effective configuration (show) or the config file path (path)",
  usage: "config show|path",
  description: "show  prints every key with its effective value; secrets are redacted.\n" +
    "      With --json, each value's source (default, file, env) is included.\n" +
    "path  prints the config file that is read, and whether it exists.",
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, { positionals: [action] }) {
    const loaded = await ctx.config();
    if (action === "show") {
      const config = redactConfig(loaded.config);
      ctx.out.result(
        { path: loaded.path, fileFound: loaded.fileFound, config, sources: loaded.sources },
        (r) =>
          `# ${r.path}${r.fileFound ? "" : " (not found: defaults)"}\n` +
          renderConfigYaml(r.config),
      );
    } else if (action === "path") {
      ctx.out.result(
        { path: loaded.path, exists: loaded.fileFound },
        (r) => r.path + (r.exists ? "" : " (does not exist; defaults apply)"),
      );
    } else {
      throw new UsageError(`config: unknown action '${action}' (expected show or path)`);
    }
  },
};
