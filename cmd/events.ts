/**
 * `tcfs events`: follow the daemon's events (synced, hydrated, conflict,
 * error, credentials reloaded) as they happen.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { TcfsError } from "../lib/errors.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";

/** `tcfs events` */
export const eventsCommand: Command = {
  name: "events",
  summary: "follow the running daemon's events (synced, hydrated, conflict, error, ...)",
  usage: "events [--kind <kind>]... [--count <n>]",
  options: {
    kind: { type: "string", multiple: true, valueName: "kind", help: "only events of this kind" },
    count: { type: "string", valueName: "n", help: "exit after this many events" },
  },
  maxArgs: 0,
  async run(ctx, { values }) {
    const { config } = await ctx.config();
    const client = await DaemonClient.connect(config.daemon.socket);
    if (!client) throw new TcfsError(`no daemon is running on ${config.daemon.socket}`);
    const limit = values.count === undefined ? Infinity : Number(values.count);
    let seen = 0;
    try {
      await client.watch((values.kind as string[] | undefined) ?? [], (e) => {
        ctx.out.result(
          e,
          (x) => `${new Date(x.time_ms).toISOString()} ${x.kind.padEnd(20)} ${x.path} ${x.message}`,
        );
        return ++seen < limit;
      });
    } finally {
      await client.close();
    }
  },
};
