/**
 * The `tcfs` executable: dispatches to the subcommands in `cmd/`.
 *
 * @module
 */

import { runCli } from "./lib/cli/mod.ts";
import { COMMANDS } from "./cmd/mod.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, COMMANDS));
}
