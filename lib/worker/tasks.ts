/**
 * Everything a `tcfs worker` runs besides ingest, plugged into the worker
 * process (lib/queue/run.ts): the maintenance handlers, fenced by the
 * coordinators' tokens; the prefetch handler; and the follower that turns
 * hydration events into prefetch tasks.
 *
 * @module
 */

import type { WorkerEnvironment, WorkerExtension } from "../queue/mod.ts";
import { coordinatorTokenCheck } from "./fencing.ts";
import { maintenanceHandlers } from "./maintenance.ts";
import { HydrationFollower, prefetchHandler } from "./prefetch.ts";

/** The task kinds of a worker process beyond ingest; pass as `extend` to `runWorkerProcess`. */
export async function workerTasks(env: WorkerEnvironment): Promise<WorkerExtension> {
  const { config, repo, queue, log, metrics } = env;
  const tokens = await coordinatorTokenCheck(config, queue.nc);
  const maxBytes = config.worker.prefetch_max_bytes;
  const follower = maxBytes > 0 ? await HydrationFollower.start({ queue, repo, log }) : null;
  return {
    handlers: {
      ...maintenanceHandlers({ config, repo, tokens, metrics }),
      prefetch: prefetchHandler({ repo, queue, maxBytes }),
    },
    async close() {
      await follower?.close();
    },
  };
}
