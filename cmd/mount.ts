/**
 * `tcfs mount [<dir>]`: mount the repository as a directory (FUSE) through
 * the daemon, which owns the mount, or list the daemon's mounts.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { assertFuseUsable, type MountInfo } from "../lib/daemon/mod.ts";
import { TcfsError, UsageError } from "../lib/errors.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";

/** The error for a mount command with no daemon to serve it. */
export function noDaemonError(socket: string): TcfsError {
  return new TcfsError(
    `no tcfs daemon answers on ${socket}; mounts are served by the daemon: start it with ` +
      "'tcfs daemon &' (or 'systemctl --user start tcfsd'), then run this again",
  );
}

/** `tcfs mount` */
export const mountCommand: Command = {
  name: "mount",
  summary: "mount the repository as a directory (FUSE), or list mounts",
  usage: "mount [<dir>] [--names stubs|real]",
  description: "The daemon serves the mount; it must be running ('tcfs daemon').\n" +
    "With stubs (default), files that are not local show as NAME.tc and directories not\n" +
    "listed yet as NAME.tcf; opening either name fetches the file. With real, files show\n" +
    "under their real names and sizes. Writes are journaled at once and committed shortly\n" +
    "after close. 'tcfs unsync|hydrate|pin <path>' work on paths inside the mount.",
  options: {
    names: { type: "string", valueName: "view", help: "stubs (name.tc, default) or real names" },
  },
  maxArgs: 1,
  async run(ctx, { positionals: [dir], values }) {
    const { config } = await ctx.config();
    const names = values.names as string | undefined;
    if (names !== undefined && names !== "stubs" && names !== "real") {
      throw new UsageError("mount: --names is stubs or real");
    }
    if (dir !== undefined) await assertFuseUsable();
    const client = await DaemonClient.connect(config.daemon.socket);
    if (!client) throw noDaemonError(config.daemon.socket);
    try {
      if (dir === undefined) {
        const dirs = await client.listMounts();
        ctx.out.result(dirs, (d) => d.join("\n") || "no mounts");
        return;
      }
      const mounted = await client.mount(dir, names ?? config.mount.names) as MountInfo;
      ctx.out.result(mounted, (m) => `mounted ${m.dir} (names: ${m.names})`);
    } finally {
      await client.close();
    }
  },
};
