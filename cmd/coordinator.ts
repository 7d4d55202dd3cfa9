/**
 * `tcfs coordinator [--lease nats|kubernetes]`: campaign for the leader lease
 * and, while leader, schedule the repository's maintenance tasks.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { type LeaseBackend, runCoordinator } from "../lib/coord/mod.ts";
import { UsageError } from "../lib/errors.ts";

/** `tcfs coordinator` */
export const coordinatorCommand: Command = {
  name: "coordinator",
  summary: "schedule compact, gc and scrub tasks while holding the leader lease",
  usage: "coordinator [--lease nats|kubernetes]",
  description: "Run several for availability: exactly one leads at a time, through a lease in\n" +
    "NATS KV (default) or a Kubernetes Lease (in a pod, with RBAC on leases). The leader\n" +
    "publishes tasks to SYNC_TASKS on the coordinator.*_seconds intervals; each carries its\n" +
    "fencing token, so tasks of a deposed leader are refused. SIGTERM releases the lease.",
  options: {
    lease: { type: "string", valueName: "backend", help: "nats or kubernetes (coordinator.lease)" },
  },
  maxArgs: 0,
  async run(ctx, { values }) {
    const { config } = await ctx.config();
    const lease = values.lease as string | undefined;
    if (lease !== undefined && lease !== "nats" && lease !== "kubernetes") {
      throw new UsageError(`coordinator: --lease must be nats or kubernetes, not '${lease}'`);
    }
    return await runCoordinator({ config, log: ctx.log, lease: lease as LeaseBackend | undefined });
  },
};
