/**
 * Subcommands that are part of the CLI surface but not built yet. They still
 * load the configuration, so config mistakes surface now, then fail clearly.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { NotImplementedError } from "../lib/errors.ts";

/** A listed subcommand that reports "not implemented yet" and exits 1. */
export function pendingCommand(spec: Pick<Command, "name" | "summary" | "usage">): Command {
  return {
    ...spec,
    description: "Not implemented yet in this release.",
    async run(ctx) {
      await ctx.config();
      throw new NotImplementedError(`tcfs ${spec.name}`);
    },
  };
}
