/**
 * `tcfs mount [<dir>]`: mount the repository through the daemon (FUSE), or
 * list the daemon's mounts.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { NotImplementedError, UsageError } from "../lib/errors.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";

/** `tcfs mount` */
export const mountCommand: Command = {
  name: "mount",
  summary: "mount the repository as a directory (FUSE), or list mounts",
  usage: "mount [<dir>] [--names stubs|real]",
  description: "Mounts go through the daemon, which owns them. The FUSE file system itself is\n" +
    "not implemented yet: the request is refused with a clear message.",
  options: {
    names: { type: "string", valueName: "view", help: "stubs (name.tc, default) or real names" },
  },
  maxArgs: 1,
  async run(ctx, { positionals: [dir], values }) {
    const { config } = await ctx.config();
    const names = (values.names as string | undefined) ?? "stubs";
    if (names !== "stubs" && names !== "real") {
      throw new UsageError("mount: --names is stubs or real");
    }
    const client = await DaemonClient.connect(config.daemon.socket);
    if (!client) throw new NotImplementedError("tcfs mount (FUSE; it will need 'tcfs daemon')");
    try {
      if (dir === undefined) {
        const dirs = await client.listMounts();
        ctx.out.result(dirs, (d) => d.join("\n") || "no mounts");
        return;
      }
      ctx.out.result(await client.mount(dir, names), () => `mounted ${dir}`);
    } finally {
      await client.close();
    }
  },
};
