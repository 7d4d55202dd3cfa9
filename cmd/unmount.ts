/**
 * `tcfs unmount <dir>`: unmount a tcfs mount through the daemon.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { NotImplementedError } from "../lib/errors.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";

/** `tcfs unmount` */
export const unmountCommand: Command = {
  name: "unmount",
  summary: "unmount a tcfs mount",
  usage: "unmount <dir> [--force]",
  options: { force: { type: "boolean", help: "unmount even with files open" } },
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, { positionals: [dir], values }) {
    const { config } = await ctx.config();
    const client = await DaemonClient.connect(config.daemon.socket);
    if (!client) throw new NotImplementedError("tcfs unmount (FUSE; it will need 'tcfs daemon')");
    try {
      ctx.out.result(await client.unmount(dir, values.force === true), () => `unmounted ${dir}`);
    } finally {
      await client.close();
    }
  },
};
