/**
 * The maintenance task kinds (`compact`, `gc`, `scrub`) as worker handlers
 * over lib/maint, fenced by the scheduling coordinator's token (see
 * fencing.ts) and heartbeating as they go, so a long run is not handed to
 * another worker.
 *
 * A scrub that finds damage completes: running it again would find the same
 * damage. Every damaged object is logged with the files that lose data and
 * counted in `tcfs_scrub_damaged_total`, and the task ends in the
 * dead-letter stream (PermanentTaskError) with the damaged object keys, so
 * `tcfs worker dead-letters` and `tcfs_dead_letters_total{kind="scrub"}`
 * show it until an operator looks.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  collectGarbage,
  compactNamespace,
  type Damage,
  type Fence,
  scrubRepository,
} from "../maint/mod.ts";
import type { TcfsMetrics } from "../metrics/mod.ts";
import { PermanentTaskError, type TaskContext, type TaskHandlers } from "../queue/mod.ts";
import type { Repository } from "../repo/mod.ts";
import { taskFence, type TokenCheck } from "./fencing.ts";

/** What the maintenance handlers work with. */
export interface MaintenanceEnvironment {
  /** Effective configuration (`sync.trash_days`, `worker.gc_grace_hours`). */
  config: Config;
  /** The repository. */
  repo: Repository;
  /** Checks coordinators' fencing tokens. */
  tokens: TokenCheck;
  /** Worker metrics (`tcfs_scrub_damaged_total`). */
  metrics?: TcfsMetrics;
}

/** Damaged objects named in a dead letter; the log has all of them. */
const DAMAGE_IN_MESSAGE = 20;

/** Handlers of `compact`, `gc` and `scrub`. */
export function maintenanceHandlers(
  env: MaintenanceEnvironment,
): Pick<TaskHandlers, "compact" | "gc" | "scrub"> {
  const { config, repo } = env;
  const configuredGraceMs = config.worker.gc_grace_hours * 3_600_000;
  return {
    async compact(_task, ctx) {
      const fence = await admit(env, ctx);
      const r = await compactNamespace(repo, { fence, graceMs: configuredGraceMs });
      ctx.log.info("compacted", { ...r });
    },
    async gc(task, ctx) {
      const fence = await admit(env, ctx);
      // A task may ask for a longer grace period, never a shorter one than configured.
      const graceMs = Math.max(configuredGraceMs, (task.payload.graceSeconds ?? 0) * 1000);
      const r = await collectGarbage(repo, {
        trashDays: config.sync.trash_days,
        graceMs,
        fence,
        onProgress: () => heartbeat(ctx),
      });
      ctx.log.info("garbage collected", {
        versions: r.versions,
        records_read: r.recordsRead,
        snapshot: r.snapshot,
        deleted: Object.values(r.swept).reduce((n, s) => n + s.deleted, 0),
        deleted_bytes: Object.values(r.swept).reduce((n, s) => n + s.deletedBytes, 0),
        kept_young: Object.values(r.swept).reduce((n, s) => n + s.keptYoung, 0),
        partial_packs: r.partialPacks,
      });
    },
    async scrub(task, ctx) {
      await admit(env, ctx);
      const r = await scrubRepository(repo, {
        sample: task.payload.sample,
        trashDays: config.sync.trash_days,
        onProgress: () => heartbeat(ctx),
      });
      ctx.log.info("scrubbed", { referenced: r.referenced, checked: r.checked, bytes: r.bytes });
      if (r.damaged.length > 0) reportDamage(r.damaged, ctx.log, env.metrics);
    },
  };
}

/** Check the task's token before it runs; returns the fence for its writes. */
async function admit(env: MaintenanceEnvironment, ctx: TaskContext): Promise<Fence> {
  const fence = taskFence(env.tokens, ctx);
  await fence?.();
  return fence ?? (() => heartbeat(ctx));
}

function heartbeat(ctx: TaskContext): void {
  ctx.signal.throwIfAborted();
  ctx.progress();
}

/** Log and count every damaged object, then end the task as a dead letter naming them. */
function reportDamage(damaged: Damage[], log: Logger, metrics?: TcfsMetrics): never {
  for (const d of damaged) {
    log.error("scrub found damage", {
      key: d.key,
      chunk: d.chunkId,
      paths: d.paths,
      error: d.error,
    });
  }
  metrics?.scrubDamaged.inc(damaged.length);
  const named = damaged.slice(0, DAMAGE_IN_MESSAGE).map((d) => d.key).join(", ");
  const more = damaged.length > DAMAGE_IN_MESSAGE
    ? ` and ${damaged.length - DAMAGE_IN_MESSAGE} more`
    : "";
  throw new PermanentTaskError(
    `scrub found ${damaged.length} damaged object(s): ${named}${more}; the worker log names ` +
      "the files that lose data: push them again from a device that still has them",
  );
}
