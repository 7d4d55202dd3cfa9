/**
 * `tcfs daemon [run|status|stop]`: run the daemon, ask a running one how it
 * is, or stop it gracefully.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { runDaemon } from "../lib/daemon/mod.ts";
import { TcfsError, UsageError } from "../lib/errors.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";

/** `tcfs daemon` */
export const daemonCommand: Command = {
  name: "daemon",
  summary: "run the daemon (gRPC API, sync loop, metrics), or query or stop it",
  usage: "daemon [run|status|stop] [--no-sync-loop]",
  description: "run (default) serves the API on daemon.socket (directory 0700, socket 0600).\n" +
    "While it runs, status, push, pull, hydrate, unsync, pin, sync, conflicts and resolve go\n" +
    "through it. Every path a request names must be inside sync.roots. SIGTERM or SIGINT\n" +
    "stop it gracefully (exit 0). Under systemd use Type=notify (packaging/systemd/).\n" +
    "status prints the running daemon's status; stop asks it to shut down.",
  options: {
    "no-sync-loop": { type: "boolean", help: "do not sync the configured roots periodically" },
  },
  maxArgs: 1,
  async run(ctx, { positionals: [action = "run"], values }) {
    const { config } = await ctx.config();
    if (action === "run") {
      return await runDaemon({ config, log: ctx.log, noSyncLoop: values["no-sync-loop"] === true });
    }
    if (action !== "status" && action !== "stop") {
      throw new UsageError(`daemon: unknown action '${action}' (expected run, status or stop)`);
    }
    const client = await DaemonClient.connect(config.daemon.socket);
    if (!client) throw new TcfsError(`no daemon is running on ${config.daemon.socket}`);
    try {
      if (action === "stop") {
        await client.shutdown();
        ctx.out.result({ stopping: true }, () => "the daemon is stopping");
        return;
      }
      const s = await client.daemonStatus();
      ctx.out.result(
        s,
        (x) =>
          `tcfs daemon ${x.version}, pid ${x.pid}, up ${Math.round(Number(x.uptime_seconds))} s\n` +
          `repository ${x.repository}, device ${x.device}, credentials: ${x.credential_step}\n` +
          `roots: ${
            (x.roots as string[]).join(", ") || "none"
          }; ${x.running_operations} running\n` +
          `mounts: ${((x.mounts ?? []) as string[]).join(", ") || "none"}`,
      );
    } finally {
      await client.close();
    }
  },
};
