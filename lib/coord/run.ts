/**
 * The `tcfs coordinator` process: connect to NATS (tasks and fence), pick the
 * lease backend, campaign, schedule while leader, and on SIGTERM/SIGINT end
 * the term and release the lease so a standby takes over at once.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { connectQueue } from "../queue/mod.ts";
import { Coordinator, type ScheduleState } from "./coordinator.ts";
import { candidateIdentity, LeaderElector } from "./elector.ts";
import { Fence } from "./fence.ts";
import { inClusterApi, KubernetesLease } from "./k8s_lease.ts";
import type { LeaseStore } from "./lease.ts";
import { NatsKvLease, openCoordinationBucket } from "./nats_lease.ts";
import { runPublisher } from "./tasks.ts";

/** Where the lease lives. */
export type LeaseBackend = "nats" | "kubernetes";

/** Options of {@link runCoordinator}. */
export interface CoordinatorProcessOptions {
  /** Effective configuration. */
  config: Config;
  /** Logger. */
  log: Logger;
  /** Overrides `coordinator.lease`. */
  lease?: LeaseBackend;
  /** Ends the process when aborted (besides SIGTERM/SIGINT). */
  signal?: AbortSignal;
}

/** Run a coordinator until asked to stop; resolves with the exit code. */
export async function runCoordinator(opts: CoordinatorProcessOptions): Promise<number> {
  const { config, log } = opts;
  const c = config.coordinator;
  const queue = await connectQueue(config, "tcfs-coordinator");
  try {
    const kv = await openCoordinationBucket(queue.nc);
    const backend = opts.lease ?? c.lease;
    const store: LeaseStore = backend === "kubernetes"
      ? await kubernetesLease(c.kubernetes_namespace, c.lease_name)
      : new NatsKvLease(kv, c.lease_name);
    const fence = new Fence<ScheduleState>(kv, c.lease_name, {});
    const elector = new LeaderElector({
      store,
      identity: candidateIdentity(),
      durationMs: c.lease_seconds * 1000,
      // A new term's token must clear the fence, even if the lease was deleted and recreated.
      minToken: async () => (await fence.read()).token + 1,
      log,
    });
    const coordinator = new Coordinator({
      elector,
      fence,
      publish: runPublisher(queue.js),
      intervalsMs: {
        compact: c.compact_seconds * 1000,
        gc: c.gc_seconds * 1000,
        scrub: c.scrub_seconds * 1000,
      },
      log,
    });
    log.info("coordinator campaigning", {
      lease: store.description,
      identity: elector.identity,
    });
    coordinator.start();
    await stopRequested(opts.signal);
    log.info("coordinator stopping");
    await coordinator.stop();
    return 0;
  } finally {
    await queue.close();
  }
}

async function kubernetesLease(namespace: string, name: string): Promise<KubernetesLease> {
  const api = await inClusterApi();
  return new KubernetesLease(api, namespace || api.namespace, name);
}

/** Resolves on SIGTERM, SIGINT or `signal`. */
function stopRequested(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      Deno.removeSignalListener("SIGTERM", done);
      Deno.removeSignalListener("SIGINT", done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    Deno.addSignalListener("SIGTERM", done);
    Deno.addSignalListener("SIGINT", done);
    signal?.addEventListener("abort", done, { once: true });
  });
}
