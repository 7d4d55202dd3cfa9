/**
 * `tcfs daemon`: run the daemon (gRPC API on a Unix socket, sync loop).
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { runDaemon } from "../lib/daemon/mod.ts";

/** `tcfs daemon` */
export const daemonCommand: Command = {
  name: "daemon",
  summary: "run the daemon (gRPC API, sync loop, metrics)",
  usage: "daemon [--no-sync-loop]",
  description: "Serves the API on daemon.socket (directory 0700, socket 0600). While it runs,\n" +
    "status, push, pull, hydrate, unsync, pin, sync, conflicts and resolve go through it.\n" +
    "Every path a request names must be inside sync.roots. SIGTERM or SIGINT stop it\n" +
    "gracefully (exit 0). Under systemd use Type=notify (see packaging/systemd/).",
  options: {
    "no-sync-loop": { type: "boolean", help: "do not sync the configured roots periodically" },
  },
  maxArgs: 0,
  async run(ctx, { values }) {
    const { config } = await ctx.config();
    return await runDaemon({ config, log: ctx.log, noSyncLoop: values["no-sync-loop"] === true });
  },
};
