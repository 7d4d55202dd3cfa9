/**
 * The worker's task kinds beyond ingest, wiring the layers below into the
 * queue worker: maintenance runs (lib/maint) fenced by the coordinator's
 * token (lib/coord), and prefetch from hydration events to hints
 * (lib/events). See docs/QUEUE.md.
 *
 * ```ts ignore
 * import { runWorkerProcess } from "../queue/mod.ts";
 * import { workerTasks } from "./mod.ts";
 *
 * await runWorkerProcess({ config, log, extend: workerTasks });
 * ```
 *
 * @module
 */

export * from "./fencing.ts";
export * from "./maintenance.ts";
export * from "./prefetch.ts";
export * from "./tasks.ts";
