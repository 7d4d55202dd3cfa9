/**
 * `tcfs unmount <dir>`: unmount a tcfs mount through the daemon.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import type { UnmountResult } from "../lib/daemon/mod.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";
import { noDaemonError } from "./mount.ts";

/** `tcfs unmount` */
export const unmountCommand: Command = {
  name: "unmount",
  summary: "unmount a tcfs mount",
  usage: "unmount <dir> [--force]",
  description: "Pending writes are committed first. With files open in the mount it is refused\n" +
    "(EBUSY) unless --force, which detaches it now; it goes once the files are closed.",
  options: { force: { type: "boolean", help: "detach even with files open" } },
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, { positionals: [dir], values }) {
    const { config } = await ctx.config();
    const client = await DaemonClient.connect(config.daemon.socket);
    if (!client) throw noDaemonError(config.daemon.socket);
    try {
      const r = await client.unmount(dir, values.force === true) as UnmountResult;
      ctx.out.result(
        r,
        (u) =>
          `unmounted ${u.dir}${u.forced ? " (detached; open files keep it until closed)" : ""}`,
      );
    } finally {
      await client.close();
    }
  },
};
