/**
 * `tcfs worker`: run a stateless worker on the NATS task queue, fan an S3
 * prefix out into ingest tasks, or show the queue.
 *
 * @module
 */

import { configuredS3Options } from "../lib/app/mod.ts";
import type { Command } from "../lib/cli/mod.ts";
import type { Config } from "../lib/config/mod.ts";
import { UsageError } from "../lib/errors.ts";
import {
  connectQueue,
  enqueueIngest,
  listDeadLetters,
  queueStatus,
  runWorkerProcess,
} from "../lib/queue/mod.ts";
import { openStore } from "../lib/storage/mod.ts";
import { workerTasks } from "../lib/worker/mod.ts";

/** `tcfs worker` */
export const workerCommand: Command = {
  name: "worker",
  summary: "run a queue worker, enqueue an S3 ingest, or show the task queue",
  usage: "worker [run] [--concurrency <n>] [--metrics-listen <host:port>]\n" +
    "       tcfs worker ingest <s3://bucket/prefix> --to <remote-dir> [--batch <n>]\n" +
    "       tcfs worker status | tcfs worker dead-letters",
  description:
    "run           consume SYNC_TASKS on nats.url until SIGTERM/SIGINT (running tasks\n" +
    "              finish or go back to the queue). The worker is a device of the repository:\n" +
    "              give its identity access once with 'tcfs device add' (docs/QUEUE.md).\n" +
    "ingest        list a bucket prefix (same S3 settings as the repository) and queue one\n" +
    "              ingest task per batch of keys; workers copy them under --to.\n" +
    "status        tasks queued, running, redelivered, dead-lettered.\n" +
    "dead-letters  the tasks given up on, with their errors.",
  options: {
    concurrency: { type: "string", valueName: "n", help: "tasks at once (worker.concurrency)" },
    "metrics-listen": {
      type: "string",
      valueName: "host:port",
      help: "metrics endpoint (worker.metrics_listen; empty: off)",
    },
    to: { type: "string", valueName: "remote-dir", help: "ingest: target directory" },
    batch: {
      type: "string",
      valueName: "n",
      help: "ingest: objects per task (worker.ingest_batch)",
    },
  },
  maxArgs: 2,
  async run(ctx, { positionals: [action = "run", source], values }) {
    const { config } = await ctx.config();
    if (action === "run") {
      const worker = { ...config.worker };
      if (values.concurrency !== undefined) worker.concurrency = count(values.concurrency);
      if (typeof values["metrics-listen"] === "string") {
        worker.metrics_listen = values["metrics-listen"];
      }
      const summary = await runWorkerProcess({
        config: { ...config, worker },
        log: ctx.log,
        extend: workerTasks,
      });
      ctx.out.result(
        summary,
        (s) => `worker stopped: ${s.ok} tasks done, ${s.failed} failed, ${s.fenced} fenced out`,
      );
      return;
    }
    if (action === "ingest") return await ingest(ctx, config, source, values);
    if (action !== "status" && action !== "dead-letters") {
      throw new UsageError(
        `worker: unknown action '${action}' (run, ingest, status, dead-letters)`,
      );
    }
    const queue = await connectQueue(config, "tcfs-cli");
    try {
      if (action === "status") {
        ctx.out.result(
          await queueStatus(queue.jsm),
          (s) =>
            `${s.tasks} tasks queued (${s.pending} not yet delivered, ${s.running} running), ` +
            `${s.redelivered} redelivered, ${s.deadLetters} dead letters`,
        );
      } else {
        ctx.out.result(
          await listDeadLetters(queue.jsm),
          (ds) =>
            ds.map((d) =>
              `${d.task?.kind ?? "?"} ${d.task?.id ?? "-"} after ${d.attempts}: ${d.error}`
            )
              .join("\n") || "no dead letters",
        );
      }
    } finally {
      await queue.close();
    }
  },
};

async function ingest(
  ctx: Parameters<Command["run"]>[0],
  config: Config,
  source: string | undefined,
  values: Record<string, unknown>,
): Promise<void> {
  if (!source || typeof values.to !== "string") {
    throw new UsageError("worker ingest: expected <s3://bucket/prefix> --to <remote-dir>");
  }
  const batch = values.batch === undefined ? config.worker.ingest_batch : count(values.batch);
  const store = await openStore(source, configuredS3Options(config));
  const queue = await connectQueue(config, "tcfs-cli");
  try {
    const r = await enqueueIngest(queue.js, {
      source: store,
      sourceUrl: source,
      to: values.to,
      batch,
    });
    ctx.out.result(
      r,
      (x) =>
        `queued ${x.tasks} ingest tasks (${x.duplicates} already queued) for ${x.objects} objects`,
    );
  } finally {
    await queue.close();
    await store.close();
  }
}

function count(value: unknown): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`expected a positive count, got '${value}'`);
  }
  return n;
}
